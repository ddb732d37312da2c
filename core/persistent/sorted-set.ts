/**
 * A mutable sorted set of distinct numbers, stored as sorted chunks of at most `chunkKeysMax`
 * keys, each a `Float64Array` with its length kept aside: a change moves at most one chunk's keys
 * and, on a split or merge, the short arrays of chunks; a lookup
 * is a binary search over the chunks' last keys, then one within a chunk. It is the store under
 * a rerootable lineage (pmem's free extents, see `../pmem/extents.ts`); on its own it is an
 * ordinary mutable structure.
 */

/** Largest chunk; inserting into a full chunk splits it in two halves first. */
export const chunkKeysMax = 64
/** A chunk shorter than this after a removal merges with a neighbour when the two fit in half. */
const chunkKeysMergeBelow = chunkKeysMax / 8

/** Index of the first of `xs[0, n)` that is ≥ key (n if none). */
function lowerBound(xs: Float64Array, n: number, key: number): number {
  let lo = 0
  let hi = n
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (xs[mid]! < key) lo = mid + 1
    else hi = mid
  }
  return lo
}

export class SortedSet {
  /** Non-empty sorted chunks, in order; chunk `c` holds `lens[c]` keys, the last `lasts[c]`. */
  private readonly chunks: Float64Array[] = []
  private readonly lens: number[] = []
  private readonly lasts: number[] = []
  private count = 0
  /**
   * Where the key the last `ceiling` or `floor` returned was (chunk, position): a remove or
   * replace of that key — the allocator's next step — starts there instead of searching. Only a
   * hint: it is used when the slot still holds the key (keys are distinct, so then it is the
   * key's place), whatever changed since.
   */
  private fingerChunk = 0
  private fingerPos = 0

  /** A set of `keys`, which must ascend strictly. */
  constructor(keys: ReadonlyArray<number> = []) {
    for (let i = 1; i < keys.length; i++) {
      if (!(keys[i - 1]! < keys[i]!)) throw new Error("SortedSet: keys must ascend strictly")
    }
    const half = chunkKeysMax / 2
    for (let i = 0; i < keys.length; i += half) {
      const n = Math.min(half, keys.length - i)
      const chunk = new Float64Array(chunkKeysMax)
      for (let j = 0; j < n; j++) chunk[j] = keys[i + j]!
      this.chunks.push(chunk)
      this.lens.push(n)
      this.lasts.push(chunk[n - 1]!)
    }
    this.count = keys.length
  }

  /** How many keys the set holds. */
  get size(): number {
    return this.count
  }

  /** A copy that shares nothing with this set. */
  copy(): SortedSet {
    return new SortedSet(this.toArray())
  }

  /** Index of the first chunk whose last key is ≥ key (chunks.length if none). */
  private chunkFor(key: number): number {
    const lasts = this.lasts
    let lo = 0
    let hi = lasts.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (lasts[mid]! < key) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  /** Whether `key` is in the set. */
  has(key: number): boolean {
    const c = this.chunkFor(key)
    if (c === this.chunks.length) return false
    const chunk = this.chunks[c]!
    return chunk[lowerBound(chunk, this.lens[c]!, key)] === key
  }

  /** Adds `key`; adding a key already present is a defect (throws). */
  insert(key: number): void {
    if (this.put(key, true)) throw new Error(`SortedSet.insert: ${key} is already present`)
  }

  /** Removes `key`; removing a key that is absent is a defect (throws). */
  remove(key: number): void {
    if (!this.put(key, false)) throw new Error(`SortedSet.remove: ${key} is not present`)
  }

  /** Puts `key` in (`present`) or out of the set; returns whether it was in before. */
  put(key: number, present: boolean): boolean {
    const chunks = this.chunks
    if (chunks.length === 0) {
      if (!present) return false
      const chunk = new Float64Array(chunkKeysMax)
      chunk[0] = key
      chunks.push(chunk)
      this.lens.push(1)
      this.lasts.push(key)
      this.count = 1
      return false
    }
    let c: number
    let chunk: Float64Array
    let n: number
    let pos: number
    if (!present && this.atFinger(key)) {
      c = this.fingerChunk
      chunk = chunks[c]!
      n = this.lens[c]!
      pos = this.fingerPos
    } else {
      c = this.chunkFor(key)
      if (c === chunks.length) c--
      chunk = chunks[c]!
      n = this.lens[c]!
      pos = lowerBound(chunk, n, key)
    }
    const was = pos < n && chunk[pos] === key
    if (was === present) return was
    if (present) {
      this.count++
      if (n === chunkKeysMax) {
        this.split(c)
        if (pos > (n >>> 1) || (pos === n >>> 1 && key > this.lasts[c]!)) {
          pos -= n >>> 1
          c++
          chunk = chunks[c]!
        }
        n = this.lens[c]!
      }
      for (let i = n; i > pos; i--) chunk[i] = chunk[i - 1]!
      chunk[pos] = key
      this.lens[c] = n + 1
      if (pos === n) this.lasts[c] = key
      return was
    }
    this.count--
    if (n === 1) {
      chunks.splice(c, 1)
      this.lens.splice(c, 1)
      this.lasts.splice(c, 1)
      return was
    }
    for (let i = pos + 1; i < n; i++) chunk[i - 1] = chunk[i]!
    this.lens[c] = --n
    this.lasts[c] = chunk[n - 1]!
    if (n < chunkKeysMergeBelow) this.mergeSmall(c)
    return was
  }

  /**
   * Replaces `oldKey`, which must be present, by `newKey`, which must sort between `oldKey`'s
   * neighbours (so it takes the same slot): one search and no keys moved. Anything else is a
   * defect (throws, the set unchanged).
   */
  replace(oldKey: number, newKey: number): void {
    const chunks = this.chunks
    const hit = this.atFinger(oldKey)
    const c = hit ? this.fingerChunk : this.chunkFor(oldKey)
    const chunk = chunks[c]
    const n = c < chunks.length ? this.lens[c]! : 0
    const pos = hit ? this.fingerPos : chunk === undefined ? 0 : lowerBound(chunk, n, oldKey)
    if (chunk === undefined || chunk[pos] !== oldKey) {
      throw new Error(`SortedSet.replace: ${oldKey} is not present`)
    }
    const below = pos > 0 ? chunk[pos - 1]! : c > 0 ? this.lasts[c - 1]! : -Infinity
    const above = pos + 1 < n ? chunk[pos + 1]! : c + 1 < chunks.length ? chunks[c + 1]![0]!
      : Infinity
    if (!(below < newKey && newKey < above)) {
      throw new Error(`SortedSet.replace: ${newKey} does not take the place of ${oldKey}`)
    }
    chunk[pos] = newKey
    if (pos === n - 1) this.lasts[c] = newKey
  }

  /** Whether the finger's slot holds `key` (see `fingerChunk`). */
  private atFinger(key: number): boolean {
    const c = this.fingerChunk
    return c < this.chunks.length && this.fingerPos < this.lens[c]! &&
      this.chunks[c]![this.fingerPos] === key
  }

  /** Splits full chunk `c` into two halves. */
  private split(c: number): void {
    const chunk = this.chunks[c]!
    const n = this.lens[c]!
    const half = n >>> 1
    const upper = new Float64Array(chunkKeysMax)
    upper.set(chunk.subarray(half, n))
    this.chunks.splice(c + 1, 0, upper)
    this.lens.splice(c + 1, 0, n - half)
    this.lasts.splice(c + 1, 0, chunk[n - 1]!)
    this.lens[c] = half
    this.lasts[c] = chunk[half - 1]!
  }

  /** Merges short chunk `c` with a neighbour when both fit in half a chunk. */
  private mergeSmall(c: number): void {
    const k = c + 1 < this.chunks.length ? c + 1 : c - 1
    if (k < 0 || this.lens[k]! + this.lens[c]! > chunkKeysMax / 2) return
    const [low, high] = k > c ? [c, k] : [k, c]
    const into = this.chunks[low]!
    into.set(this.chunks[high]!.subarray(0, this.lens[high]!), this.lens[low]!)
    this.lens[low] = this.lens[low]! + this.lens[high]!
    this.lasts[low] = this.lasts[high]!
    this.chunks.splice(high, 1)
    this.lens.splice(high, 1)
    this.lasts.splice(high, 1)
  }

  /** The smallest key ≥ `key`, or undefined. */
  ceiling(key: number): number | undefined {
    const c = this.chunkFor(key)
    if (c === this.chunks.length) return undefined
    const chunk = this.chunks[c]!
    const pos = lowerBound(chunk, this.lens[c]!, key)
    this.fingerChunk = c
    this.fingerPos = pos
    return chunk[pos]
  }

  /** The largest key ≤ `key`, or undefined. */
  floor(key: number): number | undefined {
    const c = this.chunkFor(key)
    if (c < this.chunks.length) {
      const chunk = this.chunks[c]!
      const pos = lowerBound(chunk, this.lens[c]!, key)
      if (chunk[pos] === key || pos > 0) {
        this.fingerChunk = c
        this.fingerPos = chunk[pos] === key ? pos : pos - 1
        return chunk[this.fingerPos]
      }
    }
    if (c === 0) return undefined
    this.fingerChunk = c - 1
    this.fingerPos = this.lens[c - 1]! - 1
    return this.lasts[c - 1]
  }

  /** The largest key, or undefined when empty. */
  max(): number | undefined {
    return this.lasts.at(-1)
  }

  /** Every key, ascending (a fresh array). */
  toArray(): number[] {
    const out: number[] = []
    for (let c = 0; c < this.chunks.length; c++) {
      const chunk = this.chunks[c]!
      for (let i = 0; i < this.lens[c]!; i++) out.push(chunk[i]!)
    }
    return out
  }
}
