import { Result } from "effect"
import { pciList } from "../../../core/pci/index.ts"
import type { CliCommand } from "../command.ts"
import { stateOptionsUsage, withState } from "../state-options.ts"
import { renderTable } from "../table.ts"

/** `corral pci-list [--host HOST]`: every PCI device (`nova pci-list`, `GET os-pci`). */
export const command: CliCommand = {
  summary: "list PCI devices (os-pci), optionally of one host",
  usage: `usage: corral pci-list [--host HOST] [options]\n\n${stateOptionsUsage}`,
  run: (args) => withState(args, ({ state }, { json, options }) => {
    const listed = pciList(state.pci, options["host"] === undefined ? {} : { host: options["host"] })
    if (Result.isFailure(listed)) {
      console.error(`corral: ${listed.failure.message}`)
      return 1
    }
    if (json) {
      console.log(JSON.stringify(listed.success, null, 2))
      return 0
    }
    const rows = listed.success.pci_devices.map((d) => [d.id, d.address, d.vendor_id,
      d.product_id, d.compute_node_id, d.status])
    console.log(renderTable(["ID", "Address", "Vendor", "Product", "Compute node", "Status"], rows))
    return 0
  }, ["host"]),
}
