/**
 * A small persistent (immutable) map from strings to values: a hash array mapped trie with
 * 32-way, bitmap-compressed branches. `set` and `remove` copy only the path from the root to the
 * changed entry (a branch holds only its present children, so a copy is as short as it can be),
 * so an old map stays valid and cheap to keep: a dry run is the same call with the result
 * discarded.
 *
 * A branch is one array: its bitmap (which of the 32 slots are present, as a signed 32-bit
 * integer) at index 0, then the present children in slot order — one object per level, so a
 * lookup follows one pointer per level. A child is a branch, one entry (key, its hash, value),
 * or a bucket of entries whose full 32-bit hashes are equal (rare). Iteration order is the order
 * of the keys' hashes (lowest bits first): deterministic, not insertion order.
 */

const bitsPerLevel = 5
const slotMask = (1 << bitsPerLevel) - 1
/** Keys longer than this are a caller bug (uuids and host names are far shorter). */
export const hamtKeyLengthMax = 4096

interface Entry<V> {
  readonly kind: 0
  readonly hash: number
  readonly key: string
  readonly value: V
}

/** Entries whose full hashes are equal: at least two, distinct keys. */
interface Bucket<V> {
  readonly kind: 2
  readonly hash: number
  readonly entries: ReadonlyArray<Entry<V>>
}

/** `[bitmap, ...children]`: children of the set bits, in bit order. Never changed once built. */
type Branch = ReadonlyArray<unknown>

type Node<V> = Entry<V> | Branch | Bucket<V>

/** An immutable string-keyed map. Build one with `emptyMap()` and `mapSet`. */
export interface PersistentMap<V> {
  readonly root: Node<V> | undefined
  readonly size: number
}

const emptyValue: PersistentMap<never> = { root: undefined, size: 0 }

/** The empty map. */
export function emptyMap<V>(): PersistentMap<V> {
  return emptyValue
}

/**
 * The last two keys hashed and their hashes: an operation usually reads a key and then sets or
 * removes it (and touches a second map between), so most hashes are found here. A cache of a
 * pure function: it changes no result.
 */
let recentKeyA = ""
let recentHashA = fnv1a("")
let recentKeyB = ""
let recentHashB = recentHashA

/** FNV-1a over the key's UTF-16 code units (remembered for the last two keys). */
function hashOf(key: string): number {
  if (key === recentKeyA) return recentHashA
  if (key === recentKeyB) return recentHashB
  if (key.length > hamtKeyLengthMax) throw new Error(`map key longer than ${hamtKeyLengthMax}`)
  const hash = fnv1a(key)
  recentKeyB = recentKeyA
  recentHashB = recentHashA
  recentKeyA = key
  recentHashA = hash
  return hash
}

function fnv1a(key: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < key.length; i++) {
    h = Math.imul(h ^ key.charCodeAt(i), 0x01000193)
  }
  return h >>> 0
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333)
  return Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24
}

function isBranch<V>(node: Node<V>): node is Branch {
  return Array.isArray(node)
}

/** Position in `branch` of the child for slot bit `bit` (which must be set). */
function childAt(branch: Branch, bit: number): number {
  return 1 + popcount((branch[0] as number) & (bit - 1))
}

/** The value stored under `key`, or undefined. */
export function mapGet<V>(map: PersistentMap<V>, key: string): V | undefined {
  const hash = hashOf(key)
  let node = map.root
  let shift = 0
  while (node !== undefined) {
    if (isBranch(node)) {
      const bit = 1 << ((hash >>> shift) & slotMask)
      const bitmap = node[0] as number
      if ((bitmap & bit) === 0) return undefined
      node = node[1 + popcount(bitmap & (bit - 1))] as Node<V>
      shift += bitsPerLevel
    } else if (node.kind === 0) {
      return node.key === key ? node.value : undefined
    } else {
      if (node.hash !== hash) return undefined
      for (const e of node.entries) if (e.key === key) return e.value
      return undefined
    }
  }
  return undefined
}

/** Whether `key` is in the map. */
export function mapHas<V>(map: PersistentMap<V>, key: string): boolean {
  return mapGet(map, key) !== undefined
}

/** Set by `setIn`: whether the key it stored was already present (its entry replaced). */
let replacedKey = false

/** A new map with `key` bound to `value` (`value` must not be undefined). */
export function mapSet<V>(map: PersistentMap<V>, key: string, value: V): PersistentMap<V> {
  if (value === undefined) throw new Error("mapSet: undefined is not a storable value")
  const hash = hashOf(key)
  const entry: Entry<V> = { kind: 0, hash, key, value }
  replacedKey = false
  const root = map.root === undefined ? entry : setIn(map.root, entry, 0)
  return { root, size: replacedKey ? map.size : map.size + 1 }
}

function setIn<V>(node: Node<V>, entry: Entry<V>, shift: number): Node<V> {
  if (isBranch(node)) {
    const bit = 1 << ((entry.hash >>> shift) & slotMask)
    const bitmap = node[0] as number
    const at = 1 + popcount(bitmap & (bit - 1))
    const n = node.length
    if ((bitmap & bit) !== 0) {
      const out = new Array<unknown>(n)
      for (let i = 0; i < n; i++) out[i] = node[i]
      out[at] = setIn(node[at] as Node<V>, entry, shift + bitsPerLevel)
      return out
    }
    const out = new Array<unknown>(n + 1)
    out[0] = bitmap | bit
    for (let i = 1; i < at; i++) out[i] = node[i]
    out[at] = entry
    for (let i = at; i < n; i++) out[i + 1] = node[i]
    return out
  }
  if (node.hash === entry.hash) {
    if (node.kind === 0) {
      if (node.key === entry.key) {
        replacedKey = true
        return entry
      }
      return { kind: 2, hash: entry.hash, entries: [node, entry] }
    }
    const entries = node.entries.filter((e) => e.key !== entry.key)
    if (entries.length < node.entries.length) replacedKey = true
    entries.push(entry)
    return { kind: 2, hash: entry.hash, entries }
  }
  // Two different hashes: push the old node one level down and retry there.
  if (shift >= 32) throw new Error("hamt: distinct hashes not separated within 32 bits")
  const down: Branch = [(1 << ((node.hash >>> shift) & slotMask)) | 0, node]
  return setIn(down, entry, shift)
}

/** A new map without `key` (the same map when `key` is absent). */
export function mapRemove<V>(map: PersistentMap<V>, key: string): PersistentMap<V> {
  if (map.root === undefined) return map
  const root = removeIn(map.root, hashOf(key), 0, key)
  if (root === map.root) return map
  return { root, size: map.size - 1 }
}

/** The node without `key`; the same node when `key` is absent below it. */
function removeIn<V>(
  node: Node<V>,
  hash: number,
  shift: number,
  key: string,
): Node<V> | undefined {
  if (!isBranch(node)) {
    if (node.kind === 0) return node.key === key ? undefined : node
    if (node.hash !== hash) return node
    const entries = node.entries.filter((e) => e.key !== key)
    if (entries.length === node.entries.length) return node
    return entries.length === 1 ? entries[0] : { kind: 2, hash, entries }
  }
  const bit = 1 << ((hash >>> shift) & slotMask)
  const bitmap = node[0] as number
  if ((bitmap & bit) === 0) return node
  const at = childAt(node, bit)
  const child = node[at] as Node<V>
  const next = removeIn(child, hash, shift + bitsPerLevel, key)
  if (next === child) return node
  const n = node.length
  if (next !== undefined) {
    // Collapse a branch left with a single entry or bucket, so the trie stays shallow.
    if (n === 2 && !isBranch(next)) return next
    const out = new Array<unknown>(n)
    for (let i = 0; i < n; i++) out[i] = node[i]
    out[at] = next
    return out
  }
  if (n === 2) return undefined
  if (n === 3) {
    const only = node[at === 1 ? 2 : 1] as Node<V>
    if (!isBranch(only)) return only
  }
  const out = new Array<unknown>(n - 1)
  out[0] = bitmap & ~bit
  for (let i = 1; i < at; i++) out[i] = node[i]
  for (let i = at + 1; i < n; i++) out[i - 1] = node[i]
  return out
}

/** Every entry, in hash order (deterministic for a given set of keys). */
export function* mapEntries<V>(map: PersistentMap<V>): Generator<[string, V]> {
  if (map.root !== undefined) yield* entriesOf(map.root)
}

function* entriesOf<V>(node: Node<V>): Generator<[string, V]> {
  if (isBranch(node)) {
    for (let i = 1; i < node.length; i++) yield* entriesOf(node[i] as Node<V>)
  } else if (node.kind === 0) yield [node.key, node.value]
  else for (const e of node.entries) yield [e.key, e.value]
}

/** Every value, in hash order. */
export function* mapValues<V>(map: PersistentMap<V>): Generator<V> {
  for (const [, v] of mapEntries(map)) yield v
}
