/**
 * A mutable sorted set of distinct numbers, stored as sorted chunks of at most `chunkKeysMax`
 * keys: a change shifts at most one chunk (and, on a split or merge, the short array of chunks),
 * a lookup is two binary searches. It is the store under a rerootable lineage (pmem's free
 * extents, see `../pmem/extents.ts`); on its own it is an ordinary mutable structure.
 */

/** Largest chunk; a chunk that grows past it splits in two halves. */
export const chunkKeysMax = 128
/** A chunk shorter than this after a removal merges with a neighbour when the two fit in half. */
const chunkKeysMergeBelow = chunkKeysMax / 8

/** Index of the first element of `xs` that is ≥ key (xs.length if none). */
function lowerBound(xs: ReadonlyArray<number>, key: number): number {
  let lo = 0
  let hi = xs.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (xs[mid]! < key) lo = mid + 1
    else hi = mid
  }
  return lo
}

export class SortedSet {
  /** Non-empty sorted chunks, in order. */
  private readonly chunks: number[][]
  private count: number

  /** A set of `keys`, which must ascend strictly. */
  constructor(keys: ReadonlyArray<number> = []) {
    for (let i = 1; i < keys.length; i++) {
      if (!(keys[i - 1]! < keys[i]!)) throw new Error("SortedSet: keys must ascend strictly")
    }
    this.chunks = []
    const half = chunkKeysMax / 2
    for (let i = 0; i < keys.length; i += half) this.chunks.push(keys.slice(i, i + half))
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
    const chunks = this.chunks
    let lo = 0
    let hi = chunks.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      const chunk = chunks[mid]!
      if (chunk[chunk.length - 1]! < key) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  /** Whether `key` is in the set. */
  has(key: number): boolean {
    const c = this.chunkFor(key)
    if (c === this.chunks.length) return false
    const chunk = this.chunks[c]!
    return chunk[lowerBound(chunk, key)] === key
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
      if (present) {
        chunks.push([key])
        this.count++
      }
      return false
    }
    let c = this.chunkFor(key)
    if (c === chunks.length) c--
    const chunk = chunks[c]!
    const pos = lowerBound(chunk, key)
    const was = chunk[pos] === key
    if (was === present) return was
    if (present) {
      this.count++
      // Shift in place (splice would allocate the array of removed elements on every call).
      for (let i = chunk.length; i > pos; i--) chunk[i] = chunk[i - 1]!
      chunk[pos] = key
      if (chunk.length > chunkKeysMax) chunks.splice(c + 1, 0, chunk.splice(chunk.length >>> 1))
      return was
    }
    this.count--
    if (chunk.length === 1) {
      chunks.splice(c, 1)
      return was
    }
    for (let i = pos + 1; i < chunk.length; i++) chunk[i - 1] = chunk[i]!
    chunk.pop()
    if (chunk.length >= chunkKeysMergeBelow) return was
    const k = c + 1 < chunks.length ? c + 1 : c - 1
    const neighbour = k >= 0 ? chunks[k]! : undefined
    if (neighbour === undefined || neighbour.length + chunk.length > chunkKeysMax / 2) return was
    if (k > c) chunk.push(...neighbour)
    else chunk.unshift(...neighbour)
    chunks.splice(k, 1)
    return was
  }

  /** The smallest key ≥ `key`, or undefined. */
  ceiling(key: number): number | undefined {
    const c = this.chunkFor(key)
    if (c === this.chunks.length) return undefined
    const chunk = this.chunks[c]!
    return chunk[lowerBound(chunk, key)]
  }

  /** The largest key ≤ `key`, or undefined. */
  floor(key: number): number | undefined {
    const chunks = this.chunks
    const c = this.chunkFor(key)
    if (c < chunks.length) {
      const chunk = chunks[c]!
      const pos = lowerBound(chunk, key)
      if (chunk[pos] === key) return key
      if (pos > 0) return chunk[pos - 1]
    }
    return c > 0 ? chunks[c - 1]!.at(-1) : undefined
  }

  /** The largest key, or undefined when empty. */
  max(): number | undefined {
    return this.chunks.at(-1)?.at(-1)
  }

  /** Every key, ascending (a fresh array). */
  toArray(): number[] {
    const out: number[] = []
    for (const chunk of this.chunks) for (const k of chunk) out.push(k)
    return out
  }
}
