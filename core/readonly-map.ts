/** Copy-on-write helpers for the readonly maps the core's immutable states hold. */

/** A copy of `map` with `key` set to `value`; `map` is unchanged. */
export function withEntry<K, V>(map: ReadonlyMap<K, V>, key: K, value: V): ReadonlyMap<K, V> {
  const next = new Map(map)
  next.set(key, value)
  return next
}

/** A copy of `map` without `key`; `map` is unchanged. */
export function withoutEntry<K, V>(map: ReadonlyMap<K, V>, key: K): ReadonlyMap<K, V> {
  const next = new Map(map)
  next.delete(key)
  return next
}
