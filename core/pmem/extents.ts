/**
 * The extent allocator of one pmem device: aligned extents, best fit, coalescing on free.
 *
 * Every extent (used or free) starts at a multiple of the device's `alignMb` and has a length
 * that is a multiple of it: a volume occupies its size rounded up to the alignment, and the
 * device size is itself a multiple (the inventory checks it). So alignment holds by construction
 * and a free extent is usable whole.
 *
 * Free extents are kept twice, as sorted sets: by offset (to find the neighbours to coalesce
 * with on free) and by (length, offset) (best fit: the smallest extent that is long enough, the
 * lowest offset among equals). An extent packs into one exact integer: `offset × 2^27 + length`
 * or `length × 2^27 + offset`, both at most 2^53 (exact), and never 0.
 *
 * The two sets are the store of one rerootable lineage (`../persistent/reroot.ts`): a device
 * value is a version of it, so the newest device changes in place at O(chunk) per key while any
 * older value stays readable as it was.
 */
import { Lineage, publishWrites, reroot, type Version, writeFrom } from "../persistent/reroot.ts"
import { SortedSet } from "../persistent/sorted-set.ts"

/** Largest pmem device the allocator handles: 2^26 MB (64 TiB), so packed keys stay exact. */
export const pmemDeviceSizeMbMax = 2 ** 26
/** Packing factor: above any length (≤ 2^26), so `offset × scale + length` is exact. */
const scale = 2 ** 27

/**
 * The free extents of a device as a lineage's store. A cell is one key of one set: cell `k > 0`
 * is key `k` of `byOffset`, cell `-k` key `k` of `bySize`; its value is 1 when the key is in, 0
 * when not (numbers, not booleans, so an undo log is a flat array of doubles: no boxed keys).
 */
class ExtentStore extends Lineage<number, number> {
  constructor(readonly byOffset: SortedSet, readonly bySize: SortedSet) {
    super()
  }

  read(cell: number): number {
    return (cell > 0 ? this.byOffset.has(cell) : this.bySize.has(-cell)) ? 1 : 0
  }

  write(cell: number, present: number): number {
    const into = present === 1
    return (cell > 0 ? this.byOffset.put(cell, into) : this.bySize.put(-cell, into)) ? 1 : 0
  }

  size(): number {
    return this.byOffset.size
  }

  copy(): ExtentStore {
    return new ExtentStore(this.byOffset.copy(), this.bySize.copy())
  }
}

/** The free space of one device. Immutable; every operation returns a new value. */
export interface DeviceExtents {
  readonly sizeMb: number
  readonly alignMb: number
  readonly freeMb: number
  /** The free extents: a version of the device's extent lineage. */
  readonly free: Version<number, number>
}

/** The sets of `device`, as the device reads (a reroot when it is not the newest value). */
function setsOf(device: DeviceExtents): ExtentStore {
  if (device.free.next !== null) reroot(device.free)
  return device.free.lineage as ExtentStore
}

/** One extent of a device. */
export interface Extent {
  readonly offsetMb: number
  readonly lengthMb: number
}

/** A device with nothing allocated: one free extent covering it. */
export function emptyDevice(sizeMb: number, alignMb: number): DeviceExtents {
  if (!Number.isInteger(sizeMb) || sizeMb <= 0 || sizeMb > pmemDeviceSizeMbMax) {
    throw new Error(`pmem device size ${sizeMb} MB outside 1..${pmemDeviceSizeMbMax}`)
  }
  if (!Number.isInteger(alignMb) || alignMb <= 0 || sizeMb % alignMb !== 0) {
    throw new Error(`pmem device size ${sizeMb} MB is not a multiple of alignMb ${alignMb}`)
  }
  const store = new ExtentStore(new SortedSet([sizeMb]), new SortedSet([sizeMb * scale]))
  return { sizeMb, alignMb, freeMb: sizeMb, free: store.root }
}

/** The extent length a volume of `sizeMb` occupies: its size rounded up to the alignment. */
export function extentMbFor(device: DeviceExtents, sizeMb: number): number {
  return Math.ceil(sizeMb / device.alignMb) * device.alignMb
}

/** The longest free extent, in MB (0 when the device is full). */
export function largestFreeMb(device: DeviceExtents): number {
  const key = setsOf(device).bySize.max()
  return key === undefined ? 0 : Math.floor(key / scale)
}

/**
 * The best-fitting free extent for `extentMb` (a positive multiple of the alignment): the
 * smallest that is long enough, the lowest offset among equals, as a key for `takeExtent` and
 * `fitOffsetMb`; -1 when no single free extent is long enough.
 */
export function bestFit(device: DeviceExtents, extentMb: number): number {
  if (!(extentMb > 0 && extentMb % device.alignMb === 0 && extentMb <= pmemDeviceSizeMbMax)) {
    throw new Error(`allocateExtent: ${extentMb} MB is not a positive multiple of the alignment`)
  }
  return setsOf(device).bySize.ceiling(extentMb * scale) ?? -1
}

/** The offset of the free extent `fit` (a key from `bestFit`). */
export function fitOffsetMb(fit: number): number {
  return fit - Math.floor(fit / scale) * scale
}

/**
 * The free extents of `device` once `extentMb` is taken from the start of the free extent `fit`
 * (what `bestFit(device, extentMb)` returned): a new version; `device` reads as it was.
 */
export function takeExtent(
  device: DeviceExtents,
  fit: number,
  extentMb: number,
): Version<number, number> {
  const lengthMb = Math.floor(fit / scale)
  const offsetMb = fit - lengthMb * scale
  const restMb = lengthMb - extentMb
  if (!(restMb >= 0 && extentMb > 0)) throw new Error(`takeExtent: ${extentMb} MB from ${fit}`)
  const from = writeFrom(device.free)
  const sets = from.lineage as ExtentStore
  const byOffsetKey = offsetMb * scale + lengthMb
  sets.bySize.remove(fit)
  let log: number[]
  if (restMb > 0) {
    // The rest keeps the taken extent's place among the offsets: replaced in its slot.
    const restOffsetMb = offsetMb + extentMb
    const restBySize = restMb * scale + restOffsetMb
    const restByOffset = restOffsetMb * scale + restMb
    sets.bySize.insert(restBySize)
    sets.byOffset.replace(byOffsetKey, restByOffset)
    log = [-fit, 1, byOffsetKey, 1, -restBySize, 0, restByOffset, 0]
  } else {
    sets.byOffset.remove(byOffsetKey)
    log = [-fit, 1, byOffsetKey, 1]
  }
  return publishWrites(from, log)
}

/**
 * Takes `extentMb` (a positive multiple of the alignment) from the best-fitting free extent.
 * Undefined when no single free extent is long enough; the device is then unchanged.
 */
export function allocateExtent(
  device: DeviceExtents,
  extentMb: number,
): { readonly device: DeviceExtents; readonly offsetMb: number } | undefined {
  const fit = bestFit(device, extentMb)
  if (fit < 0) return undefined
  return {
    device: {
      sizeMb: device.sizeMb,
      alignMb: device.alignMb,
      freeMb: device.freeMb - extentMb,
      free: takeExtent(device, fit, extentMb),
    },
    offsetMb: fitOffsetMb(fit),
  }
}

/**
 * Returns the extent `[offsetMb, offsetMb + extentMb)` (which must be allocated) to the free
 * space, merged with the free extents that touch it on either side.
 */
export function freeExtent(
  device: DeviceExtents,
  offsetMb: number,
  extentMb: number,
): DeviceExtents {
  return {
    sizeMb: device.sizeMb,
    alignMb: device.alignMb,
    freeMb: device.freeMb + extentMb,
    free: returnExtent(device, offsetMb, extentMb),
  }
}

/** `freeExtent`'s new free extents alone: a new version; `device` reads as it was. */
export function returnExtent(
  device: DeviceExtents,
  offsetMb: number,
  extentMb: number,
): Version<number, number> {
  const endMb = offsetMb + extentMb
  if (offsetMb % device.alignMb !== 0 || extentMb <= 0 || endMb > device.sizeMb) {
    throw new Error(`freeExtent: [${offsetMb}, ${endMb}) is not an aligned extent of the device`)
  }
  const sets = setsOf(device)
  // Floor last: the set's finger then holds `before`, which the merge replaces.
  let after = sets.byOffset.ceiling(offsetMb * scale)
  let before = sets.byOffset.floor(offsetMb * scale + scale - 1)
  if (before !== undefined) {
    const beforeEndMb = Math.floor(before / scale) + (before % scale)
    if (beforeEndMb > offsetMb) throw new Error(`freeExtent: ${offsetMb} MB is already free`)
    if (beforeEndMb < offsetMb) before = undefined
  }
  if (after !== undefined) {
    const afterOffsetMb = Math.floor(after / scale)
    if (afterOffsetMb < endMb) throw new Error(`freeExtent: [${offsetMb}, ${endMb}) is free`)
    if (afterOffsetMb > endMb) after = undefined
  }
  // Every write below changes its key (checked above), so the undo log is known exactly.
  const from = writeFrom(device.free)
  const store = from.lineage as ExtentStore
  let startMb = offsetMb
  let lengthMb = extentMb
  let beforeBySize = 0
  let afterBySize = 0
  if (before !== undefined) {
    startMb = Math.floor(before / scale)
    const beforeLengthMb = before - startMb * scale
    lengthMb += beforeLengthMb
    beforeBySize = beforeLengthMb * scale + startMb
    store.bySize.remove(beforeBySize)
  }
  if (after !== undefined) {
    const afterLengthMb = after - endMb * scale
    lengthMb += afterLengthMb
    afterBySize = afterLengthMb * scale + endMb
    store.bySize.remove(afterBySize)
  }
  const byOffsetKey = startMb * scale + lengthMb
  const bySizeKey = lengthMb * scale + startMb
  // The merged extent takes the slot of the neighbour it absorbs (same place by offset).
  if (before !== undefined) {
    store.byOffset.replace(before, byOffsetKey)
    if (after !== undefined) store.byOffset.remove(after)
  } else if (after !== undefined) {
    store.byOffset.replace(after, byOffsetKey)
  } else {
    store.byOffset.insert(byOffsetKey)
  }
  store.bySize.insert(bySizeKey)
  let log: number[]
  if (before !== undefined && after !== undefined) {
    log = [before, 1, -beforeBySize, 1, after, 1, -afterBySize, 1, byOffsetKey, 0, -bySizeKey, 0]
  } else if (before !== undefined) {
    log = [before, 1, -beforeBySize, 1, byOffsetKey, 0, -bySizeKey, 0]
  } else if (after !== undefined) {
    log = [after, 1, -afterBySize, 1, byOffsetKey, 0, -bySizeKey, 0]
  } else {
    log = [byOffsetKey, 0, -bySizeKey, 0]
  }
  return publishWrites(from, log)
}

/** The free extents, by ascending offset. */
export function freeExtentsOf(device: DeviceExtents): Extent[] {
  return setsOf(device).byOffset.toArray().map((key) => {
    const offsetMb = Math.floor(key / scale)
    return { offsetMb, lengthMb: key - offsetMb * scale }
  })
}

/** How many free extents the device has. */
export function freeExtentCount(device: DeviceExtents): number {
  return setsOf(device).byOffset.size
}

/** How many keys each index holds (they must be equal: one per free extent). */
export function extentIndexSizes(device: DeviceExtents): { byOffset: number; bySize: number } {
  const sets = setsOf(device)
  return { byOffset: sets.byOffset.size, bySize: sets.bySize.size }
}
