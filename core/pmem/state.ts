/**
 * Persistent-memory volumes: the state built from the inventory, and the three operations that
 * change it — add a list of volumes to a server, delete a list, release all of a server's
 * volumes when it is deleted. Each is all-or-nothing and returns a new state; the state it was
 * given always reads as it did (rerootable records and extent sets, see `records.ts` and
 * `extents.ts`), so a dry run is the same call with the result discarded.
 *
 * Servers are owned elsewhere (core/cluster): the caller names the server, its host and, when
 * known, its NUMA node. This module records which volumes a server holds, on which host, and
 * whether an affinity volume pins it (see `pinnedHost`). Stopping, starting or rebooting a
 * server does not touch its volumes: they keep their extents until deleted or released.
 */
import type { Inventory } from "../inventory/index.ts"
import {
  type BadRequest,
  type Conflict,
  type Forbidden,
  type InputIssue,
  invalid,
  invalidAll,
  NotFound,
  type Outcome,
  err,
  ok,
} from "../errors.ts"
import { allocateOnHost, devicePmem, placeOne } from "./allocate.ts"
import { deviceOf, refuseAdd } from "./checks.ts"
import { type DeviceExtents, emptyDevice, returnExtent } from "./extents.ts"
import {
  type PmemRecords,
  pmemRecordsOf,
  recordHost,
  recordServer,
  writeRecords,
} from "./records.ts"
import { sequenceOfUuid, volumeSequenceMax, volumeUuid } from "./ids.ts"
import { PmemInsufficientCapacity } from "./insufficient.ts"
import { type PmemVolumeRequest, pmemRequestLimits } from "./request.ts"

export { allocateOnHost, type Placed, type PlacedOne } from "./allocate.ts"
export { placementIssues, pmemServerLimits } from "./checks.ts"

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
  /**
   * `volumeKeyOf(volumes[k].sequence, volumes[k].name)` at `k`, in a flat array of doubles
   * beside `volumes`: the lookups by uuid and the name-uniqueness check scan it instead of
   * reading every volume record (which, spread over the heap, cost a cache miss each; measured
   * 10% of a churn pair when the records were read instead).
   */
  readonly volumeKeys: ReadonlyArray<number>
  /** How many of `volumes` have affinity (the server is pinned while it is above 0). */
  readonly affinityCount: number
}

/** A 30-bit FNV-1a hash of a volume name (a small integer), for `ServerPmem.volumeKeys`. */
export function nameHashOf(name: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193)
  return h >>> 2
}

/** The span of the name hash in a volume key, and of the sequence bits it keeps (53 in all). */
const keyHashSpan = 2 ** 30
const keySequenceSpan = 2 ** 23

/**
 * A volume's key in `ServerPmem.volumeKeys`: the low 23 bits of its sequence above the 30-bit
 * hash of its name, one exact double. Equal keys are only a hint (a lookup confirms on the
 * volume): the key filters, it does not identify.
 */
export function volumeKeyOf(sequence: number, name: string): number {
  return (sequence % keySequenceSpan) * keyHashSpan + nameHashOf(name)
}

/** The name hash a volume key holds. */
export function nameHashOfKey(key: number): number {
  return key - Math.floor(key / keyHashSpan) * keyHashSpan
}

/**
 * One pmem device of a host with its free space: its extents (`DeviceExtents`: size, alignment,
 * free MB and free extents) with the device's name, NUMA node and volume count. Made only by
 * `devicePmem` or in its field order (one shape).
 */
export interface DevicePmem extends DeviceExtents {
  readonly name: string
  readonly numaNode: number
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
  /**
   * The hosts that have at least one pmem device and the servers that hold at least one volume
   * (read them with `hostPmemOf`, `serverPmemOf`; see `records.ts`).
   */
  readonly records: PmemRecords
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
  const hosts = inventory.hosts.filter((host) => host.pmemDevices.length > 0)
    .map((host): HostPmem => ({
      host: host.name,
      devices: host.pmemDevices.map((d) =>
        devicePmem(d.name, d.numaNode, 0, emptyDevice(d.sizeMb, d.alignMb))),
    }))
  return { inventory, records: pmemRecordsOf(hosts), nextSequence: 0 }
}

const noDevices: HostPmem = { host: "", devices: [] }

/** The pmem devices of `host` (none for a host without pmem or an unknown host). */
export function hostPmemOf(state: PmemState, host: string): HostPmem {
  return recordHost(state.records, host) ?? noDevices
}

/** The volumes of a server, or undefined when it holds none. */
export function serverPmemOf(state: PmemState, serverUuid: string): ServerPmem | undefined {
  return recordServer(state.records, serverUuid)
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
  // One volume (the usual add) is placed without the per-request arrays.
  let placedHost: HostPmem
  let offsetsMb: ReadonlyArray<number> | undefined
  let extentsMb: ReadonlyArray<number> | undefined
  let oneOffsetMb = 0
  let oneExtentMb = 0
  if (volumes.length === 1) {
    const placed = placeOne(hostPmem, volumes[0]!)
    if (placed instanceof PmemInsufficientCapacity) return err(placed)
    placedHost = placed.host
    oneOffsetMb = placed.offsetMb
    oneExtentMb = placed.extentMb
  } else {
    const placed = allocateOnHost(hostPmem, volumes)
    if (placed instanceof PmemInsufficientCapacity) return err(placed)
    placedHost = placed.host
    offsetsMb = placed.offsetsMb
    extentsMb = placed.extentsMb
  }
  if (state.nextSequence + volumes.length - 1 > volumeSequenceMax) {
    throw new Error("pmem volume sequence exhausted")
  }
  const n = volumes.length
  const held = existing === undefined ? 0 : existing.volumes.length
  const added = new Array<PmemVolume>(n)
  // The server's new flat arrays are built at their final length: old entries, then new ones.
  const allVolumes = existing === undefined ? added : grown(existing.volumes, n)
  const volumeKeys = existing === undefined ? new Array<number>(n)
    : grownKeys(existing.volumeKeys, n)
  let affinityCount = existing === undefined ? 0 : existing.affinityCount
  let pinnedNumaNode = existing?.pinnedNumaNode
  for (let i = 0; i < n; i++) {
    const v = volumes[i]!
    volumeKeys[held + i] = volumeKeyOf(state.nextSequence + i, v.name)
    if (v.affinity) affinityCount++
    added[i] = {
      uuid: volumeUuid(server.serverUuid, v.name, state.nextSequence + i),
      sequence: state.nextSequence + i,
      name: v.name,
      sizeMb: v.sizeMb,
      extentMb: extentsMb === undefined ? oneExtentMb : extentsMb[i]!,
      affinity: v.affinity,
      device: v.device,
      offsetMb: offsetsMb === undefined ? oneOffsetMb : offsetsMb[i]!,
    }
    if (existing !== undefined) allVolumes[held + i] = added[i]!
    if (v.affinity && pinnedNumaNode === undefined) {
      pinnedNumaNode = deviceOf(hostPmem, v.device).numaNode
    }
  }
  const record: ServerPmem = {
    serverUuid: server.serverUuid,
    host: server.host,
    pinnedNumaNode,
    volumes: allVolumes,
    volumeKeys,
    affinityCount,
  }
  return ok({
    state: {
      inventory: state.inventory,
      records: writeRecords(state.records, server.serverUuid, existing, record, placedHost),
      nextSequence: state.nextSequence + volumes.length,
    },
    volumes: added,
  })
}

/** A copy of `xs` with `extra` more slots at the end (for the caller to fill). */
function grown<T>(xs: ReadonlyArray<T>, extra: number): T[] {
  const out = new Array<T>(xs.length + extra)
  for (let i = 0; i < xs.length; i++) out[i] = xs[i]!
  return out
}

/**
 * `grown` for volume keys: its own allocation site, so V8 keeps these arrays as unboxed doubles
 * (a site shared with the volume lists would make them arrays of boxed numbers).
 */
function grownKeys(keys: ReadonlyArray<number>, extra: number): number[] {
  const out = new Array<number>(keys.length + extra)
  for (let i = 0; i < keys.length; i++) out[i] = keys[i]!
  return out
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
  const n = volumeUuids.length
  if (n === 0 || n > max) return err(invalid("del-pmem-vol", `a list of 1 to ${max} volumes`))
  if (n > 1) {
    const repeated = repeatedUuids(volumeUuids)
    if (repeated !== undefined) return err(repeated)
  }
  const server = serverPmemOf(state, serverUuid)
  if (n === 1) {
    // The usual delete: one volume, found and removed without a list of positions.
    const k = server === undefined ? -1 : volumeIndexOf(server, volumeUuids[0]!)
    if (k < 0) return err(new NotFound({ resource: "pmem volume", id: lowerCase(volumeUuids[0]!) }))
    return ok(removeVolumes(state, server!, k, undefined))
  }
  const indexes = new Array<number>(n)
  for (let i = 0; i < n; i++) {
    const uuid = volumeUuids[i]!
    const k = server === undefined ? -1 : volumeIndexOf(server, uuid)
    if (k < 0) return err(new NotFound({ resource: "pmem volume", id: lowerCase(uuid) }))
    indexes[i] = k
  }
  return ok(removeVolumes(state, server!, -1, indexes))
}

/** A BadRequest naming every uuid listed again (case-insensitively), or undefined. */
function repeatedUuids(volumeUuids: ReadonlyArray<string>): BadRequest | undefined {
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
  return issues === undefined ? undefined : invalidAll(issues)
}

/** `toLowerCase`, without a copy when there is nothing to lower (the usual case). */
function lowerCase(text: string): string {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c >= 65 && c <= 90) return text.toLowerCase()
  }
  return text
}

/**
 * Where the server holds the volume `uuid` (either case), or -1. The sequence number the uuid
 * carries is compared first (cheap), then the whole uuid.
 */
function volumeIndexOf(server: ServerPmem, uuid: string): number {
  const sequence = sequenceOfUuid(uuid)
  if (sequence < 0) return -1
  const low = (sequence % keySequenceSpan) * keyHashSpan
  const high = low + keyHashSpan
  const keys = server.volumeKeys
  for (let k = 0; k < keys.length; k++) {
    const key = keys[k]!
    if (key < low || key >= high) continue
    const volume = server.volumes[k]!
    if (volume.sequence !== sequence) continue
    // A sequence is never reused in a state's history: this is the only volume that has it.
    return volume.uuid === uuid || volume.uuid === lowerCase(uuid) ? k : -1
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
  const indexes = new Array<number>(server.volumes.length)
  for (let k = 0; k < indexes.length; k++) indexes[k] = k
  return removeVolumes(state, server, -1, indexes)
}

/**
 * Removes the server's volumes at `indexes` (distinct positions in `server.volumes`), or when
 * `indexes` is undefined the one at `only`, and frees their extents. The removed volumes are
 * returned in the server's (creation) order.
 */
function removeVolumes(
  state: PmemState,
  server: ServerPmem,
  only: number,
  indexes: ReadonlyArray<number> | undefined,
): PmemChange {
  const volumes = server.volumes
  // One volume (the usual delete) is compared by index; more are marked in a list.
  let gone: boolean[] | undefined
  if (indexes !== undefined) {
    gone = new Array<boolean>(volumes.length).fill(false)
    for (const k of indexes) {
      if (!(k >= 0 && k < volumes.length) || gone[k]) {
        throw new Error("removeVolumes: a volume is not the server's, or listed twice")
      }
      gone[k] = true
    }
  } else if (!(only >= 0 && only < volumes.length)) {
    throw new Error("removeVolumes: a volume is not the server's")
  }
  const removedCount = indexes === undefined ? 1 : indexes.length
  const keptCount = volumes.length - removedCount
  const removed = new Array<PmemVolume>(removedCount)
  const kept = new Array<PmemVolume>(keptCount)
  const volumeKeys = new Array<number>(keptCount)
  const keys = server.volumeKeys
  let r = 0
  let w = 0
  let affinityCount = server.affinityCount
  for (let k = 0; k < volumes.length; k++) {
    if (gone === undefined ? k === only : gone[k]) {
      const v = volumes[k]!
      removed[r++] = v
      if (v.affinity) affinityCount--
    } else {
      volumeKeys[w] = keys[k]!
      kept[w++] = volumes[k]!
    }
  }
  const host = hostPmemOf(state, server.host)
  const record: ServerPmem | undefined = w === 0 ? undefined : {
    serverUuid: server.serverUuid,
    host: server.host,
    pinnedNumaNode: affinityCount > 0 ? server.pinnedNumaNode : undefined,
    volumes: kept,
    volumeKeys,
    affinityCount,
  }
  const hostAfter: HostPmem = { host: host.host, devices: freed(host, removed) }
  return {
    state: {
      inventory: state.inventory,
      records: writeRecords(state.records, server.serverUuid, server, record, hostAfter),
      nextSequence: state.nextSequence,
    },
    volumes: removed,
  }
}

/** The host's devices with the extents of `removed` (volumes on them) returned. */
function freed(host: HostPmem, removed: ReadonlyArray<PmemVolume>): DevicePmem[] {
  const devices = host.devices.slice()
  for (const v of removed) {
    let d = 0
    while (d < devices.length && devices[d]!.name !== v.device) d++
    const device = devices[d]
    if (device === undefined) throw new Error(`pmem device ${v.device} missing on ${host.host}`)
    if (device.volumeCount <= 0) throw new Error(`pmem device ${device.name} has no volume`)
    devices[d] = {
      name: device.name,
      numaNode: device.numaNode,
      volumeCount: device.volumeCount - 1,
      sizeMb: device.sizeMb,
      alignMb: device.alignMb,
      freeMb: device.freeMb + v.extentMb,
      free: returnExtent(device, v.offsetMb, v.extentMb),
    }
  }
  return devices
}
