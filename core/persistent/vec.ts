/**
 * A persistent fixed-size vector on a rerootable lineage (see `reroot.ts`): the newest version
 * reads and writes a plain array; an older version reads after a reroot.
 */
import { Edit, Lineage, reroot, Version, writeOne } from "./reroot.ts"

class ArrayStore<T> extends Lineage<number, T> {
  constructor(readonly data: T[]) {
    super()
  }

  read(index: number): T {
    return this.data[index]!
  }

  write(index: number, value: T): T {
    const was = this.data[index]!
    this.data[index] = value
    return was
  }

  size(): number {
    return this.data.length
  }

  copy(): ArrayStore<T> {
    return new ArrayStore(this.data.slice())
  }
}

/** An immutable vector of values of type `T` (a version of its lineage). */
export type RVec<T> = Version<number, T>

/** A batch of writes to a vector (see `Edit`). */
export type RVecEdit<T> = Edit<number, T>

function storeOf<T>(vec: RVec<T>): ArrayStore<T> {
  return vec.lineage as ArrayStore<T>
}

/** A vector holding `values` (copied). */
export function rvecOf<T>(values: ReadonlyArray<T>): RVec<T> {
  return new ArrayStore(values.slice()).root
}

/** How many values the vector holds. */
export function rvecSize<T>(vec: RVec<T>): number {
  return storeOf(vec).data.length
}

/** The value at `index`; RangeError outside the vector (a caller's bug). */
export function rvecGet<T>(vec: RVec<T>, index: number): T {
  if (vec.next !== null) reroot(vec)
  const data = storeOf(vec).data
  if (!(index >= 0 && index < data.length)) {
    throw new RangeError(`vector index ${index} of ${data.length}`)
  }
  return data[index]!
}

/** Every value in order (a fresh array). */
export function rvecToArray<T>(vec: RVec<T>): T[] {
  if (vec.next !== null) reroot(vec)
  return storeOf(vec).data.slice()
}

/** Starts a batch of writes to `vec`; end it with `done` or `abort`. */
export function rvecEdit<T>(vec: RVec<T>): RVecEdit<T> {
  return new Edit(vec)
}

/** A new version of `vec` with `value` at `index`. */
export function rvecSet<T>(vec: RVec<T>, index: number, value: T): RVec<T> {
  const size = rvecSize(vec)
  if (!(index >= 0 && index < size)) throw new RangeError(`vector index ${index} of ${size}`)
  return writeOne(vec, index, value)
}
