/**
 * A persistent sorted set of distinct numbers, stored as copy-on-write chunks: a change copies
 * the root (one slot per chunk) and the one chunk it touches, never the whole set. With chunks of
 * at most `chunkKeysMax` keys, a set of n keys costs about n / 64 + 128 copied slots per change.
 *
 * The pmem allocator keeps two of these per device (free extents by offset and by size), with an
 * extent packed into one exact integer key (see `extents.ts`).
 */

/** Largest chunk; a chunk that grows past it splits in two halves. */
export const chunkKeysMax = 128
/** A chunk smaller than this after a removal merges with a neighbour when the two fit. */
const chunkKeysMergeBelow = chunkKeysMax / 4

/** An immutable sorted set of numbers. `lasts[c]` is the largest key of `chunks[c]`. */
export interface SortedKeys {
  readonly chunks: ReadonlyArray<ReadonlyArray<number>>
  readonly lasts: ReadonlyArray<number>
  readonly size: number
}

/** The empty set. */
export const emptyKeys: SortedKeys = { chunks: [], lasts: [], size: 0 }

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

/** A set holding exactly `keys` (which must be sorted ascending and distinct). */
export function keysOf(keys: ReadonlyArray<number>): SortedKeys {
  for (let i = 1; i < keys.length; i++) {
    if (!(keys[i - 1]! < keys[i]!)) throw new Error("keysOf: keys must ascend strictly")
  }
  const chunks: number[][] = []
  const half = chunkKeysMax / 2
  for (let i = 0; i < keys.length; i += half) chunks.push(keys.slice(i, i + half))
  return { chunks, lasts: chunks.map((c) => c[c.length - 1]!), size: keys.length }
}

/** A new set with `key` added. Adding a key already present is a defect (throws). */
export function insertKey(set: SortedKeys, key: number): SortedKeys {
  if (set.size === 0) return { chunks: [[key]], lasts: [key], size: 1 }
  let c = lowerBound(set.lasts, key)
  if (c === set.chunks.length) c--
  const chunk = set.chunks[c]!
  const pos = lowerBound(chunk, key)
  if (chunk[pos] === key) throw new Error(`insertKey: ${key} is already present`)
  const grown = new Array<number>(chunk.length + 1)
  for (let i = 0; i < pos; i++) grown[i] = chunk[i]!
  grown[pos] = key
  for (let i = pos; i < chunk.length; i++) grown[i + 1] = chunk[i]!
  if (grown.length <= chunkKeysMax) return replaceChunk(set, c, grown, 1)
  const mid = grown.length >>> 1
  const chunks = set.chunks.slice()
  const lasts = set.lasts.slice()
  const low = grown.slice(0, mid)
  const high = grown.slice(mid)
  chunks.splice(c, 1, low, high)
  lasts.splice(c, 1, low[low.length - 1]!, high[high.length - 1]!)
  return { chunks, lasts, size: set.size + 1 }
}

function replaceChunk(
  set: SortedKeys,
  c: number,
  chunk: ReadonlyArray<number>,
  sizeDelta: number,
): SortedKeys {
  const chunks = set.chunks.slice()
  const lasts = set.lasts.slice()
  chunks[c] = chunk
  lasts[c] = chunk[chunk.length - 1]!
  return { chunks, lasts, size: set.size + sizeDelta }
}

/** A new set without `key`. Removing a key that is absent is a defect (throws). */
export function removeKey(set: SortedKeys, key: number): SortedKeys {
  const c = lowerBound(set.lasts, key)
  const chunk = c < set.chunks.length ? set.chunks[c]! : undefined
  const pos = chunk === undefined ? -1 : lowerBound(chunk, key)
  if (chunk === undefined || chunk[pos] !== key) {
    throw new Error(`removeKey: ${key} is not present`)
  }
  const shrunk = new Array<number>(chunk.length - 1)
  for (let i = 0; i < pos; i++) shrunk[i] = chunk[i]!
  for (let i = pos + 1; i < chunk.length; i++) shrunk[i - 1] = chunk[i]!
  if (shrunk.length === 0) {
    const chunks = set.chunks.slice()
    const lasts = set.lasts.slice()
    chunks.splice(c, 1)
    lasts.splice(c, 1)
    return { chunks, lasts, size: set.size - 1 }
  }
  if (shrunk.length < chunkKeysMergeBelow) {
    const n = c + 1 < set.chunks.length ? c + 1 : c - 1
    const neighbour = n >= 0 ? set.chunks[n]! : undefined
    if (neighbour !== undefined && neighbour.length + shrunk.length <= chunkKeysMax / 2) {
      const merged = n > c ? shrunk.concat(neighbour) : neighbour.concat(shrunk)
      const first = Math.min(c, n)
      const chunks = set.chunks.slice()
      const lasts = set.lasts.slice()
      chunks.splice(first, 2, merged)
      lasts.splice(first, 2, merged[merged.length - 1]!)
      return { chunks, lasts, size: set.size - 1 }
    }
  }
  return replaceChunk(set, c, shrunk, -1)
}

/** The smallest key ≥ `key`, or undefined. */
export function ceilingKey(set: SortedKeys, key: number): number | undefined {
  const c = lowerBound(set.lasts, key)
  if (c === set.chunks.length) return undefined
  const chunk = set.chunks[c]!
  return chunk[lowerBound(chunk, key)]
}

/** The largest key ≤ `key`, or undefined. */
export function floorKey(set: SortedKeys, key: number): number | undefined {
  const c = lowerBound(set.lasts, key)
  if (c < set.chunks.length) {
    const chunk = set.chunks[c]!
    const pos = lowerBound(chunk, key)
    if (chunk[pos] === key) return key
    if (pos > 0) return chunk[pos - 1]
  }
  return c > 0 ? set.lasts[c - 1] : undefined
}

/** The largest key, or undefined when empty. */
export function maxKey(set: SortedKeys): number | undefined {
  return set.lasts.length === 0 ? undefined : set.lasts[set.lasts.length - 1]
}

/** Every key, ascending. */
export function keysToArray(set: SortedKeys): number[] {
  const out: number[] = []
  for (const chunk of set.chunks) for (const k of chunk) out.push(k)
  return out
}
