/**
 * Rerootable versions: fully persistent structures whose newest version costs what a mutable one
 * costs (Baker's "shallow binding", as used for persistent arrays and union-find by Conchon and
 * Filliâtre).
 *
 * A lineage owns one mutable store (an array, a map, a sorted set). Exactly one version of the
 * lineage — its root — sees the store as it is; every other version holds a diff: the cells to
 * write, and the version those writes lead from. Writing a new version mutates the store and
 * turns the version it came from into a diff leading to the new one, at O(cells written) with
 * no copying. Reading an older version first "reroots" the lineage there: the diffs on the path
 * are applied and inverted in place, so the old version becomes the root and the path's other
 * versions diffs leading to it. Every version stays valid forever and reads as it was made; only
 * switching between versions costs (the cells written in between).
 *
 * What this asks of callers:
 * - Reading a version may mutate the shared store (a reroot): never hold an iterator over a store
 *   across a read of another version of the same lineage (the views here return snapshots).
 * - One edit per lineage at a time, and every edit ends in `done` or `abort` (a thrown error
 *   inside an edit must abort it, or the lineage stays locked).
 * - A version kept alive keeps the diffs written after it. To bound that, a lineage forks: once
 *   it has taken `forkAfter` edits (twice its size, at least `forkEditsMin`), the next edit
 *   copies the store into a new lineage and continues there. An old version then keeps at most
 *   that many diffs and one copy of the store alive — the memory of a plain copy — while the
 *   copies cost O(1) amortised per edit.
 * - A new lineage (made by a constructor, not a fork) hands its first published edit to a copy:
 *   the store as written goes to a new lineage whose root is the new version, and the writes are
 *   undone here, so the first version — the one callers most often keep, a fresh state — holds
 *   its own store and no diff at all. Were a kept fresh state to hold the diffs written after
 *   it, V8 would see the objects edits allocate survive and start allocating them in the old
 *   generation for the rest of the process ("pretenuring"), measured 3× slower. Edits that are
 *   aborted (dry runs) copy nothing.
 */

/** Edits a forked lineage takes before it forks again, whatever its size. */
export const forkEditsMin = 1024

/** A mutable store of cells, keyed by `K`: the one thing a lineage mutates. */
export abstract class Lineage<K, V> {
  /** The version the store holds now. */
  root: Version<K, V>
  /** Set while an edit is open; reroots and other edits are refused meanwhile. */
  editing = false
  /** Edits published on this lineage. */
  edits = 0
  /** Edits after which the next edit forks (see the module comment). */
  forkAfter = forkEditsMin
  /** Made by a constructor: its first published edit goes to a copy (see the module comment). */
  fresh = true

  constructor() {
    this.root = new Version(this)
  }

  /** The cell `key` of the store as it is. */
  abstract read(key: K): V
  /** Overwrites the cell `key` of the store; returns what it held (one lookup for both). */
  abstract write(key: K, value: V): V
  /** How many cells the store holds. */
  abstract size(): number
  /** A new lineage whose store is a copy of this one's as it is. */
  abstract copy(): Lineage<K, V>
}

/**
 * One version of a lineage. The root has `next === null`; any other version has a diff, `log`:
 * cell keys and values, interleaved (`[k0, v0, k1, v1, …]`); writing each value to its cell —
 * from the last pair to the first, or the first to the last when `reversed` — turns the store of
 * `next` into this version's.
 */
export class Version<K, V> {
  next: Version<K, V> | null = null
  log: Array<K | V> | null = null
  reversed = false

  constructor(readonly lineage: Lineage<K, V>) {}
}

/** A path from a version to the root, reused between reroots (no allocation per reroot). */
const path: Array<Version<unknown, unknown>> = []

/** Makes `version` the root of its lineage, so its store reads as `version` was made. */
export function reroot<K, V>(version: Version<K, V>): void {
  if (version.next === null) return
  const lineage = version.lineage
  if (lineage.editing) throw new Error("reroot: the lineage has an open edit")
  let at: Version<K, V> = version
  let depth = 0
  while (at.next !== null) {
    path[depth++] = at as Version<unknown, unknown>
    at = at.next
  }
  for (let i = depth - 1; i >= 0; i--) {
    const older = path[i] as Version<K, V>
    const root = older.next!
    const log = older.log!
    // Apply the diff, keeping each cell's value before the write: that is the inverse diff.
    if (older.reversed) {
      for (let j = 0; j < log.length; j += 2) {
        log[j + 1] = lineage.write(log[j] as K, log[j + 1] as V)
      }
    } else {
      for (let j = log.length - 2; j >= 0; j -= 2) {
        log[j + 1] = lineage.write(log[j] as K, log[j + 1] as V)
      }
    }
    root.next = older
    root.log = log
    root.reversed = !older.reversed
    older.next = null
    older.log = null
    older.reversed = false
    path[i] = undefined as unknown as Version<unknown, unknown>
  }
  lineage.root = version
}

/**
 * The version an edit of `base` starts from: `base` made the root of its lineage, or — when the
 * lineage has taken `forkAfter` edits — the root of a fresh copy of it (see the module comment).
 */
function startFrom<K, V>(base: Version<K, V>): Version<K, V> {
  reroot(base)
  const lineage = base.lineage
  if (lineage.editing) throw new Error("edit: the lineage already has an open edit")
  if (lineage.edits < lineage.forkAfter) return base
  return forked(lineage).root
}

/** A copy of `lineage`'s store as it is, as a lineage that forks after twice its size. */
function forked<K, V>(lineage: Lineage<K, V>): Lineage<K, V> {
  const copy = lineage.copy()
  copy.fresh = false
  copy.forkAfter = Math.max(forkEditsMin, 2 * copy.size())
  return copy
}

/** Publishes the version `base` becomes by the writes `log` undoes. */
function publish<K, V>(base: Version<K, V>, log: Array<K | V>): Version<K, V> {
  const lineage = base.lineage
  if (lineage.fresh) {
    const copy = forked(lineage)
    for (let j = log.length - 2; j >= 0; j -= 2) lineage.write(log[j] as K, log[j + 1] as V)
    copy.edits = 1
    return copy.root
  }
  const made = new Version(lineage)
  base.next = made
  base.log = log
  base.reversed = false
  lineage.root = made
  lineage.edits++
  return made
}

/**
 * Starts an edit the caller logs itself, for stores whose callers know every write up front:
 * the version to write from (`base` rerooted, or its copy in a forked lineage). The caller
 * writes that version's lineage directly, then passes the undo log of exactly those writes
 * (`[k0, v0, k1, v1, …]`, each cell's value before its write) to `publishWrites`. Nothing may
 * throw or read another version of the lineage in between.
 */
export function writeFrom<K, V>(base: Version<K, V>): Version<K, V> {
  return startFrom(base)
}

/**
 * Ends an edit begun by `writeFrom(base)`: the new version, which `log` (the writes' undo log,
 * non-empty, owned by the version from now on) leads back from to `from`.
 */
export function publishWrites<K, V>(from: Version<K, V>, log: Array<K | V>): Version<K, V> {
  if (from.next !== null || from.lineage.root !== from) {
    throw new Error("publishWrites: the version written from is not its lineage's root")
  }
  return publish(from, log)
}

/** A version of `base` with `value` in cell `key`: a one-cell edit without an `Edit`. */
export function writeOne<K, V>(base: Version<K, V>, key: K, value: V): Version<K, V> {
  const from = startFrom(base)
  const was = from.lineage.write(key, value)
  if (was === value) return from
  return publish(from, [key, was])
}

/**
 * A batch of writes making one new version from `base`. Reads see the batch's writes. `done`
 * publishes the new version (or returns `base` when nothing changed; after a fork, a version
 * equal to it); `abort` undoes every write and leaves `base` as it was.
 */
export class Edit<K, V> {
  private readonly log: Array<K | V> = []
  private open = true
  readonly lineage: Lineage<K, V>
  /** The version the batch starts from: the one given, or its copy in a forked lineage. */
  readonly base: Version<K, V>

  constructor(base: Version<K, V>) {
    this.base = startFrom(base)
    this.lineage = this.base.lineage
    this.lineage.editing = true
  }

  /** The cell `key` as of this batch. */
  get(key: K): V {
    return this.lineage.read(key)
  }

  /** Writes `value` to cell `key` (a no-op when it already holds that value). */
  set(key: K, value: V): void {
    if (!this.open) throw new Error("edit: already ended")
    const was = this.lineage.write(key, value)
    if (was === value) return
    this.log.push(key, was)
  }

  /** Whether any cell was written. */
  get changed(): boolean {
    return this.log.length > 0
  }

  /** Ends the batch: the new version, or `base` when nothing was written. */
  done(): Version<K, V> {
    this.close()
    if (this.log.length === 0) return this.base
    return publish(this.base, this.log)
  }

  /** Ends the batch by undoing every write: the store reads as `base` again. */
  abort(): void {
    this.close()
    const log = this.log
    for (let j = log.length - 2; j >= 0; j -= 2) this.lineage.write(log[j] as K, log[j + 1] as V)
  }

  private close(): void {
    if (!this.open) throw new Error("edit: already ended")
    this.open = false
    this.lineage.editing = false
  }
}
