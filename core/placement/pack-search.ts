/**
 * The improvement phase of the vector packer: empty one paying bin at a time. The items of the
 * target bin go to a pool; a local search then moves pool items into the other bins, directly
 * where they fit, or by swapping one or two of them with one or two items of a bin (the bin's
 * capacity always respected). A swap's gain is the fall in the pool's total weight; the best
 * move that is not tabu is taken (an item that left a bin may not return to it for
 * `searchLimits.tenure` moves). The attempt succeeds when the pool is empty, and is undone when
 * the pool has not shrunk for more than `stallMovesMax` moves. Every move considered and
 * every fit check counts against one budget, so the result depends on the input only.
 */
import { PackState } from "./pack-state.ts"

/** Bounds of the improvement phase. */
export const searchLimits = {
  /** Moves an item stays barred from the bin it left. */
  tenure: 7,
  /**
   * Moves without a new smallest pool before an attempt gives up. 0 makes each attempt a
   * best-move descent: measured on the "New" instances, spending the budget on more starts
   * (`pack.ts`) finds more than longer tabu walks from fewer starts.
   */
  stallMovesMax: 0,
  /** Failed attempts in a row (on different bins) before the search stops. */
  failedAttemptsMax: 20,
} as const

const eps = 1e-9

interface Move {
  bin: number
  outA: number
  outB: number
  inA: number
  inB: number
  gain: number
}

/**
 * Improves `s` in place until its cost reaches `lowerBound`, the budget of fit checks is spent,
 * or `failedAttemptsMax` bins in a row could not be emptied. Returns the budget spent.
 */
export function improve(s: PackState, lowerBound: number, budget: number): number {
  const search = new BinEmptier(s, budget)
  const failed = new Set<number>()
  while (search.checks < budget && s.cost() > lowerBound + eps) {
    const target = search.target(failed)
    if (target < 0) break
    if (search.empty(target)) failed.clear()
    else {
      failed.add(target)
      if (failed.size >= searchLimits.failedAttemptsMax) break
    }
  }
  return search.checks
}

class BinEmptier {
  checks = 0
  readonly saved: PackState
  readonly leftBin: Int32Array
  readonly leftAt: Int32Array
  readonly usable: number[] = []
  pool: number[] = []
  step = 0

  constructor(readonly s: PackState, readonly budget: number) {
    this.saved = new PackState(s.p)
    this.leftBin = new Int32Array(s.p.items).fill(-1)
    this.leftAt = new Int32Array(s.p.items)
  }

  /** The paying bin in use to try next: the dearest, then the least loaded, then by index. */
  target(failed: ReadonlySet<number>): number {
    const p = this.s.p
    let best = -1
    for (let b = 0; b < p.bins; b++) {
      if (p.binCost[b]! <= 0 || this.s.members[b]!.length === 0 || failed.has(b)) continue
      if (best < 0 || p.binCost[b]! > p.binCost[best]! ||
        (p.binCost[b] === p.binCost[best] && this.s.load[b]! < this.s.load[best]! - eps)) best = b
    }
    return best
  }

  empty(target: number): boolean {
    const s = this.s
    const p = s.p
    this.saved.copyFrom(s)
    this.pool = [...s.members[target]!]
    for (const i of this.pool) s.remove(i)
    this.usable.length = 0
    for (let b = 0; b < p.bins; b++) {
      if (b !== target && (s.members[b]!.length > 0 || p.binCost[b]! <= 0)) this.usable.push(b)
    }
    this.leftBin.fill(-1)
    let bestPool = Infinity
    let stall = 0
    for (this.step = 0; this.checks < this.budget; this.step++) {
      this.insertPool()
      if (this.pool.length === 0) return true
      const weight = this.poolWeight()
      if (weight < bestPool - eps) { bestPool = weight; stall = 0 }
      else if (++stall > searchLimits.stallMovesMax) break
      const move = this.bestMove(bestPool - weight)
      if (move === undefined) break
      this.apply(move)
    }
    s.copyFrom(this.saved)
    return false
  }

  poolWeight(): number {
    let total = 0
    for (const i of this.pool) total += this.s.p.weight[i]!
    return total
  }

  /** Every pool item that fits somewhere goes to the bin it leaves the least room in. */
  insertPool(): void {
    const s = this.s
    const p = s.p
    this.pool.sort((a, b) => p.weight[b]! - p.weight[a]! || a - b)
    for (let k = 0; k < this.pool.length;) {
      const item = this.pool[k]!
      let best = -1
      let bestRoom = Infinity
      for (const b of this.usable) {
        this.checks++
        if (!s.fits(item, b)) continue
        const room = roomOf(s, b)
        if (room < bestRoom) { bestRoom = room; best = b }
      }
      if (best < 0) { k++; continue }
      s.add(item, best)
      this.pool.splice(k, 1)
    }
  }

  tabu(item: number, bin: number): boolean {
    return this.leftBin[item] === bin && this.step - this.leftAt[item]! < searchLimits.tenure
  }

  /**
   * The swap of highest gain that is not tabu (a tabu one only if it beats the best pool so far
   * by more than `aspiration`): one or two pool items in, one or two of the bin's items out.
   */
  bestMove(aspiration: number): Move | undefined {
    const s = this.s
    const w = s.p.weight
    const pool = this.pool
    let best: Move | undefined
    const consider = (bin: number, outA: number, outB: number, inA: number, inB: number,
      gain: number): void => {
      this.checks++
      if (best !== undefined && gain <= best.gain + eps) return
      if ((this.tabu(inA, bin) || (inB >= 0 && this.tabu(inB, bin))) && gain <= aspiration + eps) {
        return
      }
      if (!this.fitsSwap(bin, outA, outB, inA, inB)) return
      best = { bin, outA, outB, inA, inB, gain }
    }
    for (const bin of this.usable) {
      const list = s.members[bin]!
      for (let x = 0; x < list.length; x++) {
        const qa = list[x]!
        for (let y = x; y < list.length; y++) {
          const qb = y === x ? -1 : list[y]!
          const out = w[qa]! + (qb < 0 ? 0 : w[qb]!)
          for (let k = 0; k < pool.length; k++) {
            const pa = pool[k]!
            consider(bin, qa, qb, pa, -1, w[pa]! - out)
            for (let j = k + 1; j < pool.length; j++) {
              const pb = pool[j]!
              consider(bin, qa, qb, pa, pb, w[pa]! + w[pb]! - out)
            }
          }
        }
      }
    }
    return best
  }

  fitsSwap(bin: number, outA: number, outB: number, inA: number, inB: number): boolean {
    const p = this.s.p
    const dims = p.dims
    const size = p.itemSize
    const f0 = bin * dims
    for (let d = 0; d < dims; d++) {
      let room = this.s.free[f0 + d]! + size[outA * dims + d]!
      if (outB >= 0) room += size[outB * dims + d]!
      let need = size[inA * dims + d]!
      if (inB >= 0) need += size[inB * dims + d]!
      if (need > room) return false
    }
    return true
  }

  apply(m: Move): void {
    const s = this.s
    s.remove(m.outA)
    if (m.outB >= 0) s.remove(m.outB)
    for (const out of [m.outA, m.outB]) {
      if (out < 0) continue
      this.leftBin[out] = m.bin
      this.leftAt[out] = this.step
      this.pool.push(out)
    }
    for (const inn of [m.inA, m.inB]) {
      if (inn < 0) continue
      s.add(inn, m.bin)
      this.pool.splice(this.pool.indexOf(inn), 1)
    }
  }
}

/** Sum over dimensions of the bin's free capacity over the scale. */
function roomOf(s: PackState, bin: number): number {
  const p = s.p
  let room = 0
  for (let d = 0; d < p.dims; d++) {
    if (p.scale[d]! > 0) room += s.free[bin * p.dims + d]! / p.scale[d]!
  }
  return room
}
