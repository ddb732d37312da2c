import { readFileSync } from "node:fs"
import { Result } from "effect"
import { decodeInventory } from "../../../core/inventory/inventory.ts"
import { inventoryEntry, probeHost } from "../../probe/linux.ts"
import type { CliCommand } from "../command.ts"

const usage = `usage: corral probe [--root DIR] [--name NAME] [--ndctl FILE]

Probes this Linux machine (procfs, sysfs, ndctl) and prints it as an inventory document
{"hosts": [ ... ]} that decodeInventory accepts: vCPUs, RAM, NUMA cells, PCI devices (SR-IOV PFs
and VFs), pmem namespaces.

  --root DIR    read DIR/proc and DIR/sys instead of /proc and /sys
  --name NAME   the host's name in the entry (default: the machine's host name)
  --ndctl FILE  read 'ndctl list -N' JSON from FILE instead of running ndctl`

function parse(args: ReadonlyArray<string>): Record<string, string> | string {
  const out: Record<string, string> = {}
  for (let i = 0; i < args.length; i += 2) {
    const flag = args[i]!
    const value = args[i + 1]
    if (!["--root", "--name", "--ndctl"].includes(flag)) return `unknown option ${flag}`
    if (value === undefined) return `${flag} needs a value`
    out[flag.slice(2)] = value
  }
  return out
}

/** `corral probe`: this machine as an inventory entry, validated before it is printed. */
export const command: CliCommand = {
  summary: "print this Linux host as an inventory entry (procfs, sysfs, ndctl)",
  usage,
  run: async (args) => {
    const opts = parse(args)
    if (typeof opts === "string") {
      console.error(`corral probe: ${opts}\n${usage}`)
      return 2
    }
    const host = probeHost({
      ...(opts["root"] === undefined ? {} : { root: opts["root"] }),
      ...(opts["name"] === undefined ? {} : { name: opts["name"] }),
      ...(opts["ndctl"] === undefined ? {} : { ndctlJson: readFileSync(opts["ndctl"], "utf8") }),
    })
    const document = { hosts: [inventoryEntry(host)] }
    const decoded = decodeInventory(document)
    if (Result.isFailure(decoded)) {
      console.error(`corral probe: the probed host does not decode:\n${decoded.failure.message}`)
      return 1
    }
    console.log(JSON.stringify(document, null, 2))
    return 0
  },
}
