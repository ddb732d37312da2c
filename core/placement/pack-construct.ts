/**
 * Constructions of the vector packer: each fills a cleared `PackState` from scratch and returns
 * whether every item found a bin. The packer runs several and keeps the cheapest (`pack.ts`).
 *
 * - `dotProductFill`: bin-centric, fills one bin at a time with the fitting item of the highest
 *   dot product between its size and the bin's free capacity, dimensions weighted by the demand
 *   still unplaced (Panigrahy et al.'s DotProduct with dynamic average weights, the best single
 *   heuristic of Mommessin et al. on their "New" instances).
 * - `firstFitDecreasing`: item-centric, items by decreasing key into the first bin that fits.
 * - `knapsackFill`: bin-centric, the largest unplaced item opens a bin and a bounded depth-first
 *   search picks the other items to fill it as fully as possible (the sum of normalised sizes);
 *   a residual that some unplaced item matches exactly ends the search (a perfect fill).
 */
import type { PackProblem, PackState } from "./pack-state.ts"

/** Bounds of the constructions. */
export const constructLimits = {
  /** Fit checks `knapsackFill` may spend on one bin. */
  knapsackChecksPerBin: 3_000,
} as const

/** Bin-centric dot product with dynamic average weights (see the module comment). */
export function dotProductFill(s: PackState, order: Int32Array): boolean {
  const p = s.p
  const dims = p.dims
  const remaining = Int32Array.from({ length: p.items }, (_, i) => i)
  let count = p.items
  const w = new Float64Array(dims)
  // Unplaced demand per dimension, kept as items go; weights are it over scale^2 and count.
  const demand = new Float64Array(dims)
  for (let i = 0; i < p.items; i++) {
    for (let d = 0; d < dims; d++) demand[d] = demand[d]! + p.itemSize[i * dims + d]!
  }
  for (let o = 0; o < order.length && count > 0; o++) {
    const bin = order[o]!
    const f0 = bin * dims
    for (;;) {
      for (let d = 0; d < dims; d++) {
        const scale = p.scale[d]!
        w[d] = scale > 0 ? demand[d]! / scale / scale / count : 0
      }
      let best = -1
      let bestScore = -Infinity
      for (let k = 0; k < count; k++) {
        const item = remaining[k]!
        const s0 = item * dims
        let score = 0
        let fits = true
        for (let d = 0; d < dims; d++) {
          const size = p.itemSize[s0 + d]!
          const free = s.free[f0 + d]!
          if (size > free) { fits = false; break }
          score += w[d]! * size * free
        }
        if (fits && (score > bestScore || (score === bestScore && item < remaining[best]!))) {
          bestScore = score
          best = k
        }
      }
      if (best < 0) break
      const item = remaining[best]!
      s.add(item, bin)
      for (let d = 0; d < dims; d++) demand[d] = demand[d]! - p.itemSize[item * dims + d]!
      remaining[best] = remaining[--count]!
      if (count === 0) break
    }
  }
  return count === 0
}

/** Items sorted by decreasing key, ties by index. */
export function decreasing(key: Float64Array): Int32Array {
  return Int32Array.from({ length: key.length }, (_, i) => i)
    .sort((a, b) => key[b]! - key[a]! || a - b)
}

/**
 * Per dimension the total demand over the scale, scaled to average 1 over the dimensions (all 1
 * when nothing is demanded): scarce dimensions weigh more.
 */
export function demandWeights(p: PackProblem): Float64Array {
  const w = new Float64Array(p.dims)
  let total = 0
  for (let d = 0; d < p.dims; d++) {
    if (p.scale[d]! === 0) continue
    let demand = 0
    for (let i = 0; i < p.items; i++) demand += p.itemSize[i * p.dims + d]!
    w[d] = demand / p.scale[d]!
    total += w[d]!
  }
  for (let d = 0; d < p.dims; d++) w[d] = total > 0 ? w[d]! * p.dims / total : 1
  return w
}

/** Per item the Euclidean norm of its size over the scale, dimensions weighted by total demand. */
export function weightedNorms(p: PackProblem): Float64Array {
  const demand = new Float64Array(p.dims)
  for (let i = 0; i < p.items; i++) {
    for (let d = 0; d < p.dims; d++) demand[d] = demand[d]! + p.itemSize[i * p.dims + d]!
  }
  const norms = new Float64Array(p.items)
  for (let i = 0; i < p.items; i++) {
    let total = 0
    for (let d = 0; d < p.dims; d++) {
      if (p.scale[d]! === 0) continue
      const v = p.itemSize[i * p.dims + d]! / p.scale[d]!
      total += (demand[d]! / p.scale[d]!) * v * v
    }
    norms[i] = Math.sqrt(total)
  }
  return norms
}

/** First fit decreasing: `items` in order, each into the first bin of `order` it fits. */
export function firstFitDecreasing(s: PackState, order: Int32Array, items: Int32Array): boolean {
  const opened: number[] = []
  let next = 0
  for (const item of items) {
    let placed = false
    for (const bin of opened) {
      if (s.fits(item, bin)) { s.add(item, bin); placed = true; break }
    }
    while (!placed && next < order.length) {
      const bin = order[next++]!
      opened.push(bin)
      if (s.fits(item, bin)) { s.add(item, bin); placed = true }
    }
    if (!placed) return false
  }
  return true
}

/**
 * Bin-centric knapsack fill (see the module comment). `dimWeight` weighs the dimensions in an
 * item's value (the sum over dimensions of its size over the scale, times the weight).
 */
export function knapsackFill(s: PackState, order: Int32Array, dimWeight: Float64Array): boolean {
  const p = s.p
  const value = new Float64Array(p.items)
  for (let i = 0; i < p.items; i++) {
    let v = 0
    for (let d = 0; d < p.dims; d++) {
      if (p.scale[d]! > 0) v += dimWeight[d]! * p.itemSize[i * p.dims + d]! / p.scale[d]!
    }
    value[i] = v
  }
  const sorted = decreasing(value)
  const fill: Fill = { s, sorted, value, dimWeight, exact: new ExactIndex(p) }
  const exact = fill.exact
  for (const i of sorted) exact.insert(i)
  const alive = new Uint8Array(p.items).fill(1)
  let count = p.items
  let head = 0
  for (let o = 0; o < order.length && count > 0; o++) {
    const bin = order[o]!
    while (head < sorted.length && alive[sorted[head]!] === 0) head++
    let seed = -1
    for (let k = head; k < sorted.length; k++) {
      const i = sorted[k]!
      if (alive[i] === 1 && s.fits(i, bin)) { seed = k; break }
    }
    if (seed < 0) continue
    const chosen = fillBin(fill, bin, seed, alive)
    for (const i of chosen) {
      s.add(i, bin)
      alive[i] = 0
      exact.delete(i)
      count--
    }
  }
  return count === 0
}

interface Fill {
  readonly s: PackState
  readonly sorted: Int32Array
  readonly value: Float64Array
  readonly dimWeight: Float64Array
  readonly exact: ExactIndex
}

/** Items keyed by their exact size vector, to find a perfect completion of a bin in one look. */
class ExactIndex {
  readonly byHash = new Map<number, number[]>()
  constructor(readonly p: PackProblem) {}

  hash(values: Float64Array, at: number): number {
    let h = 0x811c9dc5
    for (let d = 0; d < this.p.dims; d++) {
      h = Math.imul(h ^ (Math.round(values[at + d]! * 64) | 0), 0x01000193)
    }
    return h
  }

  insert(item: number): void {
    const h = this.hash(this.p.itemSize, item * this.p.dims)
    const list = this.byHash.get(h)
    if (list === undefined) this.byHash.set(h, [item])
    else list.push(item)
  }

  delete(item: number): void {
    const h = this.hash(this.p.itemSize, item * this.p.dims)
    const list = this.byHash.get(h)!
    list.splice(list.indexOf(item), 1)
  }

  /** An item (not in `taken`) whose size equals `residual` exactly, or -1. */
  find(residual: Float64Array, taken: ReadonlyArray<number>): number {
    const list = this.byHash.get(this.hash(residual, 0))
    if (list === undefined) return -1
    const dims = this.p.dims
    for (const i of list) {
      if (taken.includes(i)) continue
      let same = true
      for (let d = 0; d < dims; d++) {
        if (this.p.itemSize[i * dims + d] !== residual[d]) { same = false; break }
      }
      if (same) return i
    }
    return -1
  }
}

/**
 * The items to put in `bin` with `sorted[seed]` (the largest that fits): a depth-first search
 * over the unplaced items by decreasing value for the set of highest total value that fits,
 * within `constructLimits.knapsackChecksPerBin` fit checks. Each node passes its children only
 * the candidates that fit what is left, and prunes when what is left (or the candidates' total)
 * cannot beat the best set. A perfect fill ends the search: an item matching what is left
 * exactly, or, under the seed, one item and then an exact match.
 */
function fillBin(fill: Fill, bin: number, seed: number, alive: Uint8Array): number[] {
  const search = new BinSearch(fill, bin, fill.sorted[seed]!)
  const candidates: number[] = []
  for (let k = seed + 1; k < fill.sorted.length; k++) {
    if (alive[fill.sorted[k]!] === 1) candidates.push(fill.sorted[k]!)
  }
  search.visit(candidates, 0)
  return search.best
}

const eps = 1e-9

/** The state of one `fillBin` search. */
class BinSearch {
  readonly residual: Float64Array
  readonly current: number[]
  best: number[]
  bestValue: number
  value: number
  checks = 0
  perfect = false

  constructor(readonly fill: Fill, bin: number, seed: number) {
    const dims = fill.s.p.dims
    this.residual = fill.s.free.slice(bin * dims, bin * dims + dims)
    this.current = [seed]
    this.take(seed, 1)
    this.best = [seed]
    this.bestValue = fill.value[seed]!
    this.value = this.bestValue
  }

  /** What is left, valued like an item: an upper bound on what more items can add. */
  room(): number {
    const p = this.fill.s.p
    let r = 0
    for (let d = 0; d < p.dims; d++) {
      if (p.scale[d]! > 0) r += this.fill.dimWeight[d]! * this.residual[d]! / p.scale[d]!
    }
    return r
  }

  take(i: number, sign: 1 | -1): void {
    const p = this.fill.s.p
    for (let d = 0; d < p.dims; d++) {
      this.residual[d] = this.residual[d]! - sign * p.itemSize[i * p.dims + d]!
    }
  }

  fitsResidual(i: number): boolean {
    const p = this.fill.s.p
    for (let d = 0; d < p.dims; d++) {
      if (p.itemSize[i * p.dims + d]! > this.residual[d]!) return false
    }
    return true
  }

  /** Records `current` plus `extra` as the best set. */
  record(extra: ReadonlyArray<number>): void {
    this.best = [...this.current, ...extra]
    this.bestValue = this.value + extra.reduce((sum, i) => sum + this.fill.value[i]!, 0)
  }

  /** Whether one of `fitting`, then an exact match, fills the bin; records that fill as best. */
  completesExactly(fitting: ReadonlyArray<number>): boolean {
    for (const i of fitting) {
      this.take(i, 1)
      this.current.push(i)
      const match = this.fill.exact.find(this.residual, this.current)
      this.current.pop()
      this.take(i, -1)
      if (match >= 0) {
        this.record([i, match])
        return true
      }
    }
    return false
  }

  visit(candidates: ReadonlyArray<number>, from: number): void {
    const room = this.room()
    if (room <= eps) { this.perfect = true; return }
    const match = this.fill.exact.find(this.residual, this.current)
    if (match >= 0) {
      this.record([match])
      this.perfect = true
      return
    }
    const limit = constructLimits.knapsackChecksPerBin
    const value = this.fill.value
    const fitting: number[] = []
    let total = 0
    for (let k = from; k < candidates.length && this.checks < limit; k++) {
      this.checks++
      const i = candidates[k]!
      if (this.fitsResidual(i)) { fitting.push(i); total += value[i]! }
    }
    if (this.current.length === 1 && this.completesExactly(fitting)) { this.perfect = true; return }
    for (let k = 0; k < fitting.length && !this.perfect && this.checks < limit; k++) {
      if (this.value + Math.min(room, total) <= this.bestValue + eps) return
      const i = fitting[k]!
      total -= value[i]!
      this.current.push(i)
      this.take(i, 1)
      this.value += value[i]!
      if (this.value > this.bestValue + eps) this.record([])
      this.visit(fitting, k + 1)
      this.value -= value[i]!
      this.take(i, -1)
      this.current.pop()
    }
  }
}
