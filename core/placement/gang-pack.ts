/**
 * The bridge from a gang to the vector packer: a `pack` gang with no groups, NUMA binding or
 * devices, whose disks name their pools, is a vector packing problem over vCPUs, RAM and one
 * dimension per named pool. A host in use costs 0 and a new one 1; like the special-hardware
 * weigher, the bridge keeps these ordinary instances off hosts with PCI or pmem devices while
 * ordinary hosts can take them: such a host costs more than all ordinary hosts together (unless
 * the request's `specialHardware` weight is 0). The packer's answer is then committed to a
 * search view member by member through the same fit as every other placement (an answer that
 * does not fit is a bug).
 */
import { freeRamMbOf, freeVcpusOf } from "../cluster/scan.ts"
import { usageAt } from "../cluster/state.ts"
import type { ClusterState, HostAssignment } from "../cluster/types.ts"
import type { Placement } from "./gang.ts"
import { packVectors } from "./pack.ts"
import { defaultWeights, specialHardwareOf } from "./plugins.ts"
import type { PlacementRequest } from "./request.ts"
import { fitItem, itemOf, place, viewOf } from "./view.ts"

/**
 * Whether the request is a rule-free pack gang the vector packer can take whole (its members ask
 * for one zone, or none).
 */
export function packable(request: PlacementRequest): boolean {
  if ((request.policy ?? "pack") !== "pack" || request.instances.length < 2) return false
  const zone = request.instances[0]!.zone
  return request.instances.every((i) => i.groups.length === 0 && i.numaCells === undefined &&
    i.zone === zone &&
    (i.pci?.length ?? 0) === 0 && (i.pmem?.length ?? 0) === 0 &&
    i.disks.every((d) => d.pool !== undefined))
}

/** Packs a `packable` request; undefined when the packer could not place every instance. */
export function packGang(state: ClusterState, request: PlacementRequest): Placement[] | undefined {
  const pools = [...new Set(request.instances.flatMap((i) => i.disks.map((d) => d.pool!)))].sort()
  const dims = 2 + pools.length
  const zone = request.instances[0]!.zone
  const { zoneOf, zoneNames } = state.topology
  const hosts = state.inventory.hosts.filter((h) => h.status === "up" &&
    (zone === undefined || zoneNames[zoneOf[h.index]!] === zone))
  const binFree = new Float64Array(hosts.length * dims)
  const binOpen = new Uint8Array(hosts.length)
  hosts.forEach((h, b) => {
    const u = usageAt(state, h.index)
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
  const binCost = specialCosts(state, request, hosts, binOpen)
  const assign = packVectors({ dims, binFree, binOpen, itemSize, binCost })
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

/**
 * Host costs that keep ordinary instances off special hardware: 0 in use or 1 new, plus, per kind
 * of special hardware (PCI devices, pmem devices), one more than the number of hosts. Undefined
 * when no host has such hardware or the request's `specialHardware` weight is 0 (the default costs apply).
 */
function specialCosts(
  state: ClusterState,
  request: PlacementRequest,
  hosts: ReadonlyArray<ClusterState["inventory"]["hosts"][number]>,
  binOpen: Uint8Array,
): Float64Array | undefined {
  const multiplier = request.weights?.specialHardware ?? defaultWeights.specialHardware ?? 0
  if (multiplier <= 0) return undefined
  const special = specialHardwareOf(state.inventory)
  if (special === undefined) return undefined
  const premium = hosts.length + 1
  return Float64Array.from(hosts,
    (h, b) => (binOpen[b] === 1 ? 0 : 1) + special[h.index]! * premium)
}
