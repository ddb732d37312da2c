/**
 * The checks `addPmemVolumes` makes before it allocates, and `placementIssues`, which placement
 * asks per candidate host: each returns the reason to refuse (typed, with the field path) or
 * nothing. They read the state and never change it.
 */
import { findHost } from "../inventory/index.ts"
import {
  BadRequest,
  Conflict,
  Forbidden,
  type InputIssue,
  invalidAll,
  NotFound,
} from "../errors.ts"
import { type PmemVolumeRequest, pmemRequestLimits } from "./request.ts"
import {
  type DevicePmem,
  type HostPmem,
  nameHashOf,
  nameHashOfKey,
  type PmemServerRef,
  type PmemState,
  type PmemVolume,
  type ServerPmem,
} from "./state.ts"

/** Bounds on what one server may hold. */
export const pmemServerLimits = { volumesPerServerMax: 64 } as const

/** Every reason to refuse an add before allocation, in the order `addPmemVolumes` states. */
export function refuseAdd(
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
  if (existing !== undefined) {
    // Hashes first: a name is read only when its hash matches (see ServerPmem.volumeKeys).
    const keys = existing.volumeKeys
    for (const v of volumes) {
      const hash = nameHashOf(v.name)
      for (let k = 0; k < keys.length; k++) {
        if (nameHashOfKey(keys[k]!) === hash && held[k]!.name === v.name) {
          ;(taken ??= []).push(JSON.stringify(v.name))
        }
      }
    }
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

export function deviceOf(host: HostPmem, name: string): DevicePmem {
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

export function findDevice(host: HostPmem, name: string): DevicePmem | undefined {
  for (const d of host.devices) if (d.name === name) return d
  return undefined
}
