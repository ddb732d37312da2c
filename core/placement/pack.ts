/**
 * Vector packing for rule-free gangs in `pack` mode: fewest newly used hosts.
 *
 * Construction is bin-centric: fill one host at a time (hosts already in use first), each time
 * with the fitting item of the highest dot product between its size and the host's free
 * resources, dimensions weighted by the remaining demand (recomputed as items go). Improvement
 * then tries to empty the least-loaded newly used host: its items go to a pool, and moves that
 * insert a pool item into another used host, or swap pool items with smaller ones in a host
 * (the pool's total size strictly falls), run until the pool is empty (one host fewer) or no
 * move is left (the attempt is undone). A named evaluation budget bounds all of it, so the
 * result is deterministic and its time bounded.
 */

/** Bounds of the packer. */
export const packLimits = {
  /** Fit checks the whole improvement phase may make. */
  evaluationBudget: 1_500_000,
  /** Moves one attempt to empty a host may make. */
  movesPerAttemptMax: 400,
} as const

/** A packing problem over `dims` resource dimensions. */
export interface VectorPackInput {
  readonly dims: number
  /** Free amount per host and dimension, `bin * dims + d`. */
  readonly binFree: Float64Array
  /** 1 for a host already in use (using it costs nothing). */
  readonly binOpen: Uint8Array
  /** Demand per item and dimension, `item * dims + d`. */
  readonly itemSize: Float64Array
  readonly evaluationBudget?: number
}

/** The host of every item, or undefined when the construction could not place them all. */
export function packVectors(input: VectorPackInput): Int32Array | undefined {
  const p = new Packer(input)
  if (!p.construct()) return undefined
  p.improve()
  p.assertValid()
  return p.assign
}

class Packer {
  readonly dims: number
  readonly bins: number
  readonly items: number
  readonly free: Float64Array
  readonly size: Float64Array
  readonly norm: Float64Array
  readonly weight: Float64Array
  readonly assign: Int32Array
  readonly contents: number[][]
  evaluations = 0
  readonly budget: number

  constructor(readonly input: VectorPackInput) {
    this.dims = input.dims
    this.bins = input.binOpen.length
    this.items = input.itemSize.length / input.dims
    if (input.binFree.length !== this.bins * this.dims) throw new Error("binFree length")
    this.free = input.binFree.slice()
    this.size = input.itemSize
    const scale = new Float64Array(this.dims)
    for (let b = 0; b < this.bins; b++) {
      for (let d = 0; d < this.dims; d++) scale[d] = Math.max(scale[d]!, this.free[b * this.dims + d]!)
    }
    this.norm = new Float64Array(this.items)
    this.weight = new Float64Array(this.dims)
    for (let i = 0; i < this.items; i++) {
      for (let d = 0; d < this.dims; d++) {
        const v = scale[d]! > 0 ? this.size[i * this.dims + d]! / scale[d]! : 0
        this.norm[i] = this.norm[i]! + v
      }
    }
    this.scale = scale
    this.assign = new Int32Array(this.items).fill(-1)
    this.contents = Array.from({ length: this.bins }, () => [])
    this.budget = input.evaluationBudget ?? packLimits.evaluationBudget
  }
  readonly scale: Float64Array

  fits(item: number, bin: number): boolean {
    const d0 = bin * this.dims
    const s0 = item * this.dims
    for (let d = 0; d < this.dims; d++) if (this.size[s0 + d]! > this.free[d0 + d]!) return false
    return true
  }

  move(item: number, bin: number, sign: 1 | -1): void {
    const d0 = bin * this.dims
    const s0 = item * this.dims
    for (let d = 0; d < this.dims; d++) this.free[d0 + d] = this.free[d0 + d]! - sign * this.size[s0 + d]!
    if (sign === 1) {
      this.assign[item] = bin
      this.contents[bin]!.push(item)
    } else {
      this.assign[item] = -1
      const list = this.contents[bin]!
      list.splice(list.indexOf(item), 1)
    }
  }

  /** Σ_d weight_d · size_d · free_d, both normalised: how well the item uses what is left. */
  dot(item: number, bin: number): number {
    let total = 0
    for (let d = 0; d < this.dims; d++) {
      const s = this.scale[d]!
      if (s === 0) continue
      total += this.weight[d]! * (this.size[item * this.dims + d]! / s) *
        (this.free[bin * this.dims + d]! / s)
    }
    return total
  }

  construct(): boolean {
    const remaining: number[] = Array.from({ length: this.items }, (_, i) => i)
      .sort((a, b) => this.norm[b]! - this.norm[a]! || a - b)
    const demand = new Float64Array(this.dims)
    for (const i of remaining) {
      for (let d = 0; d < this.dims; d++) demand[d] = demand[d]! + this.size[i * this.dims + d]!
    }
    const order = Array.from({ length: this.bins }, (_, b) => b)
      .sort((a, b) => this.input.binOpen[b]! - this.input.binOpen[a]! || a - b)
    for (const bin of order) {
      if (remaining.length === 0) break
      for (;;) {
        for (let d = 0; d < this.dims; d++) {
          this.weight[d] = this.scale[d]! > 0 ? demand[d]! / this.scale[d]! / remaining.length : 0
        }
        let best = -1
        let bestScore = -Infinity
        for (let k = 0; k < remaining.length; k++) {
          const item = remaining[k]!
          if (!this.fits(item, bin)) continue
          const score = this.dot(item, bin)
          if (score > bestScore) { bestScore = score; best = k }
        }
        if (best < 0) break
        const item = remaining[best]!
        remaining.splice(best, 1)
        for (let d = 0; d < this.dims; d++) demand[d] = demand[d]! - this.size[item * this.dims + d]!
        this.move(item, bin, 1)
        if (remaining.length === 0) break
      }
    }
    return remaining.length === 0
  }

  load(bin: number): number {
    let total = 0
    for (const i of this.contents[bin]!) total += this.norm[i]!
    return total
  }

  improve(): void {
    this.weight.fill(1)
    const failed = new Set<number>()
    while (this.evaluations < this.budget) {
      let target = -1
      for (let b = 0; b < this.bins; b++) {
        if (this.input.binOpen[b] === 1 || this.contents[b]!.length === 0 || failed.has(b)) continue
        if (target < 0 || this.load(b) < this.load(target)) target = b
      }
      if (target < 0) return
      if (this.empty(target)) failed.clear()
      else failed.add(target)
    }
  }

  /** Tries to move every item off `target` into other used hosts; undoes itself on failure. */
  empty(target: number): boolean {
    const savedFree = this.free.slice()
    const savedAssign = this.assign.slice()
    const savedContents = this.contents.map((c) => c.slice())
    const pool: number[] = [...this.contents[target]!]
    for (const i of pool) this.move(i, target, -1)
    const used: number[] = []
    for (let b = 0; b < this.bins; b++) if (b !== target && this.contents[b]!.length > 0) used.push(b)
    for (let step = 0; step < packLimits.movesPerAttemptMax && this.evaluations < this.budget; step++) {
      pool.sort((a, b) => this.norm[b]! - this.norm[a]! || a - b)
      if (this.insertSome(pool, used)) {
        if (pool.length === 0) return true
        continue
      }
      if (!this.swapOne(pool, used)) break
    }
    this.free.set(savedFree)
    this.assign.set(savedAssign)
    savedContents.forEach((c, b) => { this.contents[b] = c })
    return false
  }

  insertSome(pool: number[], used: ReadonlyArray<number>): boolean {
    let inserted = false
    for (let k = 0; k < pool.length;) {
      const item = pool[k]!
      let best = -1
      let bestScore = -Infinity
      for (const b of used) {
        this.evaluations++
        if (!this.fits(item, b)) continue
        const score = -this.slackAfter(item, b)
        if (score > bestScore) { bestScore = score; best = b }
      }
      if (best < 0) { k++; continue }
      this.move(item, best, 1)
      pool.splice(k, 1)
      inserted = true
    }
    return inserted
  }

  slackAfter(item: number, bin: number): number {
    let total = 0
    for (let d = 0; d < this.dims; d++) {
      const s = this.scale[d]!
      if (s > 0) total += (this.free[bin * this.dims + d]! - this.size[item * this.dims + d]!) / s
    }
    return total
  }

  /** The swap (one or two pool items in, one host item out) that most shrinks the pool. */
  swapOne(pool: number[], used: ReadonlyArray<number>): boolean {
    let best: { bin: number; out: number; ins: number[]; gain: number } | undefined
    for (const b of used) {
      for (const y of [...this.contents[b]!]) {
        this.move(y, b, -1)
        for (let k = 0; k < pool.length; k++) {
          const x = pool[k]!
          const gain = this.norm[x]! - this.norm[y]!
          if (gain <= 1e-12 || (best !== undefined && gain <= best.gain)) continue
          this.evaluations++
          if (this.fits(x, b)) best = { bin: b, out: y, ins: [x], gain }
        }
        this.move(y, b, 1)
      }
    }
    if (best === undefined) return this.swapPair(pool, used)
    this.apply(pool, best.bin, best.out, best.ins)
    return true
  }

  swapPair(pool: number[], used: ReadonlyArray<number>): boolean {
    if (pool.length < 2) return false
    for (const b of used) {
      for (const y of [...this.contents[b]!]) {
        this.move(y, b, -1)
        for (let k = 0; k < pool.length; k++) {
          const x1 = pool[k]!
          this.evaluations++
          if (!this.fits(x1, b)) continue
          this.move(x1, b, 1)
          for (let j = k + 1; j < pool.length; j++) {
            const x2 = pool[j]!
            if (this.norm[x1]! + this.norm[x2]! <= this.norm[y]! + 1e-12) continue
            this.evaluations++
            if (this.fits(x2, b)) {
              this.move(x1, b, -1)
              this.move(y, b, 1)
              this.apply(pool, b, y, [x1, x2])
              return true
            }
          }
          this.move(x1, b, -1)
        }
        this.move(y, b, 1)
        if (this.evaluations >= this.budget) return false
      }
    }
    return false
  }

  apply(pool: number[], bin: number, out: number, ins: ReadonlyArray<number>): void {
    this.move(out, bin, -1)
    for (const x of ins) {
      this.move(x, bin, 1)
      pool.splice(pool.indexOf(x), 1)
    }
    pool.push(out)
  }

  assertValid(): void {
    for (let i = 0; i < this.items; i++) if (this.assign[i]! < 0) throw new Error("unpacked item")
    for (let k = 0; k < this.free.length; k++) {
      if (this.free[k]! < -1e-9) throw new Error(`packing overfills bin ${Math.floor(k / this.dims)}`)
    }
  }
}
