/**
 * The cluster state's operations: create the state from an inventory, server groups, and
 * `createServer`/`deleteServer`, which reserve and release everything a server holds at once.
 * Every operation returns a new state; on an error the given state is unchanged (it is never
 * mutated: the scan arrays pass to the new state and an older state rebuilds its own).
 */
import {
  AlreadyExists,
  type BadRequest,
  Conflict,
  InsufficientCapacity,
  type InputIssue,
  invalid,
  invalidAll,
  NotFound,
  type Outcome,
  err,
  ok,
  quietly,
} from "../errors.ts"
import type { Host, Inventory } from "../inventory/inventory.ts"
import {
  rmapEmpty, rmapGet, rmapRemove, rmapSet, rmapSize, rmapValues,
} from "../persistent/map.ts"
import type { HostStatus } from "../model/inventory.ts"
import { applyUsage, emptyUsage, fitOnHost, poolMatches, cellRamCapacityMb,
  cellVcpuCapacity } from "./fit.ts"
import { hardRuleBreach, topologyOf } from "./rules.ts"
import { buildScan, type ScanIndex, updateScanHost, updateScanUsage, usageWithin } from "./scan.ts"
import { fitDevices } from "./devices.ts"
import { usageAt, usageList, usageVecOf, withUsageAt } from "./usage.ts"

export { usageAt, usageList, type UsageVec } from "./usage.ts"
import { free as freePci, pciStateOf } from "../pci/index.ts"
import { type AddPmemError, pmemStateOf, releaseServer } from "../pmem/index.ts"
import type { PciClaimError } from "../pci/index.ts"
import {
  type ClusterState,
  type GroupRecord,
  type GroupRule,
  type GroupScope,
  groupRules,
  groupScopes,
  type HostAssignment,
  type HostUsage,
  type InstanceSpec,
  type ServerCreate,
  type ServerRecord,
} from "./types.ts"

/** Bounds on one instance request, so a hostile body cannot exhaust memory or time. */
export const instanceLimits = {
  disksMax: 64,
  groupsMax: 16,
  numaCellsMax: 64,
  groupMembersMax: 10_000,
} as const

/**
 * A new, empty cluster over an inventory. The state holds copies of the inventory's host records
 * (same fields and values, see `sharedShapeHosts`).
 */
export function createCluster(given: Inventory): ClusterState {
  const inventory = sharedShapeHosts(given)
  const usage = inventory.hosts.map(emptyUsage)
  const scan = buildScan(inventory, usage)
  const state: ClusterState = {
    inventory,
    topology: topologyOf(inventory),
    usage: usageVecOf(usage),
    servers: rmapEmpty(),
    groups: rmapEmpty(),
    pci: pciStateOf(inventory),
    pmem: pmemStateOf(inventory),
    scan,
  }
  scan.owner = state
  return state
}

/**
 * The inventory with each host record copied by `Object.assign`, so hosts with the same fields
 * share one hidden class whoever built them. Records built by a spread followed by more
 * properties each get a class of their own on V8 (the decoder no longer builds them so, a
 * caller's code may), and with thousands of hosts every host field read on the commit path would
 * miss the inline caches (a runtime lookup).
 */
function sharedShapeHosts(inventory: Inventory): Inventory {
  return Object.assign({}, inventory, { hosts: inventory.hosts.map((h) => Object.assign({}, h)) })
}

/**
 * The state with host `hostIndex`'s status set (`up` takes new placements; `down` and
 * `maintenance` do not; what the host holds stays). The new inventory shares the other host
 * records; the scan arrays pass to the new state with that host rewritten (O(hosts) for the
 * host list, no rebuild of the scan). The given state is unchanged. Throws a RangeError for an
 * index outside the inventory (a caller's bug).
 */
export function withHostStatus(
  state: ClusterState,
  hostIndex: number,
  status: HostStatus,
): ClusterState {
  const hosts = state.inventory.hosts
  const host = hosts[hostIndex]
  if (host === undefined || !Number.isInteger(hostIndex)) {
    throw new RangeError(`host index ${hostIndex} of ${hosts.length}`)
  }
  if (host.status === status) return state
  const changed: Host = Object.assign({}, host, { status })
  const nextHosts = hosts.slice()
  nextHosts[hostIndex] = changed
  const scan = scanOf(state)
  const next: ClusterState = { inventory: Object.assign({}, state.inventory, { hosts: nextHosts }),
    topology: state.topology, usage: state.usage, servers: state.servers, groups: state.groups,
    pci: state.pci, pmem: state.pmem, scan }
  updateScanHost(scan, changed, usageAt(next, hostIndex), next.pci)
  scan.owner = next
  return next
}

/** The scan arrays of this state: its own if it still owns them, else rebuilt for it. */
export function scanOf(state: ClusterState): ScanIndex {
  if (state.scan.owner === state) return state.scan
  const scan = buildScan(state.inventory, usageList(state))
  scan.owner = state
  ;(state as { scan: ScanIndex }).scan = scan
  return scan
}

/** A server or volume by uuid. */
export const findServer = (state: ClusterState, uuid: string): ServerRecord | undefined =>
  rmapGet(state.servers, uuid)

/** Every server and volume, by ascending uuid (a fresh array). */
export const serverRecords = (state: ClusterState): ServerRecord[] => rmapValues(state.servers)

/** How many servers and volumes the state holds. */
export const serverCount = (state: ClusterState): number => rmapSize(state.servers)

/** A group by id. */
export const findGroup = (state: ClusterState, id: string): GroupRecord | undefined =>
  rmapGet(state.groups, id)

/** Host indexes of a group's placed members, in join order. */
export function memberHosts(state: ClusterState, group: GroupRecord): number[] {
  return group.members.map((uuid) => {
    const server = findServer(state, uuid)
    if (server === undefined) throw new Error(`group ${group.id} lists unknown member ${uuid}`)
    return server.hostIndex
  })
}

/** A group to create; `scope` defaults to `host` and `maxPerDomain` to 1. */
export interface GroupCreate {
  readonly id: string
  readonly rule: GroupRule
  readonly scope?: GroupScope
  readonly maxPerDomain?: number
}

/** Checks a group request; returns every issue under `path`. */
export function groupIssues(group: GroupCreate, path: string): InputIssue[] {
  const issues: InputIssue[] = []
  if (group.id === "") issues.push({ path: `${path}.id`, message: "a non-empty group id" })
  if (!groupRules.includes(group.rule)) {
    issues.push({ path: `${path}.rule`, message: `one of ${groupRules.join(", ")}` })
  }
  if (group.scope !== undefined && !groupScopes.includes(group.scope)) {
    issues.push({ path: `${path}.scope`, message: `one of ${groupScopes.join(", ")}` })
  }
  const max = group.maxPerDomain
  if (max !== undefined && (!Number.isInteger(max) || max < 1)) {
    issues.push({ path: `${path}.maxPerDomain`, message: "an integer of at least 1" })
  }
  if (max !== undefined && max > 1 && !group.rule.endsWith("anti-affinity")) {
    issues.push({ path: `${path}.maxPerDomain`, message: "set only for (soft-)anti-affinity" })
  }
  return issues
}

/** Adds an empty server group. */
export function createGroup(
  state: ClusterState,
  group: GroupCreate,
): Outcome<ClusterState, BadRequest | AlreadyExists> {
  const issues = groupIssues(group, "group")
  if (issues.length > 0) return err(invalidAll(issues))
  if (findGroup(state, group.id) !== undefined) {
    return err(new AlreadyExists({ resource: "server group", id: group.id }))
  }
  const record: GroupRecord = {
    id: group.id,
    rule: group.rule,
    scope: group.scope ?? "host",
    maxPerDomain: group.maxPerDomain ?? 1,
    members: [],
  }
  return ok(withGroupMap(state, rmapSet(state.groups, group.id, record)))
}

/** Removes a server group; it must have no members left. */
export function deleteGroup(
  state: ClusterState,
  id: string,
): Outcome<ClusterState, NotFound | Conflict> {
  const group = findGroup(state, id)
  if (group === undefined) return err(new NotFound({ resource: "server group", id }))
  if (group.members.length > 0) {
    return err(new Conflict({ message: `server group ${id} still has ${group.members.length} ` +
      "members; delete them first" }))
  }
  return ok(withGroupMap(state, rmapRemove(state.groups, id)))
}

const nonNegative = (v: number): boolean => Number.isInteger(v) && v >= 0

/**
 * Checks an instance request's numbers; returns every issue under `path`. Runs for every
 * placement, so it makes no closures and allocates only the issue list.
 */
export function instanceIssues(spec: InstanceSpec, path: string): InputIssue[] {
  const issues: InputIssue[] = []
  if (!nonNegative(spec.vcpus)) issues.push({ path: `${path}.vcpus`, message: "an integer ≥ 0" })
  if (!nonNegative(spec.ramMb)) issues.push({ path: `${path}.ramMb`, message: "an integer ≥ 0" })
  if (spec.disks.length > instanceLimits.disksMax) {
    issues.push({ path: `${path}.disks`, message: `at most ${instanceLimits.disksMax} disks` })
  }
  for (let k = 0; k < spec.disks.length; k++) {
    const sizeMb = spec.disks[k]!.sizeMb
    if (!Number.isInteger(sizeMb) || sizeMb < 1) {
      issues.push({ path: `${path}.disks[${k}].sizeMb`, message: "an integer ≥ 1" })
    }
  }
  if (spec.kind === "volume" && (spec.vcpus !== 0 || spec.ramMb !== 0 || spec.disks.length !== 1)) {
    issues.push({ path, message: "a volume: one disk, no vCPUs and no RAM" })
  }
  const cells = spec.numaCells
  if (cells !== undefined) {
    if (!Number.isInteger(cells) || cells < 1 || cells > instanceLimits.numaCellsMax) {
      issues.push({ path: `${path}.numaCells`, message: `1 to ${instanceLimits.numaCellsMax}` })
    } else if (spec.vcpus % cells !== 0 || spec.ramMb % cells !== 0) {
      issues.push({ path: `${path}.numaCells`,
        message: `a divisor of vcpus (${spec.vcpus}) and ramMb (${spec.ramMb})` })
    }
  }
  if (spec.zone !== undefined && (typeof spec.zone !== "string" || spec.zone === "")) {
    issues.push({ path: `${path}.zone`, message: "a non-empty zone name" })
  }
  if (spec.pmemDevice !== undefined &&
    (typeof spec.pmemDevice !== "string" || spec.pmemDevice === "")) {
    issues.push({ path: `${path}.pmemDevice`, message: "a non-empty pmem device name" })
  }
  if (spec.groups.length > instanceLimits.groupsMax) {
    issues.push({ path: `${path}.groups`, message: `at most ${instanceLimits.groupsMax} groups` })
  }
  if (spec.groups.length > 1 && new Set(spec.groups).size !== spec.groups.length) {
    issues.push({ path: `${path}.groups`, message: "each group once" })
  }
  return issues
}

/** Where to create a server: a host by name, or a host and the assignment the solver chose. */
export type HostChoice = string | { readonly host: string; readonly assignment: HostAssignment }

/** Errors `createServer` returns. */
export type CreateServerError = BadRequest | NotFound | AlreadyExists | Conflict |
  InsufficientCapacity | PciClaimError | AddPmemError

/**
 * Creates a server (or volume) on the chosen host, reserving its vCPUs, RAM, disks and NUMA
 * shares and joining its groups, all at once. Checks: a valid request, an unused uuid, known
 * groups, an `up` host, the hard rules of its groups, and that everything fits (an assignment from
 * the solver is verified, not trusted). The given state is unchanged.
 */
export function createServer(
  state: ClusterState,
  request: ServerCreate,
  choice: HostChoice,
): Outcome<{ state: ClusterState; server: ServerRecord }, CreateServerError> {
  const issues = instanceIssues(request, "server")
  if (request.uuid === "") issues.push({ path: "server.uuid", message: "a non-empty uuid" })
  if (issues.length > 0) return err(invalidAll(issues))
  if (findServer(state, request.uuid) !== undefined) {
    return err(new AlreadyExists({ resource: "server", id: request.uuid }))
  }
  const hostName = typeof choice === "string" ? choice : choice.host
  const hostIndex = state.inventory.hostIndex.get(hostName)
  if (hostIndex === undefined) return err(new NotFound({ resource: "host", id: hostName }))
  const host = state.inventory.hosts[hostIndex]!
  if (host.status !== "up") {
    return err(new Conflict({ message: `host ${hostName} is ${host.status}` }))
  }
  if (request.zone !== undefined && host.zone !== request.zone) {
    return err(new Conflict({ message: `host ${hostName} is in zone ${host.zone}, ` +
      `not ${request.zone}` }))
  }
  if (request.pmemDevice !== undefined &&
    !host.pmemDevices.some((d) => d.name === request.pmemDevice)) {
    return err(new Conflict({ message: `host ${hostName} has no pmem device ` +
      `${request.pmemDevice}` }))
  }
  for (const id of request.groups) {
    const group = findGroup(state, id)
    if (group === undefined) return err(new NotFound({ resource: "server group", id }))
    if (group.members.length >= instanceLimits.groupMembersMax) {
      return err(invalid("server.groups", `groups of at most ${instanceLimits.groupMembersMax}`))
    }
    if (group.rule.startsWith("soft-")) continue
    const breach = hardRuleBreach(state.topology, group, memberHosts(state, group), hostIndex)
    if (breach !== undefined) return err(new Conflict({ message: `${hostName}: ${breach}` }))
  }
  const usage = usageAt(state, hostIndex)
  let assignment: HostAssignment
  if (typeof choice === "string") {
    const fit = fitOnHost(host, usage, request)
    if (!fit.fits) {
      const m = fit.misfit
      return err(quietly(() => new InsufficientCapacity({ resource: m.resource,
        requested: m.requested, free: m.free, capacity: m.capacity, host: hostName })))
    }
    assignment = fit.assignment
  } else {
    const problem = assignmentProblem(state, hostIndex, request, choice.assignment)
    if (problem !== undefined) return err(problem)
    assignment = choice.assignment
  }
  const devices = fitDevices(state.pci, state.pmem, host, request.uuid, request, assignment)
  if ("error" in devices) return err(devices.error)
  const server = serverRecordOf(request, hostName, hostIndex, assignment, devices.pciDevices,
    devices.pmemVolumes)
  return ok({ state: commitServer(state, server, devices.pci, devices.pmem), server })
}

const noDevices: ReadonlyArray<number> = []
const noVolumes: ReadonlyArray<string> = []

/**
 * The record of a placed server: the request's fields (every field of `ServerCreate`, an
 * optional one left out as undefined) and where it went, as one object literal: one shape for
 * every record, its fields in the object itself (an `Object.assign` copy kept most of them in a
 * separate property store, one more cache miss when a release reads a long-untouched record).
 */
function serverRecordOf(
  request: ServerCreate,
  host: string,
  hostIndex: number,
  assignment: HostAssignment,
  pciDevices: ReadonlyArray<number>,
  pmemVolumes: ReadonlyArray<string>,
): ServerRecord {
  return { kind: request.kind, uuid: request.uuid, tenant: request.tenant,
    flavor: request.flavor, vcluster: request.vcluster, vcpus: request.vcpus,
    ramMb: request.ramMb, disks: request.disks, numaCells: request.numaCells,
    groups: request.groups, pci: request.pci, pciNumaPolicy: request.pciNumaPolicy,
    pmem: request.pmem, zone: request.zone, pmemDevice: request.pmemDevice,
    host, hostIndex, assignment, pciDevices, pmemVolumes }
}

/** A group record with other members (its other fields as they were). */
const withMembers = (group: GroupRecord, members: ReadonlyArray<string>): GroupRecord =>
  ({ id: group.id, rule: group.rule, scope: group.scope, maxPerDomain: group.maxPerDomain,
    members })

/**
 * @internal The placement fast path's commit: `request` was validated, its host chosen by the
 * scan over this very state (status, zone, fit, PCI, hard rules) and fitted there (`assignment`,
 * and `devices` from `fitDevices` for this uuid, when it asks for any). Records it without
 * checking again; usage bounds are still asserted.
 */
export function commitPlaced(
  state: ClusterState,
  request: ServerCreate,
  hostIndex: number,
  assignment: HostAssignment,
  devices: { readonly pci: ClusterState["pci"]; readonly pmem: ClusterState["pmem"];
    readonly pciDevices: ReadonlyArray<number>; readonly pmemVolumes: ReadonlyArray<string> } |
    undefined,
): { state: ClusterState; server: ServerRecord } {
  const host = state.inventory.hosts[hostIndex]!
  if (host.status !== "up") throw new Error(`fast path chose ${host.name}, which is ${host.status}`)
  const server = serverRecordOf(request, host.name, hostIndex, assignment,
    devices?.pciDevices ?? noDevices, devices?.pmemVolumes ?? noVolumes)
  const next = devices === undefined ? commitServer(state, server, state.pci, state.pmem)
    : commitServer(state, server, devices.pci, devices.pmem)
  return { state: next, server }
}

function assignmentProblem(
  state: ClusterState,
  hostIndex: number,
  request: InstanceSpec,
  assignment: HostAssignment,
): InsufficientCapacity | BadRequest | undefined {
  const host = state.inventory.hosts[hostIndex]!
  if (assignment.disks.length !== request.disks.length) {
    return invalid("assignment.disks",
      `one placed disk per requested disk (${request.disks.length})`)
  }
  for (const [k, d] of assignment.disks.entries()) {
    const pool = host.diskPools[d.poolIndex]
    const want = request.disks[k]!
    if (pool === undefined || pool.name !== d.pool || d.sizeMb !== want.sizeMb ||
      !poolMatches(want, pool.name)) {
      return invalid(`assignment.disks[${k}]`, `a matching pool of ${host.name} of the disk's size`)
    }
  }
  const cellCount = request.numaCells ?? 0
  const cells = new Set(assignment.cells.map((c) => c.cellIndex))
  if (assignment.cells.length !== cellCount || cells.size !== cellCount ||
    assignment.cells.some((c) => c.cellIndex >= host.numaCells.length ||
      c.vcpus * cellCount !== request.vcpus || c.ramMb * cellCount !== request.ramMb)) {
    return invalid("assignment.cells", `${cellCount} distinct cells sharing the request evenly`)
  }
  const was = usageAt(state, hostIndex)
  const after = applyUsage(was, request, assignment, 1)
  const over = (resource: string, used: number, capacity: number, before: number) =>
    quietly(() => new InsufficientCapacity({ resource, requested: used - before,
      free: capacity - before, capacity, host: host.name }))
  if (after.vcpusUsed > host.vcpuCapacity) {
    return over("vcpus", after.vcpusUsed, host.vcpuCapacity, was.vcpusUsed)
  }
  if (after.ramMbUsed > host.ramCapacityMb) {
    return over("ramMb", after.ramMbUsed, host.ramCapacityMb, was.ramMbUsed)
  }
  for (const [p, pool] of host.diskPools.entries()) {
    if (after.diskUsedMb[p]! > pool.sizeMb) {
      return over(`disk:${pool.name}`, after.diskUsedMb[p]!, pool.sizeMb, was.diskUsedMb[p]!)
    }
  }
  for (let c = 0; c < host.numaCells.length; c++) {
    if (after.cellVcpusUsed[c]! > cellVcpuCapacity(host, c) ||
      after.cellRamMbUsed[c]! > cellRamCapacityMb(host, c)) {
      return over(`numa:${c}`, after.cellRamMbUsed[c]!, cellRamCapacityMb(host, c),
        was.cellRamMbUsed[c]!)
    }
  }
  return undefined
}

/** Releases everything a server or volume holds and removes it from its groups. */
export function deleteServer(
  state: ClusterState,
  uuid: string,
): Outcome<{ state: ClusterState; server: ServerRecord }, NotFound> {
  const server = findServer(state, uuid)
  if (server === undefined) return err(new NotFound({ resource: "server", id: uuid }))
  let groups = state.groups
  for (const id of server.groups) {
    const group = rmapGet(groups, id)
    if (group === undefined) throw new Error(`server ${uuid} is in unknown group ${id}`)
    groups = rmapSet(groups, id, withMembers(group, group.members.filter((m) => m !== uuid)))
  }
  let pci = state.pci
  if (server.pciDevices.length > 0) {
    const freed = freePci(pci, { instanceUuid: uuid })
    if (freed._tag === "Failure") throw new Error(`server ${uuid} lost its PCI devices`)
    pci = freed.success.state
  }
  const pmem = server.pmemVolumes.length > 0 ? releaseServer(state.pmem, uuid).state : state.pmem
  const next = withHostUsage(state, server.hostIndex,
    applyUsage(usageAt(state, server.hostIndex), server, server.assignment, -1),
    rmapRemove(state.servers, uuid), groups, pci, pmem)
  return ok({ state: next, server })
}

/** Records a server whose fit and rules were checked; the one place usage grows. */
function commitServer(
  state: ClusterState,
  server: ServerRecord,
  pci: ClusterState["pci"],
  pmem: ClusterState["pmem"],
): ClusterState {
  let groups = state.groups
  for (const id of server.groups) {
    const group = rmapGet(groups, id)!
    groups = rmapSet(groups, id, withMembers(group, [...group.members, server.uuid]))
  }
  const usage = applyUsage(usageAt(state, server.hostIndex), server, server.assignment, 1)
  return withHostUsage(state, server.hostIndex, usage,
    rmapSet(state.servers, server.uuid, server), groups, pci, pmem)
}

/**
 * The state after one host's usage changed, with its servers, groups and device accounting:
 * writes that host's usage into the usage vector (O(1)), rewrites it in the scan arrays and hands
 * them to the new state. Reads the scan's columns, not the host record (see `updateScanUsage`).
 * One object literal of the state's shape (no spreads on this path).
 */
function withHostUsage(
  state: ClusterState,
  hostIndex: number,
  hostUsage: HostUsage,
  servers: ClusterState["servers"],
  groups: ClusterState["groups"],
  pci: ClusterState["pci"],
  pmem: ClusterState["pmem"],
): ClusterState {
  const scan = scanOf(state)
  if (!usageWithin(scan, hostIndex, hostUsage)) {
    throw new Error(`usage of ${state.inventory.hosts[hostIndex]!.name} out of bounds: ` +
      JSON.stringify(hostUsage))
  }
  const next: ClusterState = {
    inventory: state.inventory,
    topology: state.topology,
    usage: withUsageAt(state.usage, hostIndex, hostUsage),
    servers,
    groups,
    pci,
    pmem,
    scan,
  }
  updateScanUsage(scan, hostIndex, hostUsage, pci)
  scan.owner = next
  return next
}

/** The state with other server groups (one object literal of the state's shape, no spread). */
function withGroupMap(state: ClusterState, groups: ClusterState["groups"]): ClusterState {
  const scan = scanOf(state)
  const next: ClusterState = { inventory: state.inventory, topology: state.topology,
    usage: state.usage, servers: state.servers, groups, pci: state.pci, pmem: state.pmem, scan }
  scan.owner = next
  return next
}
