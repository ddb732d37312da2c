/**
 * A persistent string-keyed map on a rerootable lineage (see `reroot.ts`): the newest version
 * reads and writes a JavaScript `Map`; an older version reads after a reroot. A cell holding
 * `undefined` is an absent key.
 */
import { Edit, Lineage, reroot, Version, writeOne } from "./reroot.ts"

class MapStore<V> extends Lineage<string, V | undefined> {
  constructor(readonly data: Map<string, V> = new Map()) {
    super()
  }

  size(): number {
    return this.data.size
  }

  copy(): MapStore<V> {
    // Entry by entry through forEach: `new Map(map)` goes through the iterator and allocates a
    // [key, value] pair per entry (a fork copies the whole map).
    const data = new Map<string, V>()
    this.data.forEach(copyInto, data)
    return new MapStore(data)
  }

  read(key: string): V | undefined {
    return this.data.get(key)
  }

  write(key: string, value: V | undefined): V | undefined {
    const was = this.data.get(key)
    if (value === undefined) this.data.delete(key)
    else if (value !== was) this.data.set(key, value)
    return was
  }
}

/** `forEach` callback of `MapStore.copy`, with the target map as `this` (no closure per copy). */
function copyInto<V>(this: Map<string, V>, value: V, key: string): void {
  this.set(key, value)
}

/** An immutable map from strings to `V` (a version of its lineage). */
export type RMap<V> = Version<string, V | undefined>

/** A batch of writes to a map (see `Edit`); `set(key, undefined)` removes the key. */
export type RMapEdit<V> = Edit<string, V | undefined>

function storeOf<V>(map: RMap<V>): MapStore<V> {
  const store = map.lineage as MapStore<V>
  if (map.next !== null) reroot(map)
  return store
}

/** A new empty map (its own lineage). */
export function rmapEmpty<V>(): RMap<V> {
  return new MapStore<V>().root
}

/** A new map holding `entries` (its own lineage; a later entry wins over an earlier one). */
export function rmapOf<V>(entries: Iterable<readonly [string, V]>): RMap<V> {
  const data = new Map<string, V>()
  for (const [key, value] of entries) {
    if (value === undefined) throw new Error(`rmapOf: undefined value for key ${key}`)
    data.set(key, value)
  }
  return new MapStore<V>(data).root
}

/** The value under `key`, or undefined. */
export function rmapGet<V>(map: RMap<V>, key: string): V | undefined {
  return storeOf(map).data.get(key)
}

/** How many keys the map holds. */
export function rmapSize<V>(map: RMap<V>): number {
  return storeOf(map).data.size
}

/** A new version with `key` → `value` (`value` must not be undefined). */
export function rmapSet<V>(map: RMap<V>, key: string, value: V): RMap<V> {
  if (value === undefined) throw new Error(`rmapSet: undefined value for key ${key}`)
  return writeOne(map, key, value)
}

/** A new version without `key` (the same version when it was absent). */
export function rmapRemove<V>(map: RMap<V>, key: string): RMap<V> {
  return writeOne<string, V | undefined>(map, key, undefined)
}

/** Starts a batch of writes to `map`; end it with `done` or `abort`. */
export function rmapEdit<V>(map: RMap<V>): RMapEdit<V> {
  return new Edit(map)
}

/**
 * Every entry, by ascending key (a fresh array). Key order, not the store's insertion order: a
 * reroot re-inserts keys, so insertion order would depend on which versions were read before.
 */
export function rmapEntries<V>(map: RMap<V>): Array<[string, V]> {
  return [...storeOf(map).data].sort(byKey)
}

/** Every value, by ascending key (a fresh array). */
export function rmapValues<V>(map: RMap<V>): V[] {
  return rmapEntries(map).map((entry) => entry[1])
}

function byKey<V>(a: [string, V], b: [string, V]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0
}
