import { hypervisorViews } from "../../../core/cluster/index.ts"
import { pmemUsage } from "../../../core/pmem/index.ts"
import type { CliCommand } from "../command.ts"
import type { ScriptRun } from "../requests.ts"
import { stateOptionsUsage, withState } from "../state-options.ts"
import { renderTable } from "../table.ts"
import { hypervisorShow } from "../views.ts"

/**
 * `corral apply`: the scripted job. Expands the scenario's fleet, applies the scripted requests
 * through the core and prints what each step did, the hypervisors, their `pci_stats` and the
 * pmem usage — every figure computed from the resulting cluster state.
 */
export const command: CliCommand = {
  summary: "apply the scripted requests to the default scenario and print the cluster",
  usage: `usage: corral apply [options]\n\n${stateOptionsUsage}`,
  run: (args) => withState(args, (run, { json }) => {
    if (json) {
      console.log(JSON.stringify(startReport(run), null, 2))
      return 0
    }
    printSteps(run)
    printHypervisors(run)
    printPciStats(run)
    printPmem(run)
    return 0
  }),
}

function startReport(run: ScriptRun): Record<string, unknown> {
  return {
    steps: run.steps,
    hypervisors: run.state.inventory.hosts.map((h) => {
      const shown = hypervisorShow(run.state, h.name)
      if (shown._tag === "Failure") throw new Error(`host ${h.name} vanished`)
      return shown.success.hypervisor
    }),
  }
}

function printSteps(run: ScriptRun): void {
  console.log("requests")
  console.log(renderTable(["Step", "Accepted", "Rejected", "Why rejected"], run.steps.map((s) =>
    [s.step, s.accepted, s.rejected, s.reasons.join("\n")])))
}

function printHypervisors(run: ScriptRun): void {
  const views = hypervisorViews(run.state)
  const rows = views.map((h) => [h.hypervisor_hostname, h.status, h.running_vms,
    `${h.vcpus_used}/${h.vcpus}`, pct(h.vcpus_used, h.vcpus),
    `${h.memory_mb_used}/${h.memory_mb}`, pct(h.memory_mb_used, h.memory_mb),
    `${h.local_gb_used}/${h.local_gb}`])
  const sum = (f: (h: (typeof views)[number]) => number) => views.reduce((s, h) => s + f(h), 0)
  rows.push(["total", "", sum((h) => h.running_vms),
    `${sum((h) => h.vcpus_used)}/${sum((h) => h.vcpus)}`,
    pct(sum((h) => h.vcpus_used), sum((h) => h.vcpus)),
    `${sum((h) => h.memory_mb_used)}/${sum((h) => h.memory_mb)}`,
    pct(sum((h) => h.memory_mb_used), sum((h) => h.memory_mb)),
    `${sum((h) => h.local_gb_used)}/${sum((h) => h.local_gb)}`])
  console.log("\nhypervisors")
  console.log(renderTable(["Hypervisor", "Status", "VMs", "vCPUs used", "%", "RAM MB used", "%",
    "Disk GB used"], rows))
}

function printPciStats(run: ScriptRun): void {
  const rows: Array<Array<string | number>> = []
  for (const host of run.state.inventory.hosts) {
    const shown = hypervisorShow(run.state, host.name)
    if (shown._tag === "Failure") continue
    for (const p of shown.success.hypervisor.pci_stats) {
      rows.push([host.name, `${p.vendor_id}:${p.product_id}`, p.dev_type, String(p.numa_node),
        JSON.stringify(p.extra_info), p.count])
    }
  }
  console.log("\npci_stats (free devices per pool)")
  console.log(renderTable(["Hypervisor", "Vendor:product", "Type", "NUMA", "Tags", "Count"], rows))
}

function printPmem(run: ScriptRun): void {
  const rows = pmemUsage(run.state.pmem).map((d) => [d.host, d.device, d.numaNode, d.volumeCount,
    d.usedMb, d.freeMb, pct(d.usedMb, d.sizeMb), d.largestFreeExtentMb])
  console.log("\npmem devices")
  console.log(renderTable(["Host", "Device", "NUMA", "Volumes", "Used MB", "Free MB", "Used %",
    "Largest free MB"], rows))
}

function pct(used: number, total: number): string {
  return total === 0 ? "-" : `${((100 * used) / total).toFixed(1)}%`
}
