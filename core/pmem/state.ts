/**
 * Persistent-memory volumes: the state built from the inventory, and the three operations that
 * change it — add a list of volumes to a server, delete a list, release all of a server's
 * volumes when it is deleted. Each is all-or-nothing and returns a new state; the state it was
 * given is never mutated (structural sharing: persistent maps and copy-on-write extent indexes),
 * so a dry run is the same call with the result discarded.
 *
 * Servers are owned elsewhere (core/cluster): the caller names the server, its host and, when
 * known, its NUMA node. This module records which volumes a server holds, on which host, and
 * whether an affinity volume pins it (see `pinnedHost`). Stopping, starting or rebooting a
 * server does not touch its volumes: they keep their extents until deleted or released.
 */
import type { Inventory } from "../inventory/index.ts"
import { findHost } from "../inventory/index.ts"
import {
  BadRequest,
  Conflict,
  Forbidden,
  type InputIssue,
  invalid,
  invalidAll,
  NotFound,
  type Outcome,
  err,
  ok,
} from "../errors.ts"
import {
  allocateExtent,
  type DeviceExtents,
  emptyDevice,
  extentMbFor,
  freeExtent,
  largestFreeMb,
} from "./extents.ts"
import { emptyMap, mapGet, mapRemove, mapSet, type PersistentMap } from "./hamt.ts"
import { sequenceOfUuid, volumeSequenceMax, volumeUuid } from "./ids.ts"
import { PmemInsufficientCapacity } from "./insufficient.ts"
import { type PmemVolumeRequest, pmemRequestLimits } from "./request.ts"

/** Bounds on what one server may hold. */
export const pmemServerLimits = { volumesPerServerMax: 64 } as const

/** A volume as the state records it. `extentMb` is `sizeMb` rounded up to the alignment. */
export interface PmemVolume {
  readonly uuid: string
  /** The state sequence number the uuid was minted from (its last 12 hex digits). */
  readonly sequence: number
  readonly name: string
  readonly sizeMb: number
  readonly extentMb: number
  readonly affinity: boolean
  readonly device: string
  readonly offsetMb: number
}

/** The pmem volumes of one server, all on `host`. */
export interface ServerPmem {
  readonly serverUuid: string
  readonly host: string
  /** The NUMA node an affinity volume pins the server to; undefined without one. */
  readonly pinnedNumaNode: number | undefined
  /** In creation order. */
  readonly volumes: ReadonlyArray<PmemVolume>
}

/** One pmem device of a host with its free space. */
export interface DevicePmem {
  readonly name: string
  readonly numaNode: number
  readonly extents: DeviceExtents
  readonly volumeCount: number
}

/** The pmem devices of one host, in inventory order. */
export interface HostPmem {
  readonly host: string
  readonly devices: ReadonlyArray<DevicePmem>
}

/** The pmem accounting of a whole inventory. Immutable. */
export interface PmemState {
  readonly inventory: Inventory
  /** Hosts that have at least one pmem device. */
  readonly hosts: PersistentMap<HostPmem>
  /** Servers that hold at least one volume. */
  readonly servers: PersistentMap<ServerPmem>
  /** The sequence number the next volume's uuid is minted from (see `ids.ts`). */
  readonly nextSequence: number
}

/** Where a server runs, as its owner knows it. `numaNode` may be unknown before placement. */
export interface PmemServerRef {
  readonly serverUuid: string
  readonly host: string
  readonly numaNode?: number | undefined
}

/** A state change and the volumes it added or removed. */
export interface PmemChange {
  readonly state: PmemState
  readonly volumes: ReadonlyArray<PmemVolume>
}

/** The state of an inventory with no volumes: every device one free extent. */
export function pmemStateOf(inventory: Inventory): PmemState {
  let hosts = emptyMap<HostPmem>()
  for (const host of inventory.hosts) {
    if (host.pmemDevices.length === 0) continue
    hosts = mapSet(hosts, host.name, {
      host: host.name,
      devices: host.pmemDevices.map((d) => ({
        name: d.name,
        numaNode: d.numaNode,
        extents: emptyDevice(d.sizeMb, d.alignMb),
        volumeCount: 0,
      })),
    })
  }
  return { inventory, hosts, servers: emptyMap(), nextSequence: 0 }
}

const noDevices: HostPmem = { host: "", devices: [] }

/** The pmem devices of `host` (none for a host without pmem or an unknown host). */
export function hostPmemOf(state: PmemState, host: string): HostPmem {
  return mapGet(state.hosts, host) ?? noDevices
}

/** The volumes of a server, or undefined when it holds none. */
export function serverPmemOf(state: PmemState, serverUuid: string): ServerPmem | undefined {
  return mapGet(state.servers, serverUuid)
}

/** Errors `addPmemVolumes` returns. */
export type AddPmemError = BadRequest | NotFound | Conflict | Forbidden | PmemInsufficientCapacity

/**
 * Adds `volumes` to the server, all or none. Checks, in this order: the request's fields
 * (BadRequest naming `add-pmem-vol[i].field`), the host (NotFound), the server's host and NUMA
 * pin (Conflict), the device of each volume on the host and its NUMA node for affinity
 * (BadRequest), names unique within the request (BadRequest) and the server (Conflict), the
 * per-server bound (Forbidden), then capacity (InsufficientCapacity for `pmem:<device>`).
 * Volumes get uuids minted from the state's sequence in request order.
 */
export function addPmemVolumes(
  state: PmemState,
  server: PmemServerRef,
  volumes: ReadonlyArray<PmemVolumeRequest>,
): Outcome<PmemChange, AddPmemError> {
  const existing = serverPmemOf(state, server.serverUuid)
  const hostPmem = hostPmemOf(state, server.host)
  const refused = refuseAdd(state, server, volumes, existing, hostPmem)
  if (refused !== undefined) return err(refused)
  const placed = allocateOnHost(hostPmem, volumes)
  if (placed instanceof PmemInsufficientCapacity) return err(placed)
  if (state.nextSequence + volumes.length - 1 > volumeSequenceMax) {
    throw new Error("pmem volume sequence exhausted")
  }
  const added = new Array<PmemVolume>(volumes.length)
  let pinnedNumaNode = existing?.pinnedNumaNode
  for (let i = 0; i < volumes.length; i++) {
    const v = volumes[i]!
    added[i] = {
      uuid: volumeUuid(server.serverUuid, v.name, state.nextSequence + i),
      sequence: state.nextSequence + i,
      name: v.name,
      sizeMb: v.sizeMb,
      extentMb: placed.extentsMb[i]!,
      affinity: v.affinity,
      device: v.device,
      offsetMb: placed.offsetsMb[i]!,
    }
    if (v.affinity && pinnedNumaNode === undefined) {
      pinnedNumaNode = deviceOf(hostPmem, v.device).numaNode
    }
  }
  const record: ServerPmem = {
    serverUuid: server.serverUuid,
    host: server.host,
    pinnedNumaNode,
    volumes: existing === undefined ? added : appended(existing.volumes, added),
  }
  return ok({
    state: {
      inventory: state.inventory,
      hosts: mapSet(state.hosts, server.host, placed.host),
      servers: mapSet(state.servers, server.serverUuid, record),
      nextSequence: state.nextSequence + volumes.length,
    },
    volumes: added,
  })
}

function appended<T>(xs: ReadonlyArray<T>, ys: ReadonlyArray<T>): T[] {
  const out = new Array<T>(xs.length + ys.length)
  for (let i = 0; i < xs.length; i++) out[i] = xs[i]!
  for (let i = 0; i < ys.length; i++) out[xs.length + i] = ys[i]!
  return out
}

/** Every reason to refuse an add before allocation, in the order `addPmemVolumes` states. */
function refuseAdd(
  state: PmemState,
  server: PmemServerRef,
  volumes: ReadonlyArray<PmemVolumeRequest>,
  existing: ServerPmem | undefined,
  hostPmem: HostPmem,
): BadRequest | NotFound | Conflict | Forbidden | undefined {
  const shape = requestIssues(volumes)
  if (shape.length > 0) return invalidAll(shape)
  if (findHost(state.inventory, server.host) === undefined) {
    return new NotFound({ resource: "host", id: server.host })
  }
  const bound = boundServer(existing, server)
  if (bound !== undefined) return bound
  const numaNode = existing?.pinnedNumaNode ?? server.numaNode
  const issues = placementIssues(hostPmem, volumes, numaNode)
  const duplicates = duplicateNames(volumes)
  if (issues.length + duplicates.length > 0) return invalidAll(issues.concat(duplicates))
  const held = existing?.volumes ?? noVolumes
  if (held.length + volumes.length > pmemServerLimits.volumesPerServerMax) {
    return new Forbidden({
      message: `Server ${server.serverUuid} would hold ${held.length + volumes.length} pmem ` +
        `volumes; at most ${pmemServerLimits.volumesPerServerMax} are allowed.`,
    })
  }
  let taken: string[] | undefined
  for (const v of volumes) {
    for (const h of held) if (h.name === v.name) (taken ??= []).push(JSON.stringify(v.name))
  }
  if (taken === undefined) return undefined
  return new Conflict({
    message: `Server ${server.serverUuid} already has pmem volume(s) named ${taken.join(", ")}.`,
  })
}

const noVolumes: ReadonlyArray<PmemVolume> = []
const noIssues: ReadonlyArray<InputIssue> = []

/** A server's volumes bind it to their host, and an affinity volume to its NUMA node. */
function boundServer(
  existing: ServerPmem | undefined,
  server: PmemServerRef,
): Conflict | undefined {
  if (existing === undefined) return undefined
  if (existing.host !== server.host) {
    return new Conflict({
      message: `Server ${server.serverUuid} holds pmem volumes on host ${existing.host}, ` +
        `not ${server.host}.`,
    })
  }
  const pinned = existing.pinnedNumaNode
  if (pinned !== undefined && server.numaNode !== undefined && pinned !== server.numaNode) {
    return new Conflict({
      message: `Server ${server.serverUuid} is pinned to NUMA node ${pinned} by an affinity ` +
        `pmem volume, not ${server.numaNode}.`,
    })
  }
  return undefined
}

/** Shape checks for callers that build requests without the decoder. */
function requestIssues(volumes: ReadonlyArray<PmemVolumeRequest>): ReadonlyArray<InputIssue> {
  const max = pmemRequestLimits.volumesPerRequestMax
  if (volumes.length === 0 || volumes.length > max) {
    return [{ path: "add-pmem-vol", message: `a list of 1 to ${max} volumes` }]
  }
  let issues: InputIssue[] | undefined
  for (let i = 0; i < volumes.length; i++) {
    const v = volumes[i]!
    if (!Number.isSafeInteger(v.sizeMb) || v.sizeMb <= 0) {
      (issues ??= []).push({
        path: `add-pmem-vol[${i}].size`,
        message: "a positive integer number of MB",
      })
    }
    if (v.name.length === 0 || v.name.length > pmemRequestLimits.volumeNameLengthMax) {
      (issues ??= []).push({ path: `add-pmem-vol[${i}].name`, message: "a non-empty volume name" })
    }
  }
  return issues ?? noIssues
}

/** Names repeated within one request (n ≤ 64, so the quadratic scan is cheap). */
function duplicateNames(volumes: ReadonlyArray<PmemVolumeRequest>): ReadonlyArray<InputIssue> {
  let issues: InputIssue[] | undefined
  for (let i = 1; i < volumes.length; i++) {
    const name = volumes[i]!.name
    for (let k = 0; k < i; k++) {
      if (volumes[k]!.name !== name) continue
      ;(issues ??= []).push({
        path: `add-pmem-vol[${i}].name`,
        message: `a name unique within the server; "${name}" is also add-pmem-vol[${k}]`,
      })
      break
    }
  }
  return issues ?? noIssues
}

function deviceOf(host: HostPmem, name: string): DevicePmem {
  const device = findDevice(host, name)
  if (device === undefined) throw new Error(`pmem device ${name} missing on ${host.host}`)
  return device
}

/**
 * Each volume's device must exist on the host; affinity volumes must sit on `numaNode` (when
 * known) or, when it is not, all on one node.
 */
export function placementIssues(
  host: HostPmem,
  volumes: ReadonlyArray<Pick<PmemVolumeRequest, "device" | "affinity">>,
  numaNode: number | undefined,
): ReadonlyArray<InputIssue> {
  let issues: InputIssue[] | undefined
  let node = numaNode
  let nodeFrom = "the server's NUMA node"
  for (let i = 0; i < volumes.length; i++) {
    const v = volumes[i]!
    const device = findDevice(host, v.device)
    if (device === undefined) {
      const names = host.devices.map((d) => d.name).join(", ")
      ;(issues ??= []).push({
        path: `add-pmem-vol[${i}].device`,
        message: `a pmem device of the server's host (${names === "" ? "it has none" : names}); ` +
          `"${v.device}" is not one`,
      })
    } else if (v.affinity && node === undefined) {
      node = device.numaNode
      nodeFrom = `add-pmem-vol[${i}]`
    } else if (v.affinity && device.numaNode !== node) {
      ;(issues ??= []).push({
        path: `add-pmem-vol[${i}].device`,
        message: `a device on NUMA node ${node} (${nodeFrom}), since affinity pins the server ` +
          `to one node; ${v.device} is on node ${device.numaNode}`,
      })
    }
  }
  return issues ?? noIssues
}

function findDevice(host: HostPmem, name: string): DevicePmem | undefined {
  for (const d of host.devices) if (d.name === name) return d
  return undefined
}

/** Where a request's volumes went: the host's new devices, and each volume's extent. */
interface Placed {
  readonly host: HostPmem
  readonly offsetsMb: ReadonlyArray<number>
  readonly extentsMb: ReadonlyArray<number>
}

/**
 * Best-fit allocation of every volume on its device (devices must exist). Per device, volumes
 * are placed largest first (ties in request order), which packs better than request order.
 */
export function allocateOnHost(
  host: HostPmem,
  volumes: ReadonlyArray<Pick<PmemVolumeRequest, "device" | "sizeMb">>,
): Placed | PmemInsufficientCapacity {
  const devices = host.devices.slice()
  const offsetsMb = new Array<number>(volumes.length).fill(-1)
  const extentsMb = new Array<number>(volumes.length).fill(0)
  for (let d = 0; d < devices.length; d++) {
    const before = devices[d]!
    const mine: number[] = []
    for (let i = 0; i < volumes.length; i++) {
      if (volumes[i]!.device !== before.name) continue
      mine.push(i)
      extentsMb[i] = extentMbFor(before.extents, volumes[i]!.sizeMb)
    }
    if (mine.length === 0) continue
    if (mine.length > 1) mine.sort((x, y) => extentsMb[y]! - extentsMb[x]! || x - y)
    let extents = before.extents
    for (const i of mine) {
      const extentMb = extentsMb[i]!
      const got = extentMb <= extents.sizeMb ? allocateExtent(extents, extentMb) : undefined
      if (got === undefined) return insufficient(host.host, before, mine.map((k) => extentsMb[k]!))
      extents = got.device
      offsetsMb[i] = got.offsetMb
    }
    devices[d] = {
      name: before.name,
      numaNode: before.numaNode,
      extents,
      volumeCount: before.volumeCount + mine.length,
    }
  }
  if (offsetsMb.includes(-1)) throw new Error("allocateOnHost: a volume names no device")
  return { host: { host: host.host, devices }, offsetsMb, extentsMb }
}

function insufficient(
  host: string,
  device: DevicePmem,
  extentsMb: ReadonlyArray<number>,
): PmemInsufficientCapacity {
  const requestedMb = extentsMb.reduce((s, e) => s + e, 0)
  const largestFreeExtentMb = largestFreeMb(device.extents)
  return new PmemInsufficientCapacity({
    resource: `pmem:${device.name}`,
    requested: requestedMb,
    free: device.extents.freeMb,
    capacity: device.extents.sizeMb,
    host,
  }, {
    fragmentation: requestedMb <= device.extents.freeMb,
    largestFreeExtentMb,
  })
}

/** Errors `deletePmemVolumes` returns. */
export type DeletePmemError = BadRequest | NotFound

/**
 * Deletes the listed volumes of the server, all or none: a uuid listed twice is a BadRequest
 * (`del-pmem-vol[i].volume_uuid`), a uuid the server does not hold is NotFound. Their extents
 * return to the free space, merged with free neighbours. Deleting the last affinity volume
 * unpins the server.
 */
export function deletePmemVolumes(
  state: PmemState,
  serverUuid: string,
  volumeUuids: ReadonlyArray<string>,
): Outcome<PmemChange, DeletePmemError> {
  const max = pmemRequestLimits.volumesPerRequestMax
  if (volumeUuids.length === 0 || volumeUuids.length > max) {
    return err(invalid("del-pmem-vol", `a list of 1 to ${max} volumes`))
  }
  const wanted = volumeUuids.map(lowerCase)
  let issues: InputIssue[] | undefined
  for (let i = 1; i < wanted.length; i++) {
    const k = wanted.indexOf(wanted[i]!)
    if (k === i) continue
    ;(issues ??= []).push({
      path: `del-pmem-vol[${i}].volume_uuid`,
      message: `a volume listed once; ${wanted[i]} is also del-pmem-vol[${k}]`,
    })
  }
  if (issues !== undefined) return err(invalidAll(issues))
  const server = serverPmemOf(state, serverUuid)
  const sequences = new Array<number>(wanted.length)
  for (let i = 0; i < wanted.length; i++) {
    const k = server === undefined ? -1 : volumeIndexOf(server, wanted[i]!)
    if (k < 0) return err(new NotFound({ resource: "pmem volume", id: wanted[i]! }))
    sequences[i] = server!.volumes[k]!.sequence
  }
  return ok(removeVolumes(state, server!, sequences))
}

/** `toLowerCase`, without a copy when there is nothing to lower (the usual case). */
function lowerCase(text: string): string {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c >= 65 && c <= 90) return text.toLowerCase()
  }
  return text
}

/** Where the server holds the volume `uuid` (lower case), or -1. Numbers first: cheap. */
function volumeIndexOf(server: ServerPmem, uuid: string): number {
  const sequence = sequenceOfUuid(uuid)
  if (sequence < 0) return -1
  const volumes = server.volumes
  for (let k = 0; k < volumes.length; k++) {
    if (volumes[k]!.sequence === sequence) return volumes[k]!.uuid === uuid ? k : -1
  }
  return -1
}

/**
 * Frees every volume of a deleted server. A server without volumes gives the same state back.
 * Never fails: a server's deletion must not be blocked by its pmem.
 */
export function releaseServer(state: PmemState, serverUuid: string): PmemChange {
  const server = serverPmemOf(state, serverUuid)
  if (server === undefined) return { state, volumes: [] }
  return removeVolumes(state, server, server.volumes.map((v) => v.sequence))
}

/** Removes the listed volumes (by sequence; all the server's) and frees their extents. */
function removeVolumes(
  state: PmemState,
  server: ServerPmem,
  sequences: ReadonlyArray<number>,
): PmemChange {
  const removed: PmemVolume[] = []
  const kept: PmemVolume[] = []
  let affinity = false
  for (const v of server.volumes) {
    if (sequences.includes(v.sequence)) removed.push(v)
    else {
      kept.push(v)
      affinity ||= v.affinity
    }
  }
  if (removed.length !== sequences.length) {
    throw new Error("removeVolumes: a volume is not the server's")
  }
  const host = hostPmemOf(state, server.host)
  const devices = host.devices.slice()
  for (const v of removed) {
    const d = devices.findIndex((x) => x.name === v.device)
    const device = devices[d]!
    if (device.volumeCount <= 0) throw new Error(`pmem device ${device.name} has no volume`)
    devices[d] = {
      name: device.name,
      numaNode: device.numaNode,
      extents: freeExtent(device.extents, v.offsetMb, v.extentMb),
      volumeCount: device.volumeCount - 1,
    }
  }
  const servers = kept.length === 0
    ? mapRemove(state.servers, server.serverUuid)
    : mapSet(state.servers, server.serverUuid, {
      serverUuid: server.serverUuid,
      host: server.host,
      pinnedNumaNode: affinity ? server.pinnedNumaNode : undefined,
      volumes: kept,
    })
  return {
    state: {
      inventory: state.inventory,
      hosts: mapSet(state.hosts, server.host, { host: host.host, devices }),
      servers,
      nextSequence: state.nextSequence,
    },
    volumes: removed,
  }
}
