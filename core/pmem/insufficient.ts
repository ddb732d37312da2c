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

/**
 * Not enough pmem on a device for a request; see the module comment. The shortfall is carried in
 * `InsufficientCapacity`'s own `fragmentation` and `largestFreeExtent` fields (MB), so it
 * survives encoding; this subclass only names the units in its message.
 */
export class PmemInsufficientCapacity extends InsufficientCapacity {
  constructor(
    fields: ConstructorParameters<typeof InsufficientCapacity>[0],
    shortfall: PmemShortfall,
  ) {
    super({ ...fields, fragmentation: shortfall.fragmentation,
      largestFreeExtent: shortfall.largestFreeExtentMb })
  }

  /** The longest free extent on the device, in MB. */
  get largestFreeExtentMb(): number {
    return this.largestFreeExtent ?? 0
  }

  override get message(): string {
    const where = this.host === undefined ? "" : ` on ${this.host}`
    const cause = this.fragmentation === true
      ? ` (fragmentation: the free space is split; the largest free extent is ` +
        `${this.largestFreeExtentMb} MB)`
      : ""
    return `Insufficient ${this.resource}${where}: requested ${this.requested} MB, ` +
      `free ${this.free} MB of ${this.capacity} MB${cause}.`
  }
}
