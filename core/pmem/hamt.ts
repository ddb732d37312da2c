/**
 * A small persistent (immutable) map from strings to values: a hash array mapped trie with
 * 32-way branch nodes. `set` and `remove` copy only the path from the root to the changed entry
 * (at most seven branches of 32 slots, two or three for a thousand keys), so an old map stays
 * valid and cheap to keep: a dry run is the same call with the result discarded.
 *
 * A slot holds a branch, one entry (key, its hash, value), or a bucket of entries whose full
 * 32-bit hashes are equal (rare). Iteration order is the order of the keys' hashes:
 * deterministic, not insertion order.
 */

const bitsPerLevel = 5
const slotsPerBranch = 1 << bitsPerLevel
const slotMask = slotsPerBranch - 1
/** Keys longer than this are a caller bug (uuids and host names are far shorter). */
export const hamtKeyLengthMax = 4096

interface Entry<V> {
  readonly kind: 0
  readonly hash: number
  readonly key: string
  readonly value: V
}

interface Branch<V> {
  readonly kind: 1
  readonly slots: ReadonlyArray<Node<V> | undefined>
}

/** Entries whose full hashes are equal: at least two, distinct keys. */
interface Bucket<V> {
  readonly kind: 2
  readonly hash: number
  readonly entries: ReadonlyArray<Entry<V>>
}

type Node<V> = Entry<V> | Branch<V> | Bucket<V>

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

/** FNV-1a over the key's UTF-16 code units. */
function hashOf(key: string): number {
  if (key.length > hamtKeyLengthMax) throw new Error(`map key longer than ${hamtKeyLengthMax}`)
  let h = 0x811c9dc5
  for (let i = 0; i < key.length; i++) {
    h = Math.imul(h ^ key.charCodeAt(i), 0x01000193)
  }
  return h >>> 0
}

/** The value stored under `key`, or undefined. */
export function mapGet<V>(map: PersistentMap<V>, key: string): V | undefined {
  const hash = hashOf(key)
  let node = map.root
  let shift = 0
  while (node !== undefined) {
    if (node.kind === 1) {
      node = node.slots[(hash >>> shift) & slotMask]
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

/** A new map with `key` bound to `value` (`value` must not be undefined). */
export function mapSet<V>(map: PersistentMap<V>, key: string, value: V): PersistentMap<V> {
  if (value === undefined) throw new Error("mapSet: undefined is not a storable value")
  const hash = hashOf(key)
  const entry: Entry<V> = { kind: 0, hash, key, value }
  const root = map.root === undefined ? entry : setIn(map.root, entry, 0)
  // The entry object itself lands in the trie only when the key is new or replaced in place;
  // the size grows exactly when no entry of this key existed before.
  return { root, size: map.size + (hasKey(map.root, hash, key) ? 0 : 1) }
}

/** Whether the trie under `node` has an entry for `key` (whose hash is `hash`). */
function hasKey<V>(node: Node<V> | undefined, hash: number, key: string): boolean {
  let shift = 0
  while (node !== undefined) {
    if (node.kind === 1) {
      node = node.slots[(hash >>> shift) & slotMask]
      shift += bitsPerLevel
    } else if (node.kind === 0) return node.key === key
    else return node.hash === hash && node.entries.some((e) => e.key === key)
  }
  return false
}

function setIn<V>(node: Node<V>, entry: Entry<V>, shift: number): Node<V> {
  if (node.kind === 1) {
    const index = (entry.hash >>> shift) & slotMask
    const child = node.slots[index]
    const slots = node.slots.slice()
    slots[index] = child === undefined ? entry : setIn(child, entry, shift + bitsPerLevel)
    return { kind: 1, slots }
  }
  if (node.hash === entry.hash) {
    if (node.kind === 0) {
      return node.key === entry.key
        ? entry
        : { kind: 2, hash: entry.hash, entries: [node, entry] }
    }
    const entries = node.entries.filter((e) => e.key !== entry.key)
    entries.push(entry)
    return { kind: 2, hash: entry.hash, entries }
  }
  // Two different hashes: push the old node one level down and retry there.
  if (shift >= 32) throw new Error("hamt: distinct hashes not separated within 32 bits")
  const slots = new Array<Node<V> | undefined>(slotsPerBranch).fill(undefined)
  slots[(node.hash >>> shift) & slotMask] = node
  return setIn({ kind: 1, slots }, entry, shift)
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
  if (node.kind === 0) return node.key === key ? undefined : node
  if (node.kind === 2) {
    if (node.hash !== hash) return node
    const entries = node.entries.filter((e) => e.key !== key)
    if (entries.length === node.entries.length) return node
    return entries.length === 1 ? entries[0] : { kind: 2, hash, entries }
  }
  const index = (hash >>> shift) & slotMask
  const child = node.slots[index]
  if (child === undefined) return node
  const next = removeIn(child, hash, shift + bitsPerLevel, key)
  if (next === child) return node
  const slots = node.slots.slice()
  slots[index] = next
  // Collapse a branch left with a single entry or bucket, so the trie stays shallow.
  let only: Node<V> | undefined
  let children = 0
  for (let i = 0; i < slotsPerBranch; i++) {
    const s = slots[i]
    if (s !== undefined) {
      children++
      only = s
    }
  }
  if (children === 0) return undefined
  if (children === 1 && only !== undefined && only.kind !== 1) return only
  return { kind: 1, slots }
}

/** Every entry, in hash order (deterministic for a given set of keys). */
export function* mapEntries<V>(map: PersistentMap<V>): Generator<[string, V]> {
  if (map.root !== undefined) yield* entriesOf(map.root)
}

function* entriesOf<V>(node: Node<V>): Generator<[string, V]> {
  if (node.kind === 0) yield [node.key, node.value]
  else if (node.kind === 2) for (const e of node.entries) yield [e.key, e.value]
  else for (const child of node.slots) if (child !== undefined) yield* entriesOf(child)
}

/** Every value, in hash order. */
export function* mapValues<V>(map: PersistentMap<V>): Generator<V> {
  for (const [, v] of mapEntries(map)) yield v
}
