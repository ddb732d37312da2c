/**
 * Read-only views and queries of a `PmemState`: a server's volumes in the seed's field names,
 * per-device usage, and the cheap queries the placement solver asks for every candidate host.
 * None of them changes the state.
 */
import {
  type Extent,
  extentMbFor,
  freeExtentCount,
  freeExtentsOf,
  largestFreeMb,
} from "./extents.ts"
import { recordServers } from "./records.ts"
import { PmemInsufficientCapacity } from "./insufficient.ts"
import {
  allocateOnHost,
  hostPmemOf,
  placementIssues,
  type PmemState,
  type PmemVolume,
  serverPmemOf,
} from "./state.ts"

/** A volume as the API shows it: the seed's names (`size` in MB) plus where it lives. */
export interface PmemVolumeView {
  readonly volume_uuid: string
  readonly name: string
  readonly size: number
  readonly affinity: boolean
  readonly device: string
  readonly offsetMb: number
  /** `size` rounded up to the device's alignment: what the volume occupies. */
  readonly extentMb: number
}

/** The API view of one volume. */
export function pmemVolumeView(v: PmemVolume): PmemVolumeView {
  return {
    volume_uuid: v.uuid,
    name: v.name,
    size: v.sizeMb,
    affinity: v.affinity,
    device: v.device,
    offsetMb: v.offsetMb,
    extentMb: v.extentMb,
  }
}

/** A server's volumes in creation order (empty for a server without any). */
export function serverPmemVolumes(state: PmemState, serverUuid: string): PmemVolumeView[] {
  return (serverPmemOf(state, serverUuid)?.volumes ?? []).map(pmemVolumeView)
}

/** The host holding the server's volumes, or undefined when it holds none. */
export function serverPmemHost(state: PmemState, serverUuid: string): string | undefined {
  return serverPmemOf(state, serverUuid)?.host
}

/**
 * The host and NUMA node an affinity volume pins the server to, or undefined when it holds no
 * affinity volume. Placement must keep a pinned server there across stop, start and reboot.
 */
export function pinnedHost(
  state: PmemState,
  serverUuid: string,
): { readonly host: string; readonly numaNode: number } | undefined {
  const server = serverPmemOf(state, serverUuid)
  if (server === undefined || server.pinnedNumaNode === undefined) return undefined
  return { host: server.host, numaNode: server.pinnedNumaNode }
}

/** Usage of one pmem device. `usedMb + freeMb = sizeMb`. */
export interface PmemDeviceUsage {
  readonly host: string
  readonly device: string
  readonly numaNode: number
  readonly sizeMb: number
  readonly alignMb: number
  readonly usedMb: number
  readonly freeMb: number
  readonly largestFreeExtentMb: number
  readonly freeExtentCount: number
  readonly volumeCount: number
}

/** Usage of each pmem device of `host`, in inventory order (empty when it has none). */
export function pmemHostUsage(state: PmemState, host: string): PmemDeviceUsage[] {
  return hostPmemOf(state, host).devices.map((d) => ({
    host,
    device: d.name,
    numaNode: d.numaNode,
    sizeMb: d.sizeMb,
    alignMb: d.alignMb,
    usedMb: d.sizeMb - d.freeMb,
    freeMb: d.freeMb,
    largestFreeExtentMb: largestFreeMb(d),
    freeExtentCount: freeExtentCount(d),
    volumeCount: d.volumeCount,
  }))
}

/** Usage of every pmem device of the inventory, hosts in inventory order. */
export function pmemUsage(state: PmemState): PmemDeviceUsage[] {
  return state.inventory.hosts.flatMap((h) => pmemHostUsage(state, h.name))
}

/** The longest free extent of a device in MB; 0 when full, or when the device is unknown. */
export function largestFreeExtentMb(state: PmemState, host: string, device: string): number {
  const d = hostPmemOf(state, host).devices.find((x) => x.name === device)
  return d === undefined ? 0 : largestFreeMb(d)
}

/** The free extents of a device by ascending offset (empty when the device is unknown). */
export function pmemFreeExtents(state: PmemState, host: string, device: string): Extent[] {
  const d = hostPmemOf(state, host).devices.find((x) => x.name === device)
  return d === undefined ? [] : freeExtentsOf(d)
}

/** A volume as placement sees it: no name, no server. */
export interface PmemNeed {
  readonly sizeMb: number
  readonly device: string
  readonly affinity: boolean
}

/**
 * Whether a new server with these volumes fits on `host` (at `numaNode`, when given): every
 * device exists, affinity volumes are on one node (that node), and best-fit allocation — the
 * very allocation `addPmemVolumes` would make — succeeds. One volume costs a device lookup and a
 * comparison with the longest free extent.
 */
export function pmemFits(
  state: PmemState,
  host: string,
  volumes: ReadonlyArray<PmemNeed>,
  numaNode?: number,
): boolean {
  const hostPmem = hostPmemOf(state, host)
  if (volumes.length === 0) return true
  if (placementIssues(hostPmem, volumes, numaNode).length > 0) return false
  if (volumes.length === 1) {
    const v = volumes[0]!
    const d = hostPmem.devices.find((x) => x.name === v.device)!
    return v.sizeMb > 0 && extentMbFor(d, v.sizeMb) <= largestFreeMb(d)
  }
  if (volumes.some((v) => !(v.sizeMb > 0))) return false
  return !(allocateOnHost(hostPmem, volumes) instanceof PmemInsufficientCapacity)
}

/** One volume with its server and host, for invariant checkers and reports. */
export interface PmemVolumePlacement {
  readonly serverUuid: string
  readonly host: string
  readonly volume: PmemVolume
}

/** Every volume of the state (servers in a deterministic order, volumes in creation order). */
export function pmemVolumesOf(state: PmemState): PmemVolumePlacement[] {
  const out: PmemVolumePlacement[] = []
  for (const server of recordServers(state.records)) {
    for (const volume of server.volumes) {
      out.push({ serverUuid: server.serverUuid, host: server.host, volume })
    }
  }
  return out
}
