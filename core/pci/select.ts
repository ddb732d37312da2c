/**
 * The one decision: which devices of a host satisfy a list of requests. `claimOnHost` checks and
 * consumes in a single pass over a copy-on-write batch, so the feasibility query (`pciFits`), a
 * dry run and a real claim are literally the same computation (Nova keeps three near-copies of
 * this logic in `nova/pci/stats.py`; they drift apart).
 *
 * Per request: pools matching any alternative of the spec; PF pools only when an alternative asks
 * for `type-PF` (a generic request must not eat a whole PF, as in Nova); then the NUMA policy;
 * then devices are taken pool by pool (NUMA-affine pools first, VFs and plain devices before PFs)
 * and, within a pool, lowest address order first, which packs VFs onto PFs already in use.
 */
import { Result } from "effect"
import { InsufficientCapacity, quietly } from "../errors.ts"
import type { PciHostLayout } from "./layout.ts"
import type { PciNumaPolicy, PciRequest, PciSpec } from "./request.ts"
import { hostMatchOf, poolsMatching } from "./specs.ts"
import { HostWork, type HostUsage, useAt } from "./state.ts"

/** The NUMA side of a claim: the policy and the host cells the instance's NUMA cells sit on. */
export interface PciNuma {
  readonly numaPolicy?: PciNumaPolicy
  readonly instanceNumaCells?: ReadonlyArray<number>
}

const noCells: ReadonlyArray<number> = []

/** What one host decided: its new usage and the devices taken, in request order. */
export interface HostDecision {
  readonly usage: HostUsage
  readonly taken: ReadonlyArray<number>
}

/** Pools of `layout` a request's spec may draw from, NUMA aside, in pool order (memoised). */
export function matchingPools(layout: PciHostLayout, spec: ReadonlyArray<PciSpec>):
  ReadonlyArray<number> {
  return poolsMatching(layout, spec)
}

/** Candidate pools after the NUMA policy, best first, and how many devices they offer now. */
interface Candidates {
  readonly pools: ReadonlyArray<number>
  readonly free: number
}

/** Free-count source: a batch in progress. */
interface FreeCounts {
  freeOf(pool: number): number
}

function sum(pools: ReadonlyArray<number>, free: FreeCounts): number {
  let total = 0
  for (let i = 0; i < pools.length; i++) total += free.freeOf(pools[i]!)
  return total
}

/** Which of `pools` sit on one of `nodes` (null: those with no NUMA node). */
function onNodes(layout: PciHostLayout, pools: ReadonlyArray<number>,
  nodes: ReadonlyArray<number> | null, exclude: ReadonlyArray<number>): number[] {
  const out: number[] = []
  for (const p of pools) {
    const n = layout.pools[p]!.numaNode
    if (nodes === null ? n !== null : n === null || !nodes.includes(n)) continue
    if (n !== null && exclude.includes(n)) continue
    out.push(p)
  }
  return out
}

/** Applies Nova's NUMA affinity policies to `pools` (see `PciNumaPolicy`). */
export function numaCandidates(layout: PciHostLayout, pools: ReadonlyArray<number>,
  count: number, policy: PciNumaPolicy, cells: ReadonlyArray<number>,
  free: FreeCounts): Candidates {
  if (cells.length === 0) return { pools: byTypeRank(layout, pools), free: sum(pools, free) }
  const affine = onNodes(layout, pools, cells, [])
  const affineFree = sum(affine, free)
  if (policy === "required" || affineFree >= count) {
    return { pools: byTypeRank(layout, affine), free: affineFree }
  }
  if (policy === "socket") {
    const sockets = cells.map((c) => layout.cellSocket.get(c))
    const sameSocket = [...layout.cellSocket].filter(([, s]) => sockets.includes(s))
      .map(([cell]) => cell)
    const near = onNodes(layout, pools, sameSocket, cells)
    const ordered = [...byTypeRank(layout, affine), ...byTypeRank(layout, near)]
    return { pools: ordered, free: affineFree + sum(near, free) }
  }
  const unknown = onNodes(layout, pools, null, [])
  const legacy = [...byTypeRank(layout, affine), ...byTypeRank(layout, unknown)]
  const legacyFree = affineFree + sum(unknown, free)
  if (policy === "legacy" || legacyFree >= count) return { pools: legacy, free: legacyFree }
  const rest = pools.filter((p) => !legacy.includes(p))
  return { pools: [...legacy, ...byTypeRank(layout, rest)], free: legacyFree + sum(rest, free) }
}

/** Plain devices and VFs before PFs (a PF costs all its VFs); stable otherwise. */
function byTypeRank(layout: PciHostLayout, pools: ReadonlyArray<number>): ReadonlyArray<number> {
  let pfs = 0
  for (const p of pools) if (layout.pools[p]!.devType === "type-PF") pfs++
  if (pfs === 0 || pfs === pools.length) return pools
  const out: number[] = []
  for (const p of pools) if (layout.pools[p]!.devType !== "type-PF") out.push(p)
  for (const p of pools) if (layout.pools[p]!.devType === "type-PF") out.push(p)
  return out
}

/** The name a report counts a request under: its alias, else `pci:<vendor>:<product>`. */
export function resourceOf(request: PciRequest): string {
  if (request.alias !== undefined) return request.alias
  const alt = request.spec[0] ?? {}
  const vendor = alt["vendor_id"]
  const product = alt["product_id"]
  if (vendor !== undefined && product !== undefined) return `pci:${vendor}:${product}`
  const keys = Object.keys(alt).sort().map((k) => `${k}=${alt[k]}`)
  return `pci:${keys.join(",")}`
}

/**
 * Decides and consumes `requests` on one host for `holder`. Requests are met in order, each from
 * what the earlier ones left. On success: the host's new usage (`usage` itself for a dry run) and
 * the devices taken; on failure, InsufficientCapacity for the first request that cannot be met
 * (usage untouched).
 */
export function claimOnHost(layout: PciHostLayout, usage: HostUsage, holder: string,
  requests: ReadonlyArray<PciRequest>, numa: PciNuma, dryRun = false):
  Result.Result<HostDecision, InsufficientCapacity> {
  const decided = decideOnHost(layout, usage, holder, requests, numa, dryRun)
  if (decided instanceof Shortfall) return Result.fail(shortfallError(layout, usage, decided))
  return Result.succeed(decided)
}

/** Which request failed, with its matching pools and the devices its NUMA policy allowed. */
export class Shortfall {
  constructor(readonly request: PciRequest, readonly matching: ReadonlyArray<number>,
    readonly free: number) {}
}

/**
 * `claimOnHost`'s decision without the error value: the decision, or the first request's
 * shortfall (usage untouched). A feasibility check uses it and never builds an error (an Effect
 * tagged error captures a stack: tens of microseconds).
 */
export function decideOnHost(layout: PciHostLayout, usage: HostUsage, holder: string,
  requests: ReadonlyArray<PciRequest>, numa: PciNuma, dryRun: boolean, allocated = false):
  HostDecision | Shortfall {
  const work = new HostWork(layout, usage)
  let decided: number[] | Shortfall
  try {
    decided = decide(work, layout, holder, requests, numa, allocated)
  } catch (bug) {
    work.abort()
    throw bug
  }
  if (decided instanceof Shortfall) {
    work.abort()
    return decided
  }
  return { usage: dryRun ? work.abort() : work.done(), taken: decided }
}

/** The InsufficientCapacity a shortfall on `layout` (in state `usage`) is reported as. */
export function shortfallError(layout: PciHostLayout, usage: HostUsage, failed: Shortfall):
  InsufficientCapacity {
  return quietly(() => new InsufficientCapacity({
    resource: resourceOf(failed.request), requested: failed.request.count,
    free: failed.free, capacity: capacityOf(layout, usage, failed.matching), host: layout.name,
  }))
}

/**
 * Consumes `requests` in the batch: the devices taken (claimed, or allocated when `allocated`),
 * or the first request's shortfall.
 */
function decide(work: HostWork, layout: PciHostLayout, holder: string,
  requests: ReadonlyArray<PciRequest>, numa: PciNuma, allocated: boolean): number[] | Shortfall {
  const cells = numa.instanceNumaCells ?? noCells
  const taken: number[] = []
  for (let r = 0; r < requests.length; r++) {
    const request = requests[r]!
    const match = hostMatchOf(layout, request.spec)
    let pools: ReadonlyArray<number>
    let free: number
    if (cells.length === 0) {
      // No NUMA cells: every matching pool, in taking order, with no array built.
      pools = match.ranked
      free = sum(match.pools, work)
    } else {
      const policy = request.numaPolicy ?? numa.numaPolicy ?? "legacy"
      const candidates = numaCandidates(layout, match.pools, request.count, policy, cells, work)
      pools = candidates.pools
      free = candidates.free
    }
    let needed = free >= request.count ? request.count : 0
    for (let i = 0; i < pools.length && needed > 0; i++) {
      const p = pools[i]!
      while (needed > 0) {
        const d = work.firstAvailable(p)
        if (d < 0) break
        if (allocated) work.claimAllocated(d, holder)
        else work.claim(d, holder)
        taken.push(d)
        needed--
      }
    }
    if (free < request.count || needed > 0) return new Shortfall(request, match.pools, free)
  }
  return taken
}

/** Devices of `pools` that exist (are not removed), whatever their use. */
function capacityOf(layout: PciHostLayout, usage: HostUsage, pools: ReadonlyArray<number>): number {
  let total = 0
  for (const p of pools) {
    for (const d of layout.pools[p]!.members) {
      if (useAt(usage, d).status !== "removed") total++
    }
  }
  return total
}
