/**
 * The PCI accounting state: an immutable value built from the inventory. Per host, each device's
 * usage, each pool's free count and bitmaps live in one rerootable vector; cluster-wide, a
 * rerootable map indexes what every instance holds (`../persistent`: the newest state is updated
 * in place at O(cells written), an older state stays readable and reads as it was). An operation
 * returns a new state and never changes what its input reads.
 */
import type { Inventory } from "../inventory/index.ts"
import { type RMap, rmapEmpty } from "../persistent/map.ts"
import {
  type RVec, type RVecEdit, rvecEdit, rvecGet, rvecOf, rvecToArray,
} from "../persistent/vec.ts"
import {
  fullPoolSlots, layoutOf, type PciHostLayout, type PciLayout, type PciPoolInfo,
} from "./layout.ts"

/** Nova's device statuses (as the seed's views spell them). */
export const pciStatuses = [
  "available", "claimed", "allocated", "unavailable", "unclaimable", "removed",
] as const
/** A device status. */
export type PciStatus = (typeof pciStatuses)[number]

/**
 * One device's usage. `holder` is set exactly when the status is `claimed` or `allocated`.
 * `removalPending` marks a held device whose removal waits for its release.
 */
export interface DeviceUse {
  readonly status: PciStatus
  readonly holder: string | null
  readonly removalPending: boolean
}

/**
 * A PF's VF counter slot packs its held VFs (low 16 bits) and allocated VFs (high bits); kept
 * beside the pool counts so a VF claim rewrites the PF's own record only when its status moves.
 */
const allocatedUnit = 1 << 16

/**
 * One host's usage as one vector of slots (laid out as `PciHostLayout` says): each device's
 * usage, each pool's count of `available` devices, each pool's bitmaps of them and each PF's VF
 * counter. One vector means one path copy per operation instead of several.
 */
export interface HostUsage {
  readonly slots: RVec<DeviceUse | number>
}

/** Device `d`'s usage. */
export function useAt(usage: HostUsage, d: number): DeviceUse {
  return rvecGet(usage.slots, d) as DeviceUse
}

/** Every device's usage, in device order. */
export function usesOf(host: PciHostLayout, usage: HostUsage): DeviceUse[] {
  return rvecToArray(usage.slots).slice(0, host.devices.length) as DeviceUse[]
}

/** Pool `p`'s count of available devices. */
export function poolFreeAt(host: PciHostLayout, usage: HostUsage, p: number): number {
  return rvecGet(usage.slots, host.freeOffset + p) as number
}

/** Bitmap word at slot `slot` (see `PciPoolInfo.wordOffset`). */
export function wordAt(usage: HostUsage, slot: number): number {
  return rvecGet(usage.slots, slot) as number
}

/** Where an instance holds devices: one entry per host, host-local indices ascending. */
export interface Holding {
  readonly host: number
  readonly devices: ReadonlyArray<number>
}

/**
 * The cluster's PCI accounting state. Treat it as opaque and immutable: read it through the
 * views and queries, change it only through `claim`, `allocate`, `free` and `removeDevice`.
 */
export interface PciState {
  readonly layout: PciLayout
  readonly hosts: RVec<HostUsage>
  /** instance uuid → its holdings, sorted by host index. */
  readonly instances: RMap<ReadonlyArray<Holding>>
}

/** Builds a usage record (a plain constructor: cheaper than object spreads on the hot path). */
function useOf(status: PciStatus, holder: string | null, removalPending: boolean): DeviceUse {
  return { status, holder, removalPending }
}

const availableUse: DeviceUse = Object.freeze(useOf("available", null, false))
const statusUses = new Map<PciStatus, DeviceUse>(
  (["available", "unavailable", "unclaimable", "removed"] as const)
    .map((st) => [st, Object.freeze(useOf(st, null, false))]),
)

/**
 * The state of a fresh inventory: every device available, nothing held. Device ids are global
 * integers from 1 in inventory order; a device's `compute_node_id` is its host's index + 1.
 */
export function pciStateOf(inventory: Inventory): PciState {
  const layout = layoutOf(inventory)
  const hosts = layout.hosts.map((h): HostUsage => ({
    slots: rvecOf<DeviceUse | number>([...h.devices.map(() => availableUse), ...fullPoolSlots(h)]),
  }))
  return { layout, hosts: rvecOf(hosts), instances: rmapEmpty() }
}

/**
 * A batch of device transitions on one host. Every write goes through `put`, which keeps the
 * pool's free count equal to its `available` devices; each transition keeps the PF/VF exclusion:
 * a free device whose relative is held is `unclaimable` (relative claimed) or `unavailable`
 * (relative allocated).
 */
export class HostWork {
  private readonly slots: RVecEdit<DeviceUse | number>

  /** Opens the batch; it must end in `done` or `abort` (the host's vector is locked until). */
  constructor(readonly layout: PciHostLayout, readonly usage: HostUsage) {
    this.slots = rvecEdit(usage.slots)
  }

  /** Pool `p`'s count of available devices as of this batch. */
  freeOf(p: number): number {
    return this.slots.get(this.layout.freeOffset + p) as number
  }

  /** The lowest-ranked available member of pool `p` (a host-local device index), or -1. */
  firstAvailable(p: number): number {
    const pool = this.layout.pools[p]!
    for (let s = 0; s < pool.summaryCount; s++) {
      const summary = this.slots.get(pool.summaryOffset + s) as number
      if (summary === 0) continue
      const w = s * 32 + lowestBit(summary)
      const word = this.slots.get(pool.wordOffset + w) as number
      assert(word !== 0, `pool ${p} summary bit ${w} set over an empty word`)
      return pool.members[w * 32 + lowestBit(word)]!
    }
    return -1
  }

  /** The usage of device `d` as of this batch. */
  use(d: number): DeviceUse {
    return this.slots.get(d) as DeviceUse
  }

  /** Ends the batch: the host's new usage. */
  done(): HostUsage {
    const slots = this.slots.done()
    return slots === this.usage.slots ? this.usage : { slots }
  }

  /** Ends the batch with nothing written: the host's usage reads as before it. */
  abort(): HostUsage {
    this.slots.abort()
    return this.usage
  }

  /** available → claimed by `holder`; the device's relatives become unclaimable. */
  claim(d: number, holder: string): void {
    const u = this.use(d)
    assert(u.status === "available", `claim of device ${d} in status ${u.status}`)
    this.put(d, useOf("claimed", holder, false))
    this.holdChanged(d, +1, 0)
  }

  /**
   * available → allocated by `holder` in one step (`claim` then `allocate` with half the
   * writes); the device's relatives become unavailable.
   */
  claimAllocated(d: number, holder: string): void {
    const u = this.use(d)
    assert(u.status === "available", `claim of device ${d} in status ${u.status}`)
    this.put(d, useOf("allocated", holder, false))
    this.holdChanged(d, +1, +1)
  }

  /** claimed → allocated; the device's relatives become unavailable. */
  allocate(d: number): void {
    const u = this.use(d)
    assert(u.status === "claimed", `allocate of device ${d} in status ${u.status}`)
    this.put(d, useOf("allocated", u.holder, u.removalPending))
    this.holdChanged(d, 0, +1)
  }

  /** claimed/allocated → available (or removed, if its removal was pending). */
  release(d: number): void {
    const u = this.use(d)
    assert(u.holder !== null, `release of device ${d} in status ${u.status}`)
    const wasAllocated = u.status === "allocated" ? 1 : 0
    this.put(d, statusUses.get(u.removalPending ? "removed" : this.freeStatus(d))!)
    this.holdChanged(d, -1, -wasAllocated)
  }

  /** Removes device `d`: at once when it is not held, else when it is released. */
  remove(d: number): void {
    const u = this.use(d)
    assert(u.status !== "removed" && !u.removalPending, `removal of device ${d} twice`)
    if (u.holder !== null) this.put(d, useOf(u.status, u.holder, true))
    else this.put(d, statusUses.get("removed")!)
  }

  /** A PF's held and allocated VFs. */
  vfCounts(pf: number): { held: number; allocated: number } {
    const packed = this.slots.get(this.layout.devices[pf]!.counterSlot) as number
    return { held: packed % allocatedUnit, allocated: Math.floor(packed / allocatedUnit) }
  }

  /** Re-derives the relatives' statuses after `d`'s hold changed by (held, allocated). */
  private holdChanged(d: number, heldDelta: number, allocatedDelta: number): void {
    const info = this.layout.devices[d]!
    if (info.parent >= 0) {
      const slot = this.layout.devices[info.parent]!.counterSlot
      const before = this.slots.get(slot) as number
      const packed = before + heldDelta + allocatedDelta * allocatedUnit
      const held = packed % allocatedUnit
      const allocated = Math.floor(packed / allocatedUnit)
      assert(held >= 0 && held < allocatedUnit && allocated >= 0 && allocated <= held,
        `VF counters of device ${info.parent}`)
      this.slots.set(slot, packed)
      const p = this.use(info.parent)
      if (p.holder === null && p.status !== "removed") {
        const status = allocated > 0 ? "unavailable" : held > 0 ? "unclaimable" : "available"
        if (status !== p.status) this.put(info.parent, statusUses.get(status)!)
      }
    }
    for (const c of info.children) {
      const cu = this.use(c)
      if (cu.holder !== null || cu.status === "removed") continue
      const status = this.freeStatus(c)
      if (status !== cu.status) this.put(c, statusUses.get(status)!)
    }
  }

  /** The status of device `d` were it neither held nor removed. */
  private freeStatus(d: number): PciStatus {
    const info = this.layout.devices[d]!
    if (info.parent >= 0) {
      const p = this.use(info.parent)
      if (p.status === "allocated") return "unavailable"
      if (p.status === "claimed") return "unclaimable"
      return "available"
    }
    if (info.counterSlot < 0) return "available"
    const { held, allocated } = this.vfCounts(d)
    return allocated > 0 ? "unavailable" : held > 0 ? "unclaimable" : "available"
  }

  private put(d: number, next: DeviceUse): void {
    const before = this.use(d).status === "available"
    const after = next.status === "available"
    this.slots.set(d, next)
    if (before === after) return
    const info = this.layout.devices[d]!
    const free = this.freeOf(info.pool) + (after ? 1 : -1)
    assert(free >= 0, `pool ${info.pool} free count below zero`)
    this.slots.set(this.layout.freeOffset + info.pool, free)
    this.flipBit(this.layout.pools[info.pool]!, info.rank, after)
  }

  /** Sets or clears member `rank`'s availability bit and its word's summary bit. */
  private flipBit(pool: PciPoolInfo, rank: number, available: boolean): void {
    const w = rank >>> 5
    const bit = 1 << (rank & 31)
    const before = this.slots.get(pool.wordOffset + w) as number
    assert(((before & bit) !== 0) !== available, `pool ${pool.index} bit ${rank} already set`)
    const word = available ? before | bit : before & ~bit
    this.slots.set(pool.wordOffset + w, word)
    if ((before === 0) === (word === 0)) return
    const s = pool.summaryOffset + (w >>> 5)
    const summary = this.slots.get(s) as number
    this.slots.set(s, word === 0 ? summary & ~(1 << (w & 31)) : summary | (1 << (w & 31)))
  }
}

/** Index of the lowest set bit of a non-zero 32-bit word. */
function lowestBit(word: number): number {
  return 31 - Math.clz32(word & -word)
}

/** Throws on a broken invariant: a bug in Corral, never an operating error. */
export function assert(condition: boolean, what: string): asserts condition {
  if (!condition) throw new Error(`pci invariant broken: ${what}`)
}
