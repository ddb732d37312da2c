/**
 * A small persistent (immutable) map from strings to values: a hash array mapped trie with
 * 32-way branch nodes. `set` and `remove` copy only the path from the root to the changed leaf
 * (at most seven nodes of 32 slots), so an old map stays valid and cheap to keep: a dry run is
 * the same call with the result discarded.
 *
 * Iteration order is the order of the keys' hashes: deterministic, not insertion order.
 */

const bitsPerLevel = 5
const slotsPerBranch = 1 << bitsPerLevel
const slotMask = slotsPerBranch - 1
/** Keys longer than this are a caller bug (uuids and host names are far shorter). */
export const hamtKeyLengthMax = 4096

interface Branch<V> {
  readonly leaf: false
  readonly slots: ReadonlyArray<Node<V> | undefined>
}

interface Leaf<V> {
  readonly leaf: true
  readonly hash: number
  /** Keys sharing this full 32-bit hash (almost always one). */
  readonly keys: ReadonlyArray<string>
  readonly values: ReadonlyArray<V>
}

type Node<V> = Branch<V> | Leaf<V>

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
    if (node.leaf) {
      if (node.hash !== hash) return undefined
      const k = node.keys.indexOf(key)
      return k < 0 ? undefined : node.values[k]
    }
    node = node.slots[(hash >>> shift) & slotMask]
    shift += bitsPerLevel
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
  const box = { added: false }
  const root = setIn(map.root, hashOf(key), 0, key, value, box)
  return { root, size: map.size + (box.added ? 1 : 0) }
}

function setIn<V>(
  node: Node<V> | undefined,
  hash: number,
  shift: number,
  key: string,
  value: V,
  box: { added: boolean },
): Node<V> {
  if (node === undefined) {
    box.added = true
    return { leaf: true, hash, keys: [key], values: [value] }
  }
  if (node.leaf) {
    if (node.hash === hash) {
      const k = node.keys.indexOf(key)
      if (k >= 0) {
        const values = node.values.slice()
        values[k] = value
        return { leaf: true, hash, keys: node.keys, values }
      }
      box.added = true
      return { leaf: true, hash, keys: [...node.keys, key], values: [...node.values, value] }
    }
    // Two different hashes: push the old leaf one level down and retry there.
    if (shift >= 32) throw new Error("hamt: distinct hashes not separated within 32 bits")
    const slots = new Array<Node<V> | undefined>(slotsPerBranch).fill(undefined)
    slots[(node.hash >>> shift) & slotMask] = node
    return setIn({ leaf: false, slots }, hash, shift, key, value, box)
  }
  const index = (hash >>> shift) & slotMask
  const slots = node.slots.slice()
  slots[index] = setIn(node.slots[index], hash, shift + bitsPerLevel, key, value, box)
  return { leaf: false, slots }
}

/** A new map without `key` (the same map when `key` is absent). */
export function mapRemove<V>(map: PersistentMap<V>, key: string): PersistentMap<V> {
  if (map.root === undefined) return map
  const box = { removed: false }
  const root = removeIn(map.root, hashOf(key), 0, key, box)
  if (!box.removed) return map
  return { root, size: map.size - 1 }
}

function removeIn<V>(
  node: Node<V>,
  hash: number,
  shift: number,
  key: string,
  box: { removed: boolean },
): Node<V> | undefined {
  if (node.leaf) {
    if (node.hash !== hash) return node
    const k = node.keys.indexOf(key)
    if (k < 0) return node
    box.removed = true
    if (node.keys.length === 1) return undefined
    return {
      leaf: true,
      hash,
      keys: node.keys.filter((_, i) => i !== k),
      values: node.values.filter((_, i) => i !== k),
    }
  }
  const index = (hash >>> shift) & slotMask
  const child = node.slots[index]
  if (child === undefined) return node
  const next = removeIn(child, hash, shift + bitsPerLevel, key, box)
  if (next === child) return node
  const slots = node.slots.slice()
  slots[index] = next
  // Collapse a branch left with a single leaf, so the trie stays as shallow as it can be.
  let only: Node<V> | undefined
  let children = 0
  for (const s of slots) {
    if (s !== undefined) {
      children++
      only = s
    }
  }
  if (children === 0) return undefined
  if (children === 1 && only !== undefined && only.leaf) return only
  return { leaf: false, slots }
}

/** Every entry, in hash order (deterministic for a given set of keys). */
export function* mapEntries<V>(map: PersistentMap<V>): Generator<[string, V]> {
  if (map.root !== undefined) yield* entriesOf(map.root)
}

function* entriesOf<V>(node: Node<V>): Generator<[string, V]> {
  if (node.leaf) {
    for (let k = 0; k < node.keys.length; k++) yield [node.keys[k]!, node.values[k]!]
    return
  }
  for (const child of node.slots) if (child !== undefined) yield* entriesOf(child)
}

/** Every value, in hash order. */
export function* mapValues<V>(map: PersistentMap<V>): Generator<V> {
  for (const [, v] of mapEntries(map)) yield v
}
