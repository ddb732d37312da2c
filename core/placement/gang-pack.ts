/**
 * The bridge from a gang to the vector packer: a `pack` gang with no groups, NUMA binding or
 * devices, whose disks name their pools, is a vector packing problem over vCPUs, RAM and one
 * dimension per named pool. The packer's answer is then committed to a search view member by
 * member through the same fit as every other placement (an answer that does not fit is a bug).
 */
import { freeRamMbOf, freeVcpusOf } from "../cluster/scan.ts"
import type { ClusterState, HostAssignment } from "../cluster/types.ts"
import type { Placement } from "./gang.ts"
import { packVectors } from "./pack.ts"
import type { PlacementRequest } from "./request.ts"
import { fitItem, itemOf, place, viewOf } from "./view.ts"

/** Whether the request is a rule-free pack gang the vector packer can take whole. */
export function packable(request: PlacementRequest): boolean {
  if ((request.policy ?? "pack") !== "pack" || request.instances.length < 2) return false
  return request.instances.every((i) => i.groups.length === 0 && i.numaCells === undefined &&
    (i.pci?.length ?? 0) === 0 && (i.pmem?.length ?? 0) === 0 &&
    i.disks.every((d) => d.pool !== undefined))
}

/** Packs a `packable` request; undefined when the packer could not place every instance. */
export function packGang(state: ClusterState, request: PlacementRequest): Placement[] | undefined {
  const pools = [...new Set(request.instances.flatMap((i) => i.disks.map((d) => d.pool!)))].sort()
  const dims = 2 + pools.length
  const hosts = state.inventory.hosts.filter((h) => h.status === "up")
  const binFree = new Float64Array(hosts.length * dims)
  const binOpen = new Uint8Array(hosts.length)
  hosts.forEach((h, b) => {
    const u = state.usage[h.index]!
    binOpen[b] = u.instanceCount > 0 ? 1 : 0
    binFree[b * dims] = freeVcpusOf(h, u)
    binFree[b * dims + 1] = freeRamMbOf(h, u)
    pools.forEach((name, k) => {
      const p = h.diskPools.findIndex((pool) => pool.name === name)
      binFree[b * dims + 2 + k] = p < 0 ? 0 : h.diskPools[p]!.sizeMb - u.diskUsedMb[p]!
    })
  })
  const itemSize = new Float64Array(request.instances.length * dims)
  request.instances.forEach((inst, i) => {
    itemSize[i * dims] = inst.vcpus
    itemSize[i * dims + 1] = inst.ramMb
    for (const d of inst.disks) {
      const at = i * dims + 2 + pools.indexOf(d.pool!)
      itemSize[at] = itemSize[at]! + d.sizeMb
    }
  })
  const assign = packVectors({ dims, binFree, binOpen, itemSize })
  if (assign === undefined) return undefined
  const view = viewOf(state, new Map())
  return request.instances.map((inst, i) => {
    const host = hosts[assign[i]!]!
    const item = itemOf([inst])
    const fit = fitItem(view, host.index, item, true)
    if (!fit.fits) throw new Error(`packed ${inst.name} on ${host.name} does not fit`)
    place(view, host.index, item, fit)
    const assignment: HostAssignment = fit.assignments[0]!
    return { name: inst.name, host: host.name, hostIndex: host.index, assignment }
  })
}
