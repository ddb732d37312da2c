/**
 * The mutable working state of the vector packer: free capacity per bin and dimension, the bin of
 * every item and the items of every bin. Private to the packer (`pack.ts`); every public entry
 * point copies its input before building one, so callers never see it change.
 */

/** A packing problem over `dims` resource dimensions (see `packVectors`). */
export interface PackProblem {
  readonly dims: number
  readonly bins: number
  readonly items: number
  /** Free amount per bin and dimension, `bin * dims + d`. */
  readonly binFree: Float64Array
  /** What using a bin costs (0 for a bin already in use). */
  readonly binCost: Float64Array
  /** Demand per item and dimension, `item * dims + d`. */
  readonly itemSize: Float64Array
  /** Per dimension the largest free amount of any bin (the normalisation scale; 0 if none). */
  readonly scale: Float64Array
  /** Per item the sum over dimensions of its size over the scale (its "volume"). */
  readonly weight: Float64Array
}

/** Builds the derived fields of a problem. */
export function problemOf(
  dims: number,
  binFree: Float64Array,
  binCost: Float64Array,
  itemSize: Float64Array,
): PackProblem {
  const bins = binCost.length
  const items = itemSize.length / dims
  const scale = new Float64Array(dims)
  for (let b = 0; b < bins; b++) {
    for (let d = 0; d < dims; d++) scale[d] = Math.max(scale[d]!, binFree[b * dims + d]!)
  }
  const weight = new Float64Array(items)
  for (let i = 0; i < items; i++) {
    let w = 0
    for (let d = 0; d < dims; d++) if (scale[d]! > 0) w += itemSize[i * dims + d]! / scale[d]!
    weight[i] = w
  }
  return { dims, bins, items, binFree, binCost, itemSize, scale, weight }
}

/** An assignment being built or improved. `assign[i]` is -1 while item i is unplaced. */
export class PackState {
  readonly free: Float64Array
  readonly assign: Int32Array
  /** Items of every bin, in no particular order. */
  readonly members: number[][]
  /** Sum of the weights of the items of every bin. */
  readonly load: Float64Array

  constructor(readonly p: PackProblem) {
    this.free = p.binFree.slice()
    this.assign = new Int32Array(p.items).fill(-1)
    this.members = Array.from({ length: p.bins }, () => [])
    this.load = new Float64Array(p.bins)
  }

  /** Whether the item fits in the bin's free capacity. */
  fits(item: number, bin: number): boolean {
    const dims = this.p.dims
    const size = this.p.itemSize
    const free = this.free
    const s0 = item * dims
    const f0 = bin * dims
    for (let d = 0; d < dims; d++) if (size[s0 + d]! > free[f0 + d]!) return false
    return true
  }

  /** Whether both items fit in the bin together. */
  fitsPair(a: number, b: number, bin: number): boolean {
    const dims = this.p.dims
    const size = this.p.itemSize
    const free = this.free
    const a0 = a * dims
    const b0 = b * dims
    const f0 = bin * dims
    for (let d = 0; d < dims; d++) if (size[a0 + d]! + size[b0 + d]! > free[f0 + d]!) return false
    return true
  }

  /** Puts an unplaced item in a bin (the caller has checked that it fits). */
  add(item: number, bin: number): void {
    const dims = this.p.dims
    const size = this.p.itemSize
    const s0 = item * dims
    const f0 = bin * dims
    for (let d = 0; d < dims; d++) this.free[f0 + d] = this.free[f0 + d]! - size[s0 + d]!
    this.assign[item] = bin
    this.members[bin]!.push(item)
    this.load[bin] = this.load[bin]! + this.p.weight[item]!
  }

  /** Takes an item out of its bin. */
  remove(item: number): void {
    const bin = this.assign[item]!
    const dims = this.p.dims
    const size = this.p.itemSize
    const s0 = item * dims
    const f0 = bin * dims
    for (let d = 0; d < dims; d++) this.free[f0 + d] = this.free[f0 + d]! + size[s0 + d]!
    this.assign[item] = -1
    const list = this.members[bin]!
    const at = list.indexOf(item)
    list[at] = list[list.length - 1]!
    list.pop()
    this.load[bin] = list.length === 0 ? 0 : this.load[bin]! - this.p.weight[item]!
  }

  /** Sum of the costs of the bins holding at least one item. */
  cost(): number {
    let total = 0
    for (let b = 0; b < this.p.bins; b++) {
      if (this.members[b]!.length > 0) total += this.p.binCost[b]!
    }
    return total
  }

  /** Empties every bin. */
  clear(): void {
    this.free.set(this.p.binFree)
    this.assign.fill(-1)
    for (const list of this.members) list.length = 0
    this.load.fill(0)
  }

  /** Makes this state a copy of another of the same problem. */
  copyFrom(other: PackState): void {
    this.free.set(other.free)
    this.assign.set(other.assign)
    this.load.set(other.load)
    other.members.forEach((list, b) => {
      const mine = this.members[b]!
      mine.length = 0
      for (const i of list) mine.push(i)
    })
  }
}

/**
 * Bins in the order constructions open them: free ones (cost 0) first, then by cost, then the
 * roomier first (sum of normalised free capacity), then by index.
 */
export function binOrder(p: PackProblem): Int32Array {
  const room = new Float64Array(p.bins)
  for (let b = 0; b < p.bins; b++) {
    let r = 0
    for (let d = 0; d < p.dims; d++) {
      if (p.scale[d]! > 0) r += p.binFree[b * p.dims + d]! / p.scale[d]!
    }
    room[b] = r
  }
  return Int32Array.from({ length: p.bins }, (_, b) => b)
    .sort((a, b) => p.binCost[a]! - p.binCost[b]! || room[b]! - room[a]! || a - b)
}
