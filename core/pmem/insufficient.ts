/**
 * The pmem flavour of `InsufficientCapacity`: the same error (tag, HTTP 409, `resource`
 * `pmem:<device>`, `requested`, `free`, `capacity`, `host`), plus whether fragmentation is the
 * cause — the free total would suffice but no single aligned free extent is long enough — and
 * the longest free extent. It is an `InsufficientCapacity` for every consumer that matches on
 * the tag or the class.
 */
import { InsufficientCapacity } from "../errors.ts"

/** What the pmem allocator adds to `InsufficientCapacity`. */
export interface PmemShortfall {
  /** True when `requested ≤ free`: the space exists but is split into shorter extents. */
  readonly fragmentation: boolean
  readonly largestFreeExtentMb: number
}

/** Not enough pmem on a device for a request; see the module comment. */
export class PmemInsufficientCapacity extends InsufficientCapacity {
  readonly fragmentation: boolean
  readonly largestFreeExtentMb: number

  constructor(
    fields: ConstructorParameters<typeof InsufficientCapacity>[0],
    shortfall: PmemShortfall,
  ) {
    super(fields)
    this.fragmentation = shortfall.fragmentation
    this.largestFreeExtentMb = shortfall.largestFreeExtentMb
  }

  override get message(): string {
    const where = this.host === undefined ? "" : ` on ${this.host}`
    const cause = this.fragmentation
      ? ` (fragmentation: the free space is split; the largest free extent is ` +
        `${this.largestFreeExtentMb} MB)`
      : ""
    return `Insufficient ${this.resource}${where}: requested ${this.requested} MB, ` +
      `free ${this.free} MB of ${this.capacity} MB${cause}.`
  }
}
