/**
 * A fixed-size persistent vector: a 64-way trie whose updates copy only the path to the touched
 * slot, so a new version shares everything else with the old one. PCI accounting keeps per-device
 * usage and per-host usage in these, which is what makes an update cost O(log64 n) instead of a
 * copy of the whole host or cluster.
 *
 * Updates go through an edit (`editOf` → `set` … → `done`): within one edit a node is copied at
 * most once; after `done` the edit refuses further writes, so a published vector never changes.
 */

const bits = 6
const width = 1 << bits
const mask = width - 1
/** Bound on the trie's depth: 64^6 slots is far above any inventory's bound. */
const depthMax = 6

type Node = unknown[]
/** Copied nodes an edit makes room for at once: a root and a few leaves (it grows past that). */
const freshRoom = 6

/** An immutable vector of `size` values. */
export interface PVec<T> {
  readonly size: number
  /** Levels below the root (0: the root is a leaf). */
  readonly shift: number
  readonly root: Node
  /** Phantom marker of the element type. */
  readonly _T?: (t: T) => T
}

/** Builds a vector holding `values` (copied). */
export function pvecOf<T>(values: ReadonlyArray<T>): PVec<T> {
  let shift = 0
  while (width << shift < values.length) shift += bits
  if (shift / bits >= depthMax) throw new Error(`pvec: ${values.length} values exceed the bound`)
  return { size: values.length, shift, root: build(values, 0, shift) }
}

function build<T>(values: ReadonlyArray<T>, start: number, shift: number): Node {
  if (shift === 0) return values.slice(start, start + width)
  const node: Node = []
  const span = width << shift
  const step = 1 << shift
  for (let i = start; i < Math.min(values.length, start + span); i += step) {
    node.push(build(values, i, shift - bits))
  }
  return node
}

/** The value at `index`; throws on an index outside the vector (a caller's bug). */
export function pvecGet<T>(vec: PVec<T>, index: number): T {
  if (!(index >= 0 && index < vec.size)) throw new RangeError(`pvec index ${index} of ${vec.size}`)
  let node = vec.root
  for (let shift = vec.shift; shift > 0; shift -= bits) {
    node = node[(index >>> shift) & mask] as Node
  }
  return node[index & mask] as T
}

/** Every value in order (a fresh array). */
export function pvecToArray<T>(vec: PVec<T>): T[] {
  const out: T[] = []
  collect(vec.root, vec.shift, out)
  return out
}

function collect<T>(node: Node, shift: number, out: T[]): void {
  if (shift === 0) {
    for (const v of node) out.push(v as T)
    return
  }
  for (const child of node) collect(child as Node, shift - bits, out)
}

/** A batch of writes producing one new version; the source vector is never modified. */
export class PVecEdit<T> {
  private root: Node
  /**
   * Nodes this edit copied (and so may write), in `fresh[0, freshCount)`: few per edit, so a
   * short list beats a Set; made at the first copy with room for a few paths.
   */
  private fresh: Node[] | null = null
  private freshCount = 0
  private open = true
  private changed = false

  constructor(private readonly source: PVec<T>) {
    this.root = source.root
  }

  /** The value at `index` as of this edit. */
  get(index: number): T {
    if (!(index >= 0 && index < this.source.size)) {
      throw new RangeError(`pvec index ${index} of ${this.source.size}`)
    }
    let node = this.root
    for (let shift = this.source.shift; shift > 0; shift -= bits) {
      node = node[(index >>> shift) & mask] as Node
    }
    return node[index & mask] as T
  }

  /** Writes `value` at `index`, copying each node on the path the first time this edit does. */
  set(index: number, value: T): void {
    if (!this.open) throw new Error("pvec edit already done")
    if (!(index >= 0 && index < this.source.size)) {
      throw new RangeError(`pvec index ${index} of ${this.source.size}`)
    }
    this.changed = true
    this.root = this.own(this.root)
    let node = this.root
    for (let shift = this.source.shift; shift > 0; shift -= bits) {
      const slot = (index >>> shift) & mask
      const child = this.own(node[slot] as Node)
      node[slot] = child
      node = child
    }
    node[index & mask] = value
  }

  /** Ends the edit: the new version, or the source itself when nothing was written. */
  done(): PVec<T> {
    this.open = false
    if (!this.changed) return this.source
    return { size: this.source.size, shift: this.source.shift, root: this.root }
  }

  private own(node: Node): Node {
    const fresh = this.fresh ?? (this.fresh = new Array<Node>(freshRoom))
    for (let i = this.freshCount - 1; i >= 0; i--) if (fresh[i] === node) return node
    const copy = node.slice()
    if (this.freshCount < fresh.length) fresh[this.freshCount] = copy
    else fresh.push(copy)
    this.freshCount++
    return copy
  }
}

/** Starts an edit of `vec`. */
export function editOf<T>(vec: PVec<T>): PVecEdit<T> {
  return new PVecEdit(vec)
}

/** A new version of `vec` with `value` at `index`. */
export function pvecSet<T>(vec: PVec<T>, index: number, value: T): PVec<T> {
  const edit = new PVecEdit(vec)
  edit.set(index, value)
  return edit.done()
}
