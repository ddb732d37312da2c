import { Result } from "effect"
import type { CliCommand } from "../command.ts"
import { stateOptionsUsage, withState } from "../state-options.ts"
import { renderProperties } from "../table.ts"
import { hypervisorShow } from "../views.ts"

/** `corral hypervisor-show HOST`: one host in detail, with `pci_stats` and pmem devices. */
export const command: CliCommand = {
  summary: "show one hypervisor, with its pci_stats and pmem devices",
  usage: `usage: corral hypervisor-show HOST [options]\n\n${stateOptionsUsage}`,
  run: (args) => withState(args, ({ state }, { positionals, json }) => {
    const name = positionals[0]
    if (name === undefined || positionals.length > 1) {
      console.error("usage: corral hypervisor-show HOST [--json]")
      return 2
    }
    const shown = hypervisorShow(state, name)
    if (Result.isFailure(shown)) {
      console.error(`corral: ${shown.failure.message}`)
      return 1
    }
    if (json) console.log(JSON.stringify(shown.success, null, 2))
    else console.log(renderProperties(shown.success.hypervisor))
    return 0
  }),
}
