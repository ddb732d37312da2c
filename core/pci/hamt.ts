/**
 * The persistent string-keyed map PCI accounting indexes instances with: the same hash array
 * mapped trie as pmem's (`../pmem/hamt.ts`: 32-way, bitmap-compressed branches stored as one
 * array each), under the names the PCI code uses. `set` and `remove` copy only the path to the
 * key, so every operation can hand out a new state at O(log32 n) cost.
 */
import {
  emptyMap, mapEntries, mapGet, mapRemove, mapSet, type PersistentMap,
} from "../pmem/hamt.ts"

/** An immutable string-keyed map. */
export type HMap<V> = PersistentMap<V>

/** The empty map. */
export function hmapEmpty<V>(): HMap<V> {
  return emptyMap<V>()
}

/** The value under `key`, or undefined. */
export const hmapGet: <V>(map: HMap<V>, key: string) => V | undefined = mapGet

/** A new map with `key` → `value` (`value` must not be undefined). */
export const hmapSet: <V>(map: HMap<V>, key: string, value: V) => HMap<V> = mapSet

/** A new map without `key` (the same map when it was absent). */
export const hmapRemove: <V>(map: HMap<V>, key: string) => HMap<V> = mapRemove

/** Every entry, in hash order (deterministic for a given set of keys). */
export function hmapEntries<V>(map: HMap<V>): Array<[string, V]> {
  return [...mapEntries(map)]
}
