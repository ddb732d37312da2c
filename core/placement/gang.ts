/**
 * Placing a request: one instance (one cycle, best host) or a gang, all or nothing. The gang
 * collapses host-scope hard-affinity groups into single items, orders items most constrained
 * first, and searches depth-first with backtracking over hosts best-scored first, skipping hosts
 * that are interchangeable with one already tried (same free resources, same domains where a
 * rule looks, no group members). Within the node budget the search is exhaustive, so a gang is
 * rejected only when no placement satisfies every hard rule, or the budget ran out (said so).
 */
import { antiAffinityOverflow } from "./capacity.ts"
import { type BadRequest, type NotFound, type Outcome, err, ok, quietly } from "../errors.ts"
import { createCluster } from "../cluster/state.ts"
import type { ClusterState, GroupRecord, HostAssignment } from "../cluster/types.ts"
import type { Inventory } from "../inventory/inventory.ts"
import { domainOf } from "../cluster/rules.ts"
import {
  bestCandidate,
  type CycleResult,
  emptyingFilter,
  filterCounts,
  rankCandidates,
  runFilters,
  scoreCandidates,
} from "./cycle.ts"
import { NoValidHost, rejectionReasons } from "./errors.ts"
import { type CycleInput, defaultWeights, type Policy, type Weights } from "./plugins.ts"
import { defaultScanKernel } from "../kernels/scan-select.ts"
import { placeFast, scanRejection } from "./fast.ts"
import { packable, packGang } from "./gang-pack.ts"
import { checkRequest, contradiction, type PlacementRequest, requestLimits, unmetTarget }
  from "./request.ts"
import {
  fitItem,
  type Item,
  itemOf,
  membersIn,
  type NamedInstance,
  place,
  type SearchView,
  unplace,
  usageIn,
  viewOf,
} from "./view.ts"

/** Where one instance goes. */
export interface Placement {
  readonly name: string
  readonly host: string
  readonly hostIndex: number
  readonly assignment: HostAssignment
}

/** A gang's placements (in request order) and how many hosts the search tried. */
export interface GangPlacement {
  readonly placements: ReadonlyArray<Placement>
  readonly nodes: number
}

/**
 * Places every instance of the request or none. Nothing is reserved: commit with
 * `schedule` (or `createServer` per placement). Deterministic: the same state and request give
 * the same placements.
 */
export function placeGang(
  state: ClusterState,
  request: PlacementRequest,
): Outcome<GangPlacement, NoValidHost | BadRequest | NotFound> {
  const fast = fastSingle(state, request)
  if (fast !== undefined) return ok({ placements: [fast], nodes: 1 })
  return placeGangSearched(state, request)
}

/**
 * `placeGang` without its first step, the fused scan of a single instance: for a caller whose
 * own fast path already tried the request with this state and found no placement.
 */
export function placeGangSearched(
  state: ClusterState,
  request: PlacementRequest,
): Outcome<GangPlacement, NoValidHost | BadRequest | NotFound> {
  const checked = checkRequest(state, request)
  if (checked._tag === "Failure") return err(checked.failure)
  const groups = checked.success
  const broken = contradiction(request.instances, groups)
  if (broken !== undefined) {
    return err(noValidHost({ code: "unresolvable", reason: rejectionReasons.contradictoryRules,
      filters: [], detail: broken }))
  }
  const unmet = unmetTarget(state, request.instances)
  if (unmet !== undefined) {
    const cycle = runFilters({ view: viewOf(state, groups), item: itemOf([unmet.instance]),
      policy: request.policy ?? "pack" })
    return err(noValidHost({ code: "unresolvable", reason: unmet.reason,
      instance: unmet.instance.name, filters: filterCounts(cycle), detail: unmet.detail }))
  }
  const overflow = antiAffinityOverflow(state, groups, request.instances)
  if (overflow !== undefined) {
    return err(noValidHost({ code: overflow.code, reason: rejectionReasons.antiAffinity,
      filters: [], detail: overflow.detail }))
  }
  const scanned = scanRejectionOf(state, request)
  if (scanned !== undefined) return err(scanned)
  const untargeted = request.instances.every((i) => i.zone === undefined &&
    i.pmemDevice === undefined)
  if (untargeted && packable(request)) {
    const packed = packGang(state, request)
    if (packed !== undefined) return ok({ placements: packed, nodes: 0 })
  }
  const outcome = search(state, groups, request)
  if (outcome.placements !== undefined) {
    return ok({ placements: outcome.placements, nodes: outcome.nodes })
  }
  return err(rejection(state, groups, request, outcome))
}

/** A rejection, built without a stack trace (`quietly`: it is an outcome, not a defect). */
const noValidHost = (props: ConstructorParameters<typeof NoValidHost>[0]): NoValidHost =>
  quietly(() => new NoValidHost(props))

/** Whether the fused scan may decide the request: one instance, no new groups. */
const scanDecides = (request: PlacementRequest): boolean =>
  request.instances.length === 1 && (request.groups?.length ?? 0) === 0 &&
  request.fastPath !== false && (request.nodeBudget === undefined || request.nodeBudget >= 1)

/** A single instance placed by the fused scan, or undefined for the general path. */
function fastSingle(state: ClusterState, request: PlacementRequest): Placement | undefined {
  if (!scanDecides(request)) return undefined
  const instance = request.instances[0]!
  const fast = placeFast(state, instance, request.policy ?? "pack",
    request.weights ?? defaultWeights, defaultScanKernel(), request.hostIndex !== false)
  if (fast === undefined) return undefined
  return { name: instance.name, host: state.inventory.hosts[fast.hostIndex]!.name,
    hostIndex: fast.hostIndex, assignment: fast.assignment }
}

/**
 * A single instance's rejection from the fused scan's counts (`scanRejection`: the general
 * path's answer at the cost of a scan or two), or undefined for the general path.
 */
function scanRejectionOf(state: ClusterState, request: PlacementRequest): NoValidHost | undefined {
  if (!scanDecides(request)) return undefined
  const instance = request.instances[0]!
  const r = scanRejection(state, instance, request.policy ?? "pack",
    request.weights ?? defaultWeights, emptyClusterOf(state.inventory))
  if (r === undefined) return undefined
  return noValidHost({ code: r.resolvable ? "unschedulable" : "unresolvable",
    reason: r.reason, filters: r.filters, instance: instance.name })
}

/** Places one instance: the best host by the policy's weighers (see `placeGang`). */
export function placeOne(
  state: ClusterState,
  instance: NamedInstance,
  options: { readonly policy?: Policy; readonly weights?: Weights; readonly groups?:
    PlacementRequest["groups"] } = {},
): Outcome<Placement, NoValidHost | BadRequest | NotFound> {
  const result = placeGang(state, { ...options, instances: [instance] })
  return result._tag === "Failure" ? err(result.failure) : ok(result.success.placements[0]!)
}

interface SearchOutcome {
  readonly placements: Placement[] | undefined
  readonly nodes: number
  readonly exhausted: boolean
  readonly deepest: { depth: number; item: Item; cycle: CycleResult } | undefined
  readonly itemCount: number
}

function search(
  state: ClusterState,
  groups: ReadonlyMap<string, GroupRecord>,
  request: PlacementRequest,
): SearchOutcome {
  const view = viewOf(state, groups)
  const items = orderItems(state, itemsOf(request.instances, groups))
  const policy = request.policy ?? "pack"
  const weights = request.weights ?? defaultWeights
  const budget = request.nodeBudget ?? (request.instances.length <= requestLimits.exactInstancesMax
    ? requestLimits.exactNodeBudget : requestLimits.largeNodeBudget)
  const chosen: Array<{ hostIndex: number; assignments: HostAssignment[] }> = []
  let nodes = 0
  let exhausted = false
  let deepest: SearchOutcome["deepest"]
  const symmetry = items.length > 1 ? symmetryOf(view, items) : undefined

  const descend = (depth: number): boolean => {
    if (depth === items.length) return true
    const item = items[depth]!
    const input: CycleInput = { view, item, policy }
    const cycle = runFilters(input)
    if (cycle.count === 0) {
      if (deepest === undefined || depth > deepest.depth) deepest = { depth, item, cycle }
      return false
    }
    const scores = scoreCandidates(input, cycle, weights)
    const order = depth === items.length - 1 && !item.devices ? [bestCandidate(cycle, scores)]
      : rankCandidates(cycle, scores)
    const seen = new Set<string>()
    for (const position of order) {
      const hostIndex = cycle.candidates[position]!
      if (symmetry !== undefined) {
        const key = symmetry(hostIndex)
        if (seen.has(key)) continue
        seen.add(key)
      }
      if (nodes >= budget) { exhausted = true; return false }
      nodes++
      const fit = fitItem(view, hostIndex, item, true)
      if (!fit.fits) {
        if (!item.devices) throw new Error(`host ${hostIndex} passed the filters but does not fit`)
        continue
      }
      const undo = place(view, hostIndex, item, fit)
      chosen[depth] = { hostIndex, assignments: fit.assignments }
      if (descend(depth + 1)) return true
      unplace(view, item, undo)
      if (exhausted) return false
    }
    return false
  }

  const found = descend(0)
  const placements = found ? placementsOf(state, request, items, chosen) : undefined
  return { placements, nodes, exhausted, deepest, itemCount: items.length }
}

function placementsOf(
  state: ClusterState,
  request: PlacementRequest,
  items: ReadonlyArray<Item>,
  chosen: ReadonlyArray<{ hostIndex: number; assignments: HostAssignment[] }>,
): Placement[] {
  const byName = new Map<string, Placement>()
  items.forEach((item, k) => {
    const { hostIndex, assignments } = chosen[k]!
    item.members.forEach((m, j) => {
      byName.set(m.name, { name: m.name, host: state.inventory.hosts[hostIndex]!.name, hostIndex,
        assignment: assignments[j]! })
    })
  })
  return request.instances.map((inst) => byName.get(inst.name)!)
}

/** Collapses members of host-scope hard-affinity groups into one item each. */
function itemsOf(
  instances: ReadonlyArray<NamedInstance>,
  groups: ReadonlyMap<string, GroupRecord>,
): Item[] {
  const parent = instances.map((_, k) => k)
  const root = (k: number): number => (parent[k] === k ? k : root(parent[k]!))
  for (const g of groups.values()) {
    if (g.rule !== "affinity" || g.scope !== "host") continue
    let first = -1
    instances.forEach((inst, k) => {
      if (!inst.groups.includes(g.id)) return
      if (first < 0) first = k
      else parent[root(k)] = root(first)
    })
  }
  const byRoot = new Map<number, NamedInstance[]>()
  instances.forEach((inst, k) => {
    const list = byRoot.get(root(k)) ?? []
    list.push(inst)
    byRoot.set(root(k), list)
  })
  return [...byRoot.values()].map(itemOf)
}

/** Most constrained first: more hard groups, then larger (relative to the largest host). */
function orderItems(state: ClusterState, items: Item[]): Item[] {
  if (items.length <= 1) return items
  let maxVcpus = 1
  let maxRamMb = 1
  for (const h of state.inventory.hosts) {
    maxVcpus = Math.max(maxVcpus, h.vcpuCapacity)
    maxRamMb = Math.max(maxRamMb, h.ramCapacityMb)
  }
  const hardCount = (item: Item) => [...item.groupCounts.keys()].length
  const size = (item: Item) => item.vcpus / maxVcpus + item.ramMb / maxRamMb +
    item.members.reduce((s, m) => s + m.disks.reduce((t, d) => t + d.sizeMb, 0), 0) / 1e9
  const keyed = items.map((item, k) => ({ item, k, hard: hardCount(item), size: size(item) }))
  keyed.sort((a, b) => b.hard - a.hard || b.size - a.size || a.k - b.k)
  return keyed.map((x) => x.item)
}

/**
 * A key per host such that two hosts with equal keys are interchangeable for the rest of the
 * search: same free resources and pools and cells, same rack/zone where a hard rule of that scope
 * looks, and no member of a host-scope hard group on either (those hosts key by their index).
 */
function symmetryOf(view: SearchView, items: ReadonlyArray<Item>): (hostIndex: number) => string {
  const hard = new Set<GroupRecord>()
  for (const item of items) {
    for (const id of item.groupCounts.keys()) {
      const g = view.groups.get(id)!
      if (g.rule === "affinity" || g.rule === "anti-affinity") hard.add(g)
    }
  }
  const scopes = new Set([...hard].map((g) => g.scope))
  const hostScoped = [...hard].filter((g) => g.scope === "host").map((g) => g.id)
  const devices = items.some((item) => item.devices)
  const zoned = items.some((item) => item.zones.length > 0)
  const pmemNamed = items.some((item) => item.pmemDevices.length > 0)
  return (hostIndex) => {
    const host = view.state.inventory.hosts[hostIndex]!
    if (devices && (host.pciDevices.length > 0 || host.pmemDevices.length > 0)) {
      return `#${hostIndex}`
    }
    if (hostScoped.some((id) => membersIn(view, id).includes(hostIndex))) return `#${hostIndex}`
    const u = usageIn(view, hostIndex)
    const pools = host.diskPools.map((p, k) => `${p.name}=${p.sizeMb - u.diskUsedMb[k]!}`)
    const cells = host.numaCells.map((c, k) => `${c.cpus}:${c.ramMb}:${c.dramPmemMb}:` +
      `${u.cellVcpusUsed[k]}:${u.cellRamMbUsed[k]}`)
    const topo = view.state.topology
    return [host.vcpuCapacity - u.vcpusUsed, host.ramCapacityMb - u.ramMbUsed,
      host.cpuAllocationRatio, host.ramAllocationRatio, pools.join(","), cells.join(","),
      scopes.has("rack") ? domainOf(topo, "rack", hostIndex) : "",
      scopes.has("zone") || zoned ? domainOf(topo, "zone", hostIndex) : "",
      pmemNamed ? host.pmemDevices.map((d) => d.name).join(",") : ""].join("|")
  }
}

function rejection(
  state: ClusterState,
  groups: ReadonlyMap<string, GroupRecord>,
  request: PlacementRequest,
  outcome: SearchOutcome,
): NoValidHost {
  const deepest = outcome.deepest
  const filters = deepest === undefined ? [] : filterCounts(deepest.cycle)
  const instance = deepest?.item.members.map((m) => m.name).join("+")
  const base = instance === undefined ? {} : { instance }
  if (outcome.exhausted) {
    return noValidHost({ code: "unschedulable", reason: rejectionReasons.nodeBudgetExhausted,
      filters, ...base, detail: `the search tried ${outcome.nodes} hosts without a placement` })
  }
  if (state.inventory.hosts.length === 0) {
    return noValidHost({ code: "unresolvable", reason: rejectionReasons.noHosts, filters })
  }
  const reason = deepest === undefined ? rejectionReasons.noCombination
    : deepest.depth === 0 ? emptyingFilter(deepest.cycle)! : emptyingFilter(deepest.cycle)!
  const detail = deepest === undefined || deepest.depth === 0 ? undefined
    : `no host left after placing ${deepest.depth} of ${outcome.itemCount} items`
  const code = resolvableWhenEmpty(state, groups, request) ? "unschedulable" : "unresolvable"
  return noValidHost({ code, reason, filters, ...base,
    ...(detail === undefined ? {} : { detail }) })
}

/** Whether the request fits the same inventory with every host up and empty. */
function resolvableWhenEmpty(
  state: ClusterState,
  groups: ReadonlyMap<string, GroupRecord>,
  request: PlacementRequest,
): boolean {
  const empty = emptyClusterOf(state.inventory)
  const fresh = new Map([...groups].map(([id, g]) => [id, { ...g, members: [] }]))
  const outcome = search(empty, fresh, request)
  return outcome.placements !== undefined || outcome.exhausted
}

const emptyClusters = new WeakMap<Inventory, ClusterState>()

/** The inventory's cluster with every host up and empty; built once per inventory. */
function emptyClusterOf(inventory: Inventory): ClusterState {
  const known = emptyClusters.get(inventory)
  if (known !== undefined) return known
  const hosts = inventory.hosts.map((h) => (h.status === "up" ? h : { ...h, status: "up" as const }))
  const empty = createCluster({ ...inventory, hosts })
  emptyClusters.set(inventory, empty)
  return empty
}
