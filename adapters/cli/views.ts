/**
 * The API shapes the inventory commands print with `--json`, built from the core's views:
 * Nova's `os-hypervisors` (list and show, with the PCI seed's `pci_stats`) and the PCI seed's
 * `os-pci` views. Shared by the commands so each shape is written once.
 */
import { Result } from "effect"
import { hypervisorView, hypervisorViews, type HypervisorView } from "../../core/cluster/index.ts"
import type { ClusterState } from "../../core/cluster/types.ts"
import { NotFound } from "../../core/errors.ts"
import { hypervisorPciStats, type PciPoolStat } from "../../core/pci/index.ts"
import { pmemHostUsage, type PmemDeviceUsage } from "../../core/pmem/index.ts"

/** `GET os-hypervisors`: id, hostname, state and status of every host. */
export function hypervisorList(state: ClusterState): {
  hypervisors: Array<{ id: number; hypervisor_hostname: string; state: string; status: string }>
} {
  return {
    hypervisors: hypervisorViews(state).map((h, i) => ({
      id: i + 1, hypervisor_hostname: h.hypervisor_hostname, state: h.state, status: h.status,
    })),
  }
}

/** One hypervisor in detail: Nova's fields, topology, `pci_stats` and pmem device usage. */
export interface HypervisorDetail extends HypervisorView {
  readonly id: number
  readonly zone: string
  readonly rack: string
  readonly pci_stats: PciPoolStat[]
  readonly pmem_devices: PmemDeviceUsage[]
}

/** `GET os-hypervisors/{hostname}` as `{"hypervisor": …}`; NotFound for an unknown host. */
export function hypervisorShow(state: ClusterState, name: string):
  Result.Result<{ hypervisor: HypervisorDetail }, NotFound> {
  const index = state.inventory.hostIndex.get(name)
  if (index === undefined) return Result.fail(new NotFound({ resource: "Hypervisor", id: name }))
  const host = state.inventory.hosts[index]!
  const stats = hypervisorPciStats(state.pci, name)
  if (Result.isFailure(stats)) throw new Error(`host ${name} has no PCI layout`)
  return Result.succeed({
    hypervisor: {
      id: index + 1,
      ...hypervisorView(state, index),
      zone: host.zone,
      rack: host.rack,
      pci_stats: stats.success.pci_stats,
      pmem_devices: pmemHostUsage(state.pmem, name),
    },
  })
}
