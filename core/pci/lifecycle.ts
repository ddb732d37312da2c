/**
 * The PCI lifecycle, one function per transition: `claim` (available → claimed), `allocate`
 * (claimed → allocated), `free` (claimed/allocated → available, or removed when a removal waits)
 * and `removeDevice`. Each is pure: it returns a new state, or an error and no state at all, and
 * never modifies the state it was given — so a dry run is the same call with its result dropped.
 */
import { Result } from "effect"
import {
  type BadRequest, Conflict, type InsufficientCapacity, invalid, NotFound,
} from "../errors.ts"
import { rmapGet, rmapRemove, rmapSet } from "../persistent/map.ts"
import { rvecEdit, rvecGet, rvecSet } from "../persistent/vec.ts"
import { locateDevice, type PciHostLayout } from "./layout.ts"
import {
  type PciClaimInput, type PciNumaPolicy, type PciRequest, pciRequestLimits,
} from "./request.ts"
import { decideOnHost, Shortfall, shortfallError } from "./select.ts"
import { type Holding, type HostUsage, HostWork, type PciState, useAt } from "./state.ts"

export type { PciClaimInput }

/** A new state and the global ids of the devices the operation changed. */
export interface PciChange {
  readonly state: PciState
  readonly devices: ReadonlyArray<number>
}

/** Errors of `claim`. */
export type PciClaimError = BadRequest | NotFound | InsufficientCapacity

/**
 * Whether `uuid` is 1-64 letters, digits, '_', '.', ':' or '-', not starting with punctuation
 * (a loop: this runs on every claim, and a regular expression costs more there).
 */
function isUuidLike(uuid: string): boolean {
  if (uuid.length === 0 || uuid.length > pciRequestLimits.instanceUuidLengthMax) return false
  for (let i = 0; i < uuid.length; i++) {
    const c = uuid.charCodeAt(i)
    const alnum = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)
    if (alnum) continue
    if (i === 0 || !(c === 95 || c === 46 || c === 58 || c === 45)) return false
  }
  return true
}

function hostOf(state: PciState, name: string): PciHostLayout | NotFound {
  const index = state.layout.hostIndex.get(name)
  if (index === undefined) return new NotFound({ resource: "Host", id: name })
  return state.layout.hosts[index]!
}

const noCells: ReadonlyArray<number> = []

/** Checks a claim's input against the host: uuid, requests, NUMA cells. */
function checkClaim(host: PciHostLayout, input: PciClaimInput): BadRequest | undefined {
  if (!isUuidLike(input.instanceUuid)) {
    return invalid("instanceUuid", "an instance uuid of 1-64 letters, digits, '_', '.', ':', '-'")
  }
  return checkRequests(host, input.requests, input.instanceNumaCells ?? noCells)
}

/** Checks requests and NUMA cells against the host (a claim's checks but the uuid). */
function checkRequests(host: PciHostLayout, requests: ReadonlyArray<PciRequest>,
  cells: ReadonlyArray<number>): BadRequest | undefined {
  if (requests.length === 0 || requests.length > pciRequestLimits.requestsMax) {
    return invalid("requests", `1 to ${pciRequestLimits.requestsMax} requests`)
  }
  for (let i = 0; i < requests.length; i++) {
    const r = requests[i]!
    if (!Number.isInteger(r.count) || r.count < 1 || r.count > pciRequestLimits.countMax) {
      return invalid(`requests[${i}].count`, `an integer from 1 to ${pciRequestLimits.countMax}`)
    }
    if (r.spec.length === 0 || r.spec.length > pciRequestLimits.alternativesMax) {
      return invalid(`requests[${i}].spec`, `1 to ${pciRequestLimits.alternativesMax} alternatives`)
    }
  }
  if (cells.length > pciRequestLimits.instanceNumaCellsMax) {
    return invalid("instanceNumaCells", `at most ${pciRequestLimits.instanceNumaCellsMax} cells`)
  }
  for (let i = 0; i < cells.length; i++) {
    if (!host.cellSocket.has(cells[i]!)) {
      return invalid(`instanceNumaCells[${i}]`, `a NUMA cell of host ${host.name} ` +
        `(${[...host.cellSocket.keys()].join(", ")}); ${cells[i]} is not one`)
    }
  }
  return undefined
}

/**
 * Claims devices on `host` for an instance (available → claimed). All requests are met or none:
 * InsufficientCapacity names the first request that cannot be (resource `pci:<vendor>:<product>`
 * or the alias, requested, free under its NUMA policy, capacity, host). An instance may claim
 * again (e.g. an interface attach); its holdings grow.
 */
export function claim(state: PciState, input: PciClaimInput):
  Result.Result<PciChange, PciClaimError> {
  return claimWith(state, input, false)
}

/**
 * `claim` then `allocate` as one transition, for an instance that starts at once (a scheduler's
 * placement): the devices go from available to allocated in one batch, with one write of the
 * host and of the instance's holdings instead of two. The result equals `allocate(claim(…))`:
 * the same state (devices the instance had claimed on the host before are allocated too), the
 * devices `claim` names, and `claim`'s errors.
 */
export function claimAllocated(state: PciState, input: PciClaimInput):
  Result.Result<PciChange, PciClaimError> {
  return claimWith(state, input, true)
}

function claimWith(state: PciState, input: PciClaimInput, allocated: boolean):
  Result.Result<PciChange, PciClaimError> {
  const host = hostOf(state, input.host)
  if (host instanceof NotFound) return Result.fail(host)
  const bad = checkClaim(host, input)
  if (bad !== undefined) return Result.fail(bad)
  const usage = rvecGet(state.hosts, host.index)
  const before = rmapGet(state.instances, input.instanceUuid)
  // Read before the batch: `usage` is then still the newest version of the host.
  const claimedBefore = allocated && holdsClaimed(before, host.index, usage)
  const decided = decideOnHost(host, usage, input.instanceUuid, input.requests, input, false,
    allocated)
  if (decided instanceof Shortfall) return Result.fail(shortfallError(host, usage, decided))
  const taken = decided.taken
  const holdings = withDevices(before, host.index, taken)
  const next: PciState = {
    layout: state.layout,
    hosts: setHost(state, host.index, decided.usage),
    instances: rmapSet(state.instances, input.instanceUuid, holdings),
  }
  const devices = globalIds(host, taken)
  if (claimedBefore) {
    // Devices claimed earlier on this host are allocated as `allocate` would (rare: an attach
    // while the instance is still only claimed).
    const all = allocate(next, { host: input.host, instanceUuid: input.instanceUuid })
    if (Result.isFailure(all)) throw new Error(`pci invariant broken: ${all.failure.message}`)
    return Result.succeed({ state: all.success.state, devices })
  }
  return Result.succeed({ state: next, devices })
}

/** Whether `holdings` has a device in status claimed on host `hostIndex` (read in `usage`). */
function holdsClaimed(holdings: ReadonlyArray<Holding> | undefined, hostIndex: number,
  usage: HostUsage): boolean {
  if (holdings === undefined) return false
  for (const h of holdings) {
    if (h.host !== hostIndex) continue
    for (const d of h.devices) if (useAt(usage, d).status === "claimed") return true
  }
  return false
}

/** The global ids of host-local devices `local` (a loop: no per-call closure). */
function globalIds(host: PciHostLayout, local: ReadonlyArray<number>): number[] {
  const out = new Array<number>(local.length)
  for (let i = 0; i < local.length; i++) out[i] = host.firstId + local[i]!
  return out
}

/** `holdings` with `taken` added on host `hostIndex` (hosts ascending, devices ascending). */
function withDevices(holdings: ReadonlyArray<Holding> | undefined, hostIndex: number,
  taken: ReadonlyArray<number>): ReadonlyArray<Holding> {
  if (holdings === undefined) {
    return [{ host: hostIndex, devices: taken.length === 1 ? taken : [...taken].sort(ascending) }]
  }
  const out: Holding[] = []
  let merged = false
  for (const h of holdings) {
    if (h.host < hostIndex || merged) {
      out.push(h)
      continue
    }
    merged = true
    const devices = h.host === hostIndex ? [...h.devices, ...taken] : [...taken]
    out.push({ host: hostIndex, devices: devices.sort(ascending) })
    if (h.host !== hostIndex) out.push(h)
  }
  if (!merged) out.push({ host: hostIndex, devices: [...taken].sort(ascending) })
  return out
}

function ascending(a: number, b: number): number {
  return a - b
}

/**
 * Whether `requests` fit on `host` now: `claim`'s own decision with its result dropped.
 * False for an unknown host or an input `claim` would refuse.
 */
export function pciFits(state: PciState, hostName: string, requests: ReadonlyArray<PciRequest>,
  numa: { readonly numaPolicy?: PciNumaPolicy; readonly instanceNumaCells?: ReadonlyArray<number> }
    = {}): boolean {
  const index = state.layout.hostIndex.get(hostName)
  if (index === undefined) return false
  const host = state.layout.hosts[index]!
  if (checkRequests(host, requests, numa.instanceNumaCells ?? noCells) !== undefined) return false
  // The decision alone: a shortfall is an answer here, so no error value is built for it.
  return !(decideOnHost(host, rvecGet(state.hosts, index), "fits", requests, numa, true)
    instanceof Shortfall)
}

function setHost(state: PciState, index: number, usage: ReturnType<HostWork["done"]>) {
  if (rvecGet(state.hosts, index) === usage) return state.hosts
  return rvecSet(state.hosts, index, usage)
}

/** `state` with `hosts` (a literal: a spread followed by a property is far slower on Node 20). */
function withHosts(state: PciState, hosts: PciState["hosts"]): PciState {
  return { layout: state.layout, hosts, instances: state.instances }
}

/** An instance's holdings, on one host (when `host` is given) or everywhere. */
function holdingsOf(state: PciState, instanceUuid: string, hostName: string | undefined):
  Result.Result<{ all: ReadonlyArray<Holding>; chosen: ReadonlyArray<Holding> },
    NotFound | Conflict> {
  const all = rmapGet(state.instances, instanceUuid)
  if (all === undefined) {
    return Result.fail(new NotFound({ resource: "Instance", id: instanceUuid }))
  }
  if (hostName === undefined) return Result.succeed({ all, chosen: all })
  const found = hostOf(state, hostName)
  if (found instanceof NotFound) return Result.fail(found)
  const chosen = all.filter((h) => h.host === found.index)
  if (chosen.length === 0) {
    return Result.fail(new Conflict({
      message: `Instance ${instanceUuid} holds no PCI devices on host ${hostName}.`,
    }))
  }
  return Result.succeed({ all, chosen })
}

/**
 * Allocates what an instance has claimed on `host` (claimed → allocated): the instance is
 * running. NotFound for an unknown instance or host; Conflict when it has nothing claimed there.
 */
export function allocate(state: PciState, input: { readonly host: string;
  readonly instanceUuid: string }): Result.Result<PciChange, NotFound | Conflict> {
  // One holding per host: found by a loop, with no filtered copy or wrapper (claim → allocate
  // is the placement path; holdingsOf gives the same errors in the same order).
  const all = rmapGet(state.instances, input.instanceUuid)
  const index = state.layout.hostIndex.get(input.host)
  let holding: Holding | undefined
  if (all !== undefined && index !== undefined) {
    for (let i = 0; i < all.length; i++) if (all[i]!.host === index) holding = all[i]!
  }
  if (holding === undefined) {
    const held = holdingsOf(state, input.instanceUuid, input.host)
    if (Result.isFailure(held)) return Result.fail(held.failure)
    throw new Error(`pci invariant broken: holdings of ${input.instanceUuid} on ${input.host}`)
  }
  const host = state.layout.hosts[holding.host]!
  const work = new HostWork(host, rvecGet(state.hosts, holding.host))
  const changed: number[] = []
  for (const d of holding.devices) {
    if (work.use(d).status !== "claimed") continue
    work.allocate(d)
    changed.push(host.firstId + d)
  }
  if (changed.length === 0) {
    work.abort()
    return Result.fail(new Conflict({ message: `Instance ${input.instanceUuid} has no claimed ` +
      `PCI devices on host ${input.host} to allocate; they are all allocated.` }))
  }
  return Result.succeed({
    state: withHosts(state, setHost(state, holding.host, work.done())),
    devices: changed,
  })
}

/**
 * Frees everything an instance holds (on `host` only, when given): claimed and allocated devices
 * return to available — or to removed, where a removal was waiting — and a PF becomes usable
 * again once none of its VFs is held. NotFound for an unknown instance or host.
 */
export function free(state: PciState, input: { readonly instanceUuid: string;
  readonly host?: string }): Result.Result<PciChange, NotFound | Conflict> {
  let all: ReadonlyArray<Holding>
  let chosen: ReadonlyArray<Holding>
  if (input.host === undefined) {
    // The common case (an instance deleted) reads its holdings once, with no wrapper.
    const held = rmapGet(state.instances, input.instanceUuid)
    if (held === undefined) {
      return Result.fail(new NotFound({ resource: "Instance", id: input.instanceUuid }))
    }
    all = held
    chosen = held
  } else {
    const held = holdingsOf(state, input.instanceUuid, input.host)
    if (Result.isFailure(held)) return Result.fail(held.failure)
    all = held.success.all
    chosen = held.success.chosen
  }
  const edit = rvecEdit(state.hosts)
  const changed: number[] = []
  for (const holding of chosen) {
    const host = state.layout.hosts[holding.host]!
    const work = new HostWork(host, edit.get(holding.host))
    try {
      for (const d of holding.devices) {
        work.release(d)
        changed.push(host.firstId + d)
      }
    } catch (bug) {
      work.abort()
      edit.abort()
      throw bug
    }
    edit.set(holding.host, work.done())
  }
  let rest: Holding[] | undefined
  if (chosen !== all) {
    for (const h of all) if (!chosen.includes(h)) (rest ??= []).push(h)
  }
  const instances = rest === undefined ? rmapRemove(state.instances, input.instanceUuid)
    : rmapSet(state.instances, input.instanceUuid, rest)
  return Result.succeed({ state: { layout: state.layout, hosts: edit.done(), instances },
    devices: changed })
}

/**
 * Removes device `id` (hot-unplug, or dropped from the allow-list). A device not in use is
 * `removed` at once; a claimed or allocated one keeps serving its instance and becomes removed
 * when freed (`deferred: true`). NotFound for an unknown id; Conflict when already removed or
 * already waiting for removal.
 */
export function removeDevice(state: PciState, input: { readonly id: number }):
  Result.Result<PciChange & { readonly deferred: boolean }, NotFound | Conflict> {
  const at = locateDevice(state.layout, input.id)
  if (at === undefined) {
    return Result.fail(new NotFound({ resource: "PCI device", id: String(input.id) }))
  }
  const usage = rvecGet(state.hosts, at.host.index)
  const use = useAt(usage, at.index)
  if (use.status === "removed" || use.removalPending) {
    return Result.fail(new Conflict({ message: `PCI device ${input.id} is already ` +
      (use.removalPending ? "waiting for removal." : "removed.") }))
  }
  const work = new HostWork(at.host, usage)
  work.remove(at.index)
  return Result.succeed({
    state: withHosts(state, setHost(state, at.host.index, work.done())),
    devices: [input.id],
    deferred: use.holder !== null,
  })
}
