/**
 * Read-only views of the cluster state in the shapes the APIs print (Nova's hypervisor fields).
 */
import type { ClusterState } from "./types.ts"
import { usageAt } from "./usage.ts"

/** One hypervisor as `os-hypervisors/detail` shows it, computed from the cluster state. */
export interface HypervisorView {
  readonly hypervisor_hostname: string
  readonly state: "up" | "down"
  readonly status: "enabled" | "disabled"
  readonly vcpus: number
  readonly vcpus_used: number
  readonly memory_mb: number
  readonly memory_mb_used: number
  readonly free_ram_mb: number
  readonly local_gb: number
  readonly local_gb_used: number
  readonly free_disk_gb: number
  readonly running_vms: number
}

const mbPerGb = 1024

/**
 * The hypervisor view of every host, in inventory order. `vcpus` and `memory_mb` are the
 * capacities offered to guests (allocation ratios and reservations applied); `local_gb` sums the
 * host's disk pools, rounded down to whole GB (used rounded up).
 */
export function hypervisorViews(state: ClusterState): HypervisorView[] {
  return state.inventory.hosts.map((host) => hypervisorView(state, host.index))
}

/** The hypervisor view of one host, by its index in the inventory (see `hypervisorViews`). */
export function hypervisorView(state: ClusterState, hostIndex: number): HypervisorView {
  const host = state.inventory.hosts[hostIndex]!
  const usage = usageAt(state, hostIndex)
  const diskMb = host.diskPools.reduce((s, p) => s + p.sizeMb, 0)
  const diskUsedMb = usage.diskUsedMb.reduce((s, d) => s + d, 0)
  return {
    hypervisor_hostname: host.name,
    state: host.status === "down" ? "down" : "up",
    status: host.status === "up" ? "enabled" : "disabled",
    vcpus: host.vcpuCapacity,
    vcpus_used: usage.vcpusUsed,
    memory_mb: host.ramCapacityMb,
    memory_mb_used: usage.ramMbUsed,
    free_ram_mb: host.ramCapacityMb - usage.ramMbUsed,
    local_gb: Math.floor(diskMb / mbPerGb),
    local_gb_used: Math.ceil(diskUsedMb / mbPerGb),
    free_disk_gb: Math.floor((diskMb - diskUsedMb) / mbPerGb),
    running_vms: usage.instanceCount,
  }
}
