/**
 * The extent allocator of one pmem device: aligned extents, best fit, coalescing on free.
 *
 * Every extent (used or free) starts at a multiple of the device's `alignMb` and has a length
 * that is a multiple of it: a volume occupies its size rounded up to the alignment, and the
 * device size is itself a multiple (the inventory checks it). So alignment holds by construction
 * and a free extent is usable whole.
 *
 * Free extents are kept twice, as persistent sorted keys: by offset (to find the neighbours to
 * coalesce with on free) and by (length, offset) (best fit: the smallest extent that is long
 * enough, the lowest offset among equals). An extent packs into one exact integer:
 * `offset × 2^27 + length` or `length × 2^27 + offset`, both at most 2^53 (exact).
 */
import {
  ceilingKey,
  changedKeys,
  emptyKeys,
  floorKey,
  insertKey,
  keysToArray,
  maxKey,
  removeKey,
  replaceKey,
  type SortedKeys,
} from "./sorted-keys.ts"

/** Largest pmem device the allocator handles: 2^26 MB (64 TiB), so packed keys stay exact. */
export const pmemDeviceSizeMbMax = 2 ** 26
/** Packing factor: above any length (≤ 2^26), so `offset × scale + length` is exact. */
const scale = 2 ** 27

/** The free space of one device. Immutable; every operation returns a new value. */
export interface DeviceExtents {
  readonly sizeMb: number
  readonly alignMb: number
  readonly freeMb: number
  /** Free extents keyed `offsetMb × 2^27 + lengthMb`. */
  readonly byOffset: SortedKeys
  /** Free extents keyed `lengthMb × 2^27 + offsetMb`. */
  readonly bySize: SortedKeys
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
  return {
    sizeMb,
    alignMb,
    freeMb: sizeMb,
    byOffset: insertKey(emptyKeys, sizeMb),
    bySize: insertKey(emptyKeys, sizeMb * scale),
  }
}

/** The extent length a volume of `sizeMb` occupies: its size rounded up to the alignment. */
export function extentMbFor(device: DeviceExtents, sizeMb: number): number {
  return Math.ceil(sizeMb / device.alignMb) * device.alignMb
}

/** The longest free extent, in MB (0 when the device is full). */
export function largestFreeMb(device: DeviceExtents): number {
  const key = maxKey(device.bySize)
  return key === undefined ? 0 : Math.floor(key / scale)
}

/**
 * Takes `extentMb` (a positive multiple of the alignment) from the best-fitting free extent.
 * Undefined when no single free extent is long enough; the device is then unchanged.
 */
export function allocateExtent(
  device: DeviceExtents,
  extentMb: number,
): { readonly device: DeviceExtents; readonly offsetMb: number } | undefined {
  if (!(extentMb > 0 && extentMb % device.alignMb === 0 && extentMb <= pmemDeviceSizeMbMax)) {
    throw new Error(`allocateExtent: ${extentMb} MB is not a positive multiple of the alignment`)
  }
  const key = ceilingKey(device.bySize, extentMb * scale)
  if (key === undefined) return undefined
  const lengthMb = Math.floor(key / scale)
  const offsetMb = key - lengthMb * scale
  const restMb = lengthMb - extentMb
  let bySize: SortedKeys
  let byOffset: SortedKeys
  if (restMb > 0) {
    const restOffsetMb = offsetMb + extentMb
    bySize = changedKeys(device.bySize, key, undefined, restMb * scale + restOffsetMb)
    byOffset = replaceKey(device.byOffset, offsetMb * scale + lengthMb,
      restOffsetMb * scale + restMb)
  } else {
    bySize = removeKey(device.bySize, key)
    byOffset = removeKey(device.byOffset, offsetMb * scale + lengthMb)
  }
  return {
    device: {
      sizeMb: device.sizeMb,
      alignMb: device.alignMb,
      freeMb: device.freeMb - extentMb,
      byOffset,
      bySize,
    },
    offsetMb,
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
  const endMb = offsetMb + extentMb
  if (offsetMb % device.alignMb !== 0 || extentMb <= 0 || endMb > device.sizeMb) {
    throw new Error(`freeExtent: [${offsetMb}, ${endMb}) is not an aligned extent of the device`)
  }
  let before = floorKey(device.byOffset, offsetMb * scale + scale - 1)
  let after = ceilingKey(device.byOffset, offsetMb * scale)
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
  let startMb = offsetMb
  let lengthMb = extentMb
  let beforeSizeKey: number | undefined
  let afterSizeKey: number | undefined
  if (before !== undefined) {
    startMb = Math.floor(before / scale)
    lengthMb += before - startMb * scale
    beforeSizeKey = (before - startMb * scale) * scale + startMb
  }
  if (after !== undefined) {
    const afterLengthMb = after - endMb * scale
    lengthMb += afterLengthMb
    afterSizeKey = afterLengthMb * scale + endMb
  }
  // The two or three changes of each index in one copy of its root.
  const bySize = changedKeys(device.bySize, beforeSizeKey, afterSizeKey,
    lengthMb * scale + startMb)
  const merged = startMb * scale + lengthMb
  let byOffset: SortedKeys
  if (before !== undefined) {
    byOffset = after !== undefined ? changedKeys(device.byOffset, before, after, merged)
      : replaceKey(device.byOffset, before, merged)
  } else if (after !== undefined) byOffset = replaceKey(device.byOffset, after, merged)
  else byOffset = insertKey(device.byOffset, merged)
  return {
    sizeMb: device.sizeMb,
    alignMb: device.alignMb,
    freeMb: device.freeMb + extentMb,
    byOffset,
    bySize,
  }
}

/** The free extents, by ascending offset. */
export function freeExtentsOf(device: DeviceExtents): Extent[] {
  return keysToArray(device.byOffset).map((key) => {
    const offsetMb = Math.floor(key / scale)
    return { offsetMb, lengthMb: key - offsetMb * scale }
  })
}

/** How many free extents the device has. */
export function freeExtentCount(device: DeviceExtents): number {
  return device.byOffset.size
}
