import { Result } from "effect"
import { pciShow } from "../../../core/pci/index.ts"
import type { CliCommand } from "../command.ts"
import { stateOptionsUsage, withState } from "../state-options.ts"
import { renderProperties } from "../table.ts"

/** `corral pci-show ID`: one PCI device in detail (`nova pci-show`, `GET os-pci/{id}`). */
export const command: CliCommand = {
  summary: "show one PCI device (os-pci/{id})",
  usage: `usage: corral pci-show ID [options]\n\n${stateOptionsUsage}`,
  run: (args) => withState(args, ({ state }, { positionals, json }) => {
    const id = Number(positionals[0])
    if (positionals.length !== 1 || !Number.isInteger(id) || id < 1) {
      console.error("usage: corral pci-show ID [--json]   (ID: a positive integer device id)")
      return 2
    }
    const shown = pciShow(state.pci, id)
    if (Result.isFailure(shown)) {
      console.error(`corral: ${shown.failure.message}`)
      return 1
    }
    if (json) console.log(JSON.stringify(shown.success, null, 2))
    else console.log(renderProperties(shown.success.pci_device))
    return 0
  }),
}
