/**
 * Vector packing for rule-free gangs in `pack` mode: the cheapest set of hosts, where by default
 * a host already in use costs nothing and a new one costs 1 (`binCost` sets other costs).
 *
 * Several constructions run (`pack-construct.ts`: bin-centric dot product, a bin-centric
 * knapsack fill, first fit decreasing by two size measures); the improvement phase
 * (`pack-search.ts`, emptying paying bins one at a time by swaps with a pool) runs from each,
 * cheapest first, then from more knapsack fills (unit, then perturbed dimension weights from a
 * seeded generator) while its budget lasts. A lower bound (`pack-bound.ts`) stops the work as
 * soon as it is reached. Every step is bounded by a count of fit checks, never by time, so the
 * same input always gives the same answer.
 */
import { costLowerBound } from "./pack-bound.ts"
import {
  decreasing,
  demandWeights,
  dotProductFill,
  firstFitDecreasing,
  knapsackFill,
  weightedNorms,
} from "./pack-construct.ts"
import { improve } from "./pack-search.ts"
import { mulberry32 } from "../random.ts"
import { binOrder, type PackProblem, PackState, problemOf } from "./pack-state.ts"

/** Bounds of the packer. */
export const packLimits = {
  /** Moves considered and fit checks the improvement phase may make, over all its starts. */
  evaluationBudget: 250_000,
  /** Starts from perturbed knapsack fills after the fixed constructions, budget permitting. */
  extraStartsMax: 16,
} as const

/** A packing problem over `dims` resource dimensions. */
export interface VectorPackInput {
  readonly dims: number
  /** Free amount per host and dimension, `bin * dims + d` (below 0 on an overcommitted host). */
  readonly binFree: Float64Array
  /** 1 for a host already in use (using it costs nothing). */
  readonly binOpen: Uint8Array
  /**
   * What putting anything on each host costs; by default 0 for a host in use and 1 for the
   * others. A dearer host is used only when that saves more than it costs, and emptied first.
   */
  readonly binCost?: Float64Array
  /** Demand per item and dimension, `item * dims + d`. */
  readonly itemSize: Float64Array
  /** Overrides `packLimits.evaluationBudget`. */
  readonly evaluationBudget?: number
}

/** What the packer found: the host of every item, the cost, and the lower bound it proved. */
export interface VectorPacking {
  readonly assign: Int32Array
  readonly cost: number
  readonly lowerBound: number
}

/** The host of every item, or undefined when the construction could not place them all. */
export function packVectors(input: VectorPackInput): Int32Array | undefined {
  return packVectorsDetailed(input)?.assign
}

/** `packVectors` with the cost of the answer and the lower bound beside it. */
export function packVectorsDetailed(input: VectorPackInput): VectorPacking | undefined {
  const p = problemOf(input.dims, input.binFree.slice(), costsOf(input), input.itemSize.slice())
  const lowerBound = costLowerBound(p)
  const starts = construct(p, lowerBound)
  if (starts.length === 0) return undefined
  // Improve the cheapest construction, then the others while budget remains (small problems
  // spend little on one start): different starts end in different local optima.
  let best = starts[0]!
  let spent = 0
  const budget = input.evaluationBudget ?? packLimits.evaluationBudget
  for (const start of starts) {
    if (best.cost() <= lowerBound || spent >= budget) break
    spent += improve(start, lowerBound, budget - spent)
    if (start.cost() < best.cost()) best = start
  }
  // Budget left (a small problem): more starts from knapsack fills, first with all dimensions
  // weighing the same, then with perturbed demand weights.
  const random = mulberry32(0x5eed)
  const base = demandWeights(p)
  const order = binOrder(p)
  for (let k = 0; k < packLimits.extraStartsMax; k++) {
    if (best.cost() <= lowerBound || spent >= budget) break
    const weights = k === 0 ? new Float64Array(p.dims).fill(1)
      : base.map((w) => w * (0.6 + 0.8 * random()))
    const start = new PackState(p)
    spent += p.items * p.dims * 20 // a fill's fit checks, roughly, so starts alone end too
    if (!knapsackFill(start, order, weights)) continue
    spent += improve(start, lowerBound, budget - spent)
    if (start.cost() < best.cost()) best = start
  }
  assertValid(best)
  return { assign: best.assign, cost: best.cost(), lowerBound }
}

function costsOf(input: VectorPackInput): Float64Array {
  const { dims, binFree, binOpen, itemSize, binCost } = input
  const bins = binOpen.length
  if (!Number.isInteger(dims) || dims < 1) throw new Error(`dims: a positive integer, not ${dims}`)
  if (binFree.length !== bins * dims) {
    throw new Error(`binFree: ${bins} hosts x ${dims} dimensions, not ${binFree.length} values`)
  }
  if (itemSize.length % dims !== 0) {
    throw new Error(`itemSize: a multiple of ${dims} values, not ${itemSize.length}`)
  }
  if (binCost !== undefined && binCost.length !== bins) {
    throw new Error(`binCost: one value per host (${bins}), not ${binCost.length}`)
  }
  const broken = binFree.findIndex((v) => !Number.isFinite(v))
  if (broken >= 0) {
    throw new Error(`binFree[${broken}]: a finite number, not ${binFree[broken]}`)
  }
  for (const [field, values] of [["itemSize", itemSize],
    ["binCost", binCost ?? new Float64Array(0)]] as const) {
    const at = values.findIndex((v) => !Number.isFinite(v) || v < 0)
    if (at >= 0) throw new Error(`${field}[${at}]: a finite number >= 0, not ${values[at]}`)
  }
  return binCost?.slice() ?? Float64Array.from({ length: bins }, (_, b) => binOpen[b] === 1 ? 0 : 1)
}

/**
 * The constructions that place every item, cheapest first (ties in construction order); only
 * the first when it reaches the lower bound.
 */
function construct(p: PackProblem, lowerBound: number): PackState[] {
  const order = binOrder(p)
  const builds: ReadonlyArray<(s: PackState) => boolean> = [
    (s) => dotProductFill(s, order),
    (s) => knapsackFill(s, order, demandWeights(p)),
    (s) => firstFitDecreasing(s, order, decreasing(weightedNorms(p))),
    (s) => firstFitDecreasing(s, order, decreasing(p.weight)),
  ]
  const states: PackState[] = []
  for (const build of builds) {
    const s = new PackState(p)
    if (!build(s)) continue
    if (s.cost() <= lowerBound) return [s]
    states.push(s)
  }
  const costs = states.map((s) => s.cost())
  return states.map((s, k) => ({ s, k })).sort((a, b) => costs[a.k]! - costs[b.k]! || a.k - b.k)
    .map(({ s }) => s)
}

/** Every item in a bin, no bin holding items over its capacity: a broken packing is a bug. */
function assertValid(s: PackState): void {
  const p = s.p
  for (let i = 0; i < p.items; i++) {
    if (s.assign[i]! < 0) throw new Error(`packer left item ${i} unplaced`)
  }
  const used = new Float64Array(p.bins * p.dims)
  for (let i = 0; i < p.items; i++) {
    const b = s.assign[i]!
    for (let d = 0; d < p.dims; d++) used[b * p.dims + d] += p.itemSize[i * p.dims + d]!
  }
  for (let k = 0; k < used.length; k++) {
    if (s.members[Math.floor(k / p.dims)]!.length === 0) continue
    if (used[k]! > p.binFree[k]! + 1e-9 * Math.max(1, Math.abs(p.binFree[k]!))) {
      throw new Error(`packer overfills bin ${Math.floor(k / p.dims)} in dimension ${k % p.dims}`)
    }
  }
}
