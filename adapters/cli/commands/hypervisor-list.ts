import { hypervisorViews } from "../../../core/cluster/index.ts"
import type { CliCommand } from "../command.ts"
import { stateOptionsUsage, withState } from "../state-options.ts"
import { renderTable } from "../table.ts"
import { hypervisorList } from "../views.ts"

/** `corral hypervisor-list`: every host with its state and usage (`nova hypervisor-list`). */
export const command: CliCommand = {
  summary: "list hypervisors with state, vCPU, RAM and disk usage",
  usage: `usage: corral hypervisor-list [options]\n\n${stateOptionsUsage}`,
  run: (args) => withState(args, ({ state }, { json }) => {
    if (json) {
      console.log(JSON.stringify(hypervisorList(state), null, 2))
      return 0
    }
    const rows = hypervisorViews(state).map((h, i) => [
      i + 1, h.hypervisor_hostname, h.state, h.status,
      `${h.vcpus_used}/${h.vcpus}`, `${h.memory_mb_used}/${h.memory_mb}`,
      `${h.local_gb_used}/${h.local_gb}`, h.running_vms,
    ])
    console.log(renderTable(["ID", "Hypervisor hostname", "State", "Status", "vCPUs used",
      "RAM MB used", "Disk GB used", "VMs"], rows))
    return 0
  }),
}
