/**
 * A persistent sorted set of distinct numbers, stored as copy-on-write chunks: a change copies
 * the root (one slot per chunk) and the one chunk it touches, never the whole set. A chunk holds
 * at most `chunkKeysMax` keys (a split leaves two halves; one under a quarter merges with a
 * neighbour), so a change to a set of n keys copies roughly n / 48 + 48 slots. 64 was measured
 * best on the pmem churn (against 32, 48, 96 and 128).
 *
 * The pmem allocator keeps two of these per device (free extents by offset and by size), with an
 * extent packed into one exact integer key (see `extents.ts`).
 */

/** Largest chunk; a chunk that grows past it splits in two halves. */
export const chunkKeysMax = 64
/** A chunk smaller than this after a removal merges with a neighbour when the two fit. */
const chunkKeysMergeBelow = chunkKeysMax / 4

/** An immutable sorted set of numbers: non-empty sorted chunks, in order. */
export interface SortedKeys {
  readonly chunks: ReadonlyArray<ReadonlyArray<number>>
  readonly size: number
}

/** The empty set. */
export const emptyKeys: SortedKeys = { chunks: [], size: 0 }

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

/** Index of the first chunk whose last key is ≥ key (chunks.length if none). */
function chunkFor(chunks: ReadonlyArray<ReadonlyArray<number>>, key: number): number {
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

/** A set holding exactly `keys` (which must be sorted ascending and distinct). */
export function keysOf(keys: ReadonlyArray<number>): SortedKeys {
  for (let i = 1; i < keys.length; i++) {
    if (!(keys[i - 1]! < keys[i]!)) throw new Error("keysOf: keys must ascend strictly")
  }
  const chunks: number[][] = []
  const half = chunkKeysMax / 2
  for (let i = 0; i < keys.length; i += half) chunks.push(keys.slice(i, i + half))
  return { chunks, size: keys.length }
}

/** A new set with `key` added. Adding a key already present is a defect (throws). */
export function insertKey(set: SortedKeys, key: number): SortedKeys {
  const chunks = set.chunks.slice()
  insertInto(chunks, key)
  return { chunks, size: set.size + 1 }
}

/**
 * A new set with `removeA` and `removeB` (each unless undefined) taken out, then `add` (unless
 * undefined) put in: one change of the allocator, with the root copied once instead of once per
 * key. The same defects as `removeKey` and `insertKey` throw.
 */
export function changedKeys(set: SortedKeys, removeA: number | undefined,
  removeB: number | undefined, add: number | undefined): SortedKeys {
  const chunks = set.chunks.slice()
  let size = set.size
  if (removeA !== undefined) {
    removeFrom(chunks, removeA)
    size--
  }
  if (removeB !== undefined) {
    removeFrom(chunks, removeB)
    size--
  }
  if (add !== undefined) {
    insertInto(chunks, add)
    size++
  }
  return { chunks, size }
}

/** Inserts `key` into `chunks` (a fresh root this caller owns); chunks themselves are copied. */
function insertInto(chunks: Array<ReadonlyArray<number>>, key: number): void {
  if (chunks.length === 0) {
    chunks.push([key])
    return
  }
  let c = chunkFor(chunks, key)
  if (c === chunks.length) c--
  const chunk = chunks[c]!
  const pos = lowerBound(chunk, key)
  if (chunk[pos] === key) throw new Error(`insertKey: ${key} is already present`)
  const grown = insertedAt(chunk, pos, key)
  if (grown.length <= chunkKeysMax) chunks[c] = grown
  else {
    const mid = grown.length >>> 1
    chunks.splice(c, 1, grown.slice(0, mid), grown.slice(mid))
  }
}

/** A copy of `chunk` with `key` inserted at `pos`, in one pass. */
function insertedAt(chunk: ReadonlyArray<number>, pos: number, key: number): number[] {
  const n = chunk.length
  const out = new Array<number>(n + 1)
  out[0] = key
  for (let i = 0; i < pos; i++) out[i] = chunk[i]!
  out[pos] = key
  for (let i = pos; i < n; i++) out[i + 1] = chunk[i]!
  return out
}

/** A new set without `key`. Removing a key that is absent is a defect (throws). */
export function removeKey(set: SortedKeys, key: number): SortedKeys {
  const chunks = set.chunks.slice()
  removeFrom(chunks, key)
  return { chunks, size: set.size - 1 }
}

/** Removes `key` from `chunks` (a fresh root this caller owns); chunks themselves are copied. */
function removeFrom(chunks: Array<ReadonlyArray<number>>, key: number): void {
  const c = chunkFor(chunks, key)
  const chunk = c < chunks.length ? chunks[c]! : undefined
  const pos = chunk === undefined ? -1 : lowerBound(chunk, key)
  if (chunk === undefined || chunk[pos] !== key) {
    throw new Error(`removeKey: ${key} is not present`)
  }
  const n = chunk.length
  if (n === 1) {
    chunks.splice(c, 1)
    return
  }
  const shrunk = chunk.slice(0, n - 1)
  for (let i = pos; i < n - 1; i++) shrunk[i] = chunk[i + 1]!
  if (shrunk.length < chunkKeysMergeBelow) {
    const k = c + 1 < chunks.length ? c + 1 : c - 1
    const neighbour = k >= 0 ? chunks[k]! : undefined
    if (neighbour !== undefined && neighbour.length + shrunk.length <= chunkKeysMax / 2) {
      chunks.splice(Math.min(c, k), 2, k > c ? shrunk.concat(neighbour) : neighbour.concat(shrunk))
      return
    }
  }
  chunks[c] = shrunk
}

/**
 * A new set with `from` replaced by `to`, where no other key lies between them (so `to` takes
 * `from`'s place): one chunk copied instead of two. Breaking that condition is a defect.
 */
export function replaceKey(set: SortedKeys, from: number, to: number): SortedKeys {
  const c = chunkFor(set.chunks, from)
  const chunk = c < set.chunks.length ? set.chunks[c]! : undefined
  const pos = chunk === undefined ? -1 : lowerBound(chunk, from)
  if (chunk === undefined || chunk[pos] !== from) {
    throw new Error(`replaceKey: ${from} is not present`)
  }
  const prev = pos > 0 ? chunk[pos - 1] : c > 0 ? set.chunks[c - 1]!.at(-1) : undefined
  const next = pos + 1 < chunk.length ? chunk[pos + 1] : set.chunks[c + 1]?.[0]
  if ((prev !== undefined && !(prev < to)) || (next !== undefined && !(to < next))) {
    throw new Error(`replaceKey: ${to} does not take the place of ${from}`)
  }
  const copy = chunk.slice()
  copy[pos] = to
  const chunks = set.chunks.slice()
  chunks[c] = copy
  return { chunks, size: set.size }
}

/** The smallest key ≥ `key`, or undefined. */
export function ceilingKey(set: SortedKeys, key: number): number | undefined {
  const c = chunkFor(set.chunks, key)
  if (c === set.chunks.length) return undefined
  const chunk = set.chunks[c]!
  return chunk[lowerBound(chunk, key)]
}

/** The largest key ≤ `key`, or undefined. */
export function floorKey(set: SortedKeys, key: number): number | undefined {
  const c = chunkFor(set.chunks, key)
  if (c < set.chunks.length) {
    const chunk = set.chunks[c]!
    const pos = lowerBound(chunk, key)
    if (chunk[pos] === key) return key
    if (pos > 0) return chunk[pos - 1]
  }
  return c > 0 ? set.chunks[c - 1]!.at(-1) : undefined
}

/** The largest key, or undefined when empty. */
export function maxKey(set: SortedKeys): number | undefined {
  return set.chunks.at(-1)?.at(-1)
}

/** Every key, ascending. */
export function keysToArray(set: SortedKeys): number[] {
  const out: number[] = []
  for (const chunk of set.chunks) for (const k of chunk) out.push(k)
  return out
}
