/**
 * One placement cycle for one item: filter every host (the resource filters fused over the scan
 * arrays, then the filter plugins), then weigh the survivors and pick the best, lowest host index
 * on ties. Pure over the view; the buffers it returns are its own.
 */
import type { FitResource } from "../cluster/fit.ts"
import { type FilterCount, type FilterName, filterNames } from "./errors.ts"
import {
  type CycleInput,
  defaultWeights,
  filterPlugins,
  specialHardwareOf,
  weigherPlugins,
  type Weights,
} from "./plugins.ts"
import { fitItem } from "./view.ts"

/** Every filter in the order it runs (the index into `CycleResult.removed`). */
export const filterOrder: ReadonlyArray<FilterName> = [
  filterNames.hostStatus,
  filterNames.availabilityZone,
  filterNames.vcpu,
  filterNames.ram,
  filterNames.diskPool,
  filterNames.numa,
  filterNames.pci,
  filterNames.pmem,
  filterNames.affinity,
  filterNames.antiAffinity,
]

const zoneAt = filterOrder.indexOf(filterNames.availabilityZone)
const vcpuAt = filterOrder.indexOf(filterNames.vcpu)
const ramAt = filterOrder.indexOf(filterNames.ram)

/**
 * The zone id (`topology.zoneNames` index) every host must have for an item: -1 when the item
 * asks for no zone, -2 when no host can match (an unknown zone, or members in two zones).
 */
export function itemZoneId(zoneNames: ReadonlyArray<string>, zones: ReadonlyArray<string>): number {
  if (zones.length === 0) return -1
  if (zones.length > 1) return -2
  const id = zoneNames.indexOf(zones[0]!)
  return id < 0 ? -2 : id
}

const misfitFilter: Record<FitResource, number> = {
  vcpus: filterOrder.indexOf(filterNames.vcpu),
  ramMb: filterOrder.indexOf(filterNames.ram),
  disk: filterOrder.indexOf(filterNames.diskPool),
  numa: filterOrder.indexOf(filterNames.numa),
  pci: filterOrder.indexOf(filterNames.pci),
  pmem: filterOrder.indexOf(filterNames.pmem),
}

/** The hosts that passed every filter, and how many each filter removed. */
export interface CycleResult {
  /** Passing host indexes, ascending, in `candidates[0 .. count)`. */
  readonly candidates: Int32Array
  readonly count: number
  /** Hosts removed by each filter of `filterOrder`. */
  readonly removed: Int32Array
  readonly total: number
}

/** Runs every filter over every host. */
export function runFilters(input: CycleInput): CycleResult {
  const { view, item } = input
  const scan = view.scan
  const hostCount = view.state.inventory.hosts.length
  const candidates = new Int32Array(hostCount)
  const removed = new Int32Array(filterOrder.length)
  const active: Array<{ filter: (i: number) => boolean; at: number }> = []
  for (const plugin of filterPlugins) {
    const filter = plugin.prepare(input)
    if (filter !== undefined) active.push({ filter, at: filterOrder.indexOf(plugin.name) })
  }
  const { up, freeVcpus, freeRamMb } = scan
  const { touched } = view
  const needVcpus = item.vcpus
  const needRamMb = item.ramMb
  const zone = itemZoneId(view.state.topology.zoneNames, item.zones)
  const zoneOf = view.state.topology.zoneOf
  let count = 0
  hosts: for (let i = 0; i < hostCount; i++) {
    if (up[i] === 0) { removed[0]!++; continue }
    if (zone !== -1 && zoneOf[i] !== zone) { removed[zoneAt]!++; continue }
    if (touched[i] === 1 || item.detailed) {
      const fit = fitItem(view, i, item, false)
      if (!fit.fits) { removed[misfitFilter[fit.misfit.resource]]!++; continue }
    } else {
      if (freeVcpus[i]! < needVcpus) { removed[vcpuAt]!++; continue }
      if (freeRamMb[i]! < needRamMb) { removed[ramAt]!++; continue }
    }
    for (const a of active) if (!a.filter(i)) { removed[a.at]!++; continue hosts }
    candidates[count++] = i
  }
  return { candidates, count, removed, total: hostCount }
}

/** Per-filter counts (`hostsIn` → `hostsOut`), Nova's "Filter X returned N hosts" as data. */
export function filterCounts(result: Pick<CycleResult, "total" | "removed">): FilterCount[] {
  const counts: FilterCount[] = []
  let remaining = result.total
  filterOrder.forEach((filter, k) => {
    const out = remaining - result.removed[k]!
    counts.push({ filter, hostsIn: remaining, hostsOut: out })
    remaining = out
  })
  return counts
}

/** The filter that removed the last hosts (the reason a cycle with no candidates gives). */
export function emptyingFilter(result: Pick<CycleResult, "count" | "removed">)
  : FilterName | undefined {
  if (result.count > 0) return undefined
  for (let k = filterOrder.length - 1; k >= 0; k--) if (result.removed[k]! > 0) return filterOrder[k]
  return undefined
}

/**
 * Scores of the candidates (aligned with `candidates`): each active weigher's raw scores
 * normalised to [0, 1] over the candidates (all 0 when they are equal), times its multiplier.
 */
export function scoreCandidates(
  input: CycleInput,
  result: CycleResult,
  weights: Weights = defaultWeights,
): Float64Array {
  const scores = new Float64Array(result.count)
  if (input.view.overlay.size === 0 && onlyResourceWeigher(input, weights)) {
    resourceScoresInto(input, result, weights.policy, scores)
    addSpecialHardwareScores(input, result, weights, scores)
    return scores
  }
  const raw = new Float64Array(result.count)
  for (const [weigher, key] of weigherPlugins) {
    const multiplier = weights[key] ?? defaultWeights[key] ?? 0
    if (multiplier === 0) continue
    const score = weigher.prepare(input)
    if (score === undefined) continue
    let min = Infinity
    let max = -Infinity
    for (let k = 0; k < result.count; k++) {
      const v = score(result.candidates[k]!)
      raw[k] = v
      if (v < min) min = v
      if (v > max) max = v
    }
    if (max === min) continue
    const scale = multiplier / (max - min)
    for (let k = 0; k < result.count; k++) scores[k] = scores[k]! + (raw[k]! - min) * scale
  }
  return scores
}

/** Position in `candidates` of the best score; the lowest host index wins ties. */
export function bestCandidate(result: CycleResult, scores: Float64Array): number {
  if (result.count === 0) throw new Error("bestCandidate of an empty cycle")
  let best = 0
  for (let k = 1; k < result.count; k++) if (scores[k]! > scores[best]!) best = k
  return best
}

/** Candidate positions ordered best first (ties by host index). */
export function rankCandidates(result: CycleResult, scores: Float64Array): number[] {
  const order = Array.from({ length: result.count }, (_, k) => k)
  return order.sort((a, b) => scores[b]! - scores[a]! || a - b)
}

function onlyResourceWeigher(input: CycleInput, weights: Weights): boolean {
  for (const id of input.item.groupCounts.keys()) {
    const rule = input.view.groups.get(id)!.rule
    if (rule === "soft-affinity" && weights.softAffinity !== 0) return false
    if (rule === "soft-anti-affinity" && weights.softAntiAffinity !== 0) return false
  }
  return true
}

/**
 * The fast path's second weigher: when the special-hardware weigher applies, normalises the
 * resource scores in `out` to [0, policy] and adds the special-hardware term normalised to
 * [0, specialHardware], as the general path would. Two passes over the candidates, no closures.
 */
function addSpecialHardwareScores(
  input: CycleInput,
  result: CycleResult,
  weights: Weights,
  out: Float64Array,
): void {
  const multiplier = weights.specialHardware ?? defaultWeights.specialHardware ?? 0
  if (input.item.devices || multiplier === 0) return
  const special = specialHardwareOf(input.view.state.inventory)
  if (special === undefined) return
  let sMin = Infinity
  let sMax = -Infinity
  let rMin = Infinity
  let rMax = -Infinity
  for (let k = 0; k < result.count; k++) {
    const v = -special[result.candidates[k]!]!
    if (v < sMin) sMin = v
    if (v > sMax) sMax = v
    const r = out[k]!
    if (r < rMin) rMin = r
    if (r > rMax) rMax = r
  }
  if (sMax === sMin) return
  const rScale = rMax === rMin ? 0 : Math.abs(weights.policy) / (rMax - rMin)
  const sScale = multiplier / (sMax - sMin)
  for (let k = 0; k < result.count; k++) {
    out[k] = (out[k]! - rMin) * rScale + (-special[result.candidates[k]!]! - sMin) * sScale
  }
}

/**
 * The resource weigher alone, over the scan arrays in one loop (core/kernels/scan-reference.ts
 * and the WebAssembly scan compute the same sums, term by term, so the fast path agrees).
 * Normalisation is skipped: with one weigher it does not change the order, only the scale.
 */
function resourceScoresInto(
  input: CycleInput,
  result: CycleResult,
  multiplier: number,
  out: Float64Array,
): void {
  const { freeVcpus, freeRamMb, vcpuCapacityInv, ramCapacityInv } = input.view.scan
  const sign = (input.policy === "pack" ? 1 : -1) * Math.sign(multiplier)
  const { vcpus, ramMb } = input.item
  for (let k = 0; k < result.count; k++) {
    const i = result.candidates[k]!
    out[k] = sign * (2 - (freeVcpus[i]! - vcpus) * vcpuCapacityInv[i]! -
      (freeRamMb[i]! - ramMb) * ramCapacityInv[i]!)
  }
}
