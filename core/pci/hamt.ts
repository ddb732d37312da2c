/**
 * A persistent map from strings to values: a hash array mapped trie (32-way, bitmap-compressed).
 * `set` and `remove` copy only the path to the key, so PCI accounting can index instances
 * cluster-wide and still hand out a new state per operation at O(log32 n) cost.
 */

const bits = 5
const mask = (1 << bits) - 1
/** Depth at which all 32 hash bits are used up; keys colliding there share a bucket. */
const shiftMax = 30

interface Entry<V> {
  readonly kind: 0
  readonly hash: number
  readonly key: string
  readonly value: V
}
interface Branch<V> {
  readonly kind: 1
  readonly bitmap: number
  readonly children: ReadonlyArray<HNode<V>>
}
interface Bucket<V> {
  readonly kind: 2
  readonly hash: number
  readonly entries: ReadonlyArray<Entry<V>>
}
type HNode<V> = Entry<V> | Branch<V> | Bucket<V>

/** An immutable string-keyed map. */
export interface HMap<V> {
  readonly size: number
  readonly root: Branch<V>
}

const emptyBranch: Branch<never> = { kind: 1, bitmap: 0, children: [] }

/** The empty map. */
export function hmapEmpty<V>(): HMap<V> {
  return { size: 0, root: emptyBranch }
}

/** FNV-1a over the UTF-16 code units of `key`. */
export function hashOf(key: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** A copy of `items` with `value` at `at` (a plain loop: faster than `with` on V8 today). */
function replaced<T>(items: ReadonlyArray<T>, at: number, value: T): T[] {
  const out = new Array<T>(items.length)
  for (let i = 0; i < items.length; i++) out[i] = items[i]!
  out[at] = value
  return out
}

/** A copy of `items` with `value` inserted at `at`. */
function inserted<T>(items: ReadonlyArray<T>, at: number, value: T): T[] {
  const out = new Array<T>(items.length + 1)
  for (let i = 0; i < at; i++) out[i] = items[i]!
  out[at] = value
  for (let i = at; i < items.length; i++) out[i + 1] = items[i]!
  return out
}

/** A copy of `items` without the one at `at`. */
function without<T>(items: ReadonlyArray<T>, at: number): T[] {
  const out = new Array<T>(items.length - 1)
  for (let i = 0; i < at; i++) out[i] = items[i]!
  for (let i = at + 1; i < items.length; i++) out[i - 1] = items[i]!
  return out
}

const popcount = (x: number): number => {
  x -= (x >>> 1) & 0x55555555
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333)
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24)
}

/** The value under `key`, or undefined. */
export function hmapGet<V>(map: HMap<V>, key: string): V | undefined {
  const hash = hashOf(key)
  let node: HNode<V> = map.root
  for (let shift = 0; ; shift += bits) {
    if (node.kind === 0) return node.key === key ? node.value : undefined
    if (node.kind === 2) return node.entries.find((e) => e.key === key)?.value
    const bit = 1 << ((hash >>> shift) & mask)
    if ((node.bitmap & bit) === 0) return undefined
    node = node.children[popcount(node.bitmap & (bit - 1))]!
  }
}

/** A new map with `key` → `value`. */
export function hmapSet<V>(map: HMap<V>, key: string, value: V): HMap<V> {
  const added = { yes: false }
  const entry: Entry<V> = { kind: 0, hash: hashOf(key), key, value }
  const root = setIn(map.root, entry, 0, added) as Branch<V>
  return { size: map.size + (added.yes ? 1 : 0), root }
}

function setIn<V>(node: HNode<V>, entry: Entry<V>, shift: number,
  added: { yes: boolean }): HNode<V> {
  if (node.kind === 0) {
    if (node.key === entry.key) return entry
    added.yes = true
    return merge(node, entry, shift)
  }
  if (node.kind === 2) {
    const i = node.entries.findIndex((e) => e.key === entry.key)
    if (i < 0) added.yes = true
    const entries = i < 0 ? [...node.entries, entry] : node.entries.with(i, entry)
    return { kind: 2, hash: node.hash, entries }
  }
  const bit = 1 << ((entry.hash >>> shift) & mask)
  const at = popcount(node.bitmap & (bit - 1))
  if ((node.bitmap & bit) === 0) {
    added.yes = true
    return { kind: 1, bitmap: node.bitmap | bit, children: inserted(node.children, at, entry) }
  }
  const child = setIn(node.children[at]!, entry, shift + bits, added)
  return { kind: 1, bitmap: node.bitmap, children: replaced(node.children, at, child) }
}

function merge<V>(a: Entry<V>, b: Entry<V>, shift: number): HNode<V> {
  if (shift > shiftMax || a.hash === b.hash) return { kind: 2, hash: a.hash, entries: [a, b] }
  const ia = (a.hash >>> shift) & mask
  const ib = (b.hash >>> shift) & mask
  if (ia === ib) return { kind: 1, bitmap: 1 << ia, children: [merge(a, b, shift + bits)] }
  const children = ia < ib ? [a, b] : [b, a]
  return { kind: 1, bitmap: (1 << ia) | (1 << ib), children }
}

/** A new map without `key` (the same map when it was absent). */
export function hmapRemove<V>(map: HMap<V>, key: string): HMap<V> {
  const root = removeIn(map.root, key, hashOf(key), 0)
  if (root === map.root) return map
  // The root never collapses (shift 0), so it is a branch or gone.
  const branch = root === undefined ? (emptyBranch as Branch<V>) : root as Branch<V>
  return { size: map.size - 1, root: branch }
}

/** The node without `key`: the same node if absent, undefined if it became empty. */
function removeIn<V>(node: HNode<V>, key: string, hash: number, shift: number):
  HNode<V> | undefined {
  if (node.kind === 0) return node.key === key ? undefined : node
  if (node.kind === 2) {
    const i = node.entries.findIndex((e) => e.key === key)
    if (i < 0) return node
    const entries = node.entries.toSpliced(i, 1)
    return entries.length === 1 ? entries[0]! : { kind: 2, hash: node.hash, entries }
  }
  const bit = 1 << ((hash >>> shift) & mask)
  if ((node.bitmap & bit) === 0) return node
  const at = popcount(node.bitmap & (bit - 1))
  const child = node.children[at]!
  const next = removeIn(child, key, hash, shift + bits)
  if (next === child) return node
  if (next === undefined) {
    const bitmap = node.bitmap & ~bit
    if (bitmap === 0) return undefined
    const children = without(node.children, at)
    // A branch left with one entry collapses into it (entries may sit at any depth).
    if (children.length === 1 && children[0]!.kind !== 1 && shift > 0) return children[0]
    return { kind: 1, bitmap, children }
  }
  if (next.kind !== 1 && node.children.length === 1 && shift > 0) return next
  return { kind: 1, bitmap: node.bitmap, children: replaced(node.children, at, next) }
}

/** Every entry, in hash order (deterministic for a given set of keys). */
export function hmapEntries<V>(map: HMap<V>): Array<[string, V]> {
  const out: Array<[string, V]> = []
  const walk = (node: HNode<V>): void => {
    if (node.kind === 0) out.push([node.key, node.value])
    else if (node.kind === 2) for (const e of node.entries) out.push([e.key, e.value])
    else for (const c of node.children) walk(c)
  }
  walk(map.root)
  return out
}
