/**
 * The host index's superblocks (`host-index.ts`): runs of up to `superBlockSize` blocks of one
 * class whose summaries combine their blocks' (extremes of extremes, hosts up summed, alike when
 * all their hosts are), folded per changed block in O(1) per slot.
 */
import type { HostIndex } from "./host-index.ts"
import {
  blockStat, blockStatCount, ramThresholdsMb, superBlockSize, usedThresholds,
} from "./host-slots.ts"

/** The superblock layout over the classes' blocks (summaries and zone masks still empty). */
export function superblocksOf(classBlocks: Int32Array, blocks: number) {
  const classSupers = new Int32Array(4)
  const starts: number[] = []
  for (let c = 0; c < 3; c++) {
    classSupers[c] = starts.length
    for (let b = classBlocks[c]!; b < classBlocks[c + 1]!; b += superBlockSize) starts.push(b)
  }
  classSupers[3] = starts.length
  starts.push(blocks)
  const supers = starts.length - 1
  const superOf = new Int32Array(blocks)
  for (let q = 0; q < supers; q++) superOf.fill(q, starts[q]!, starts[q + 1]!)
  return { classSupers, superStart: Int32Array.from(starts), superOf,
    superZoneMask: new Int32Array(supers), superStats: new Float64Array(supers * blockStatCount) }
}

/** How a superblock combines a slot over its blocks: 0 min, 1 max, 2 sum, 3 `uniform`. */
const slotCombine = new Int8Array(blockStatCount).fill(1)
for (const slot of [blockStat.minVcpuInv, blockStat.minRamInv, blockStat.minUsed]) {
  slotCombine[slot] = 0
}
for (let k = 0; k < usedThresholds.length; k++) slotCombine[blockStat.usedByThreshold + 2 * k] = 0
for (let k = 0; k < ramThresholdsMb.length; k++) slotCombine[blockStat.usedByRam + 2 * k] = 0
slotCombine[blockStat.upCount] = 2
slotCombine[blockStat.uniform] = 3

/**
 * Brings the summaries of block b's superblock up to date after b's slots `slots[0..count)`
 * changed from `old[0..count)` (each slot listed once; the others as they were): per slot O(1)
 * unless b held the superblock's extreme and left it (then that slot is combined again over the
 * superblock's blocks). The result equals `combineSuper`'s.
 */
export function foldSuper(index: HostIndex, b: number, slots: Int8Array, old: Float64Array,
  count: number): void {
  const q = index.superOf[b]!
  const x = index.stats
  const out = index.superStats
  const at = b * blockStatCount
  const o = q * blockStatCount
  let uniformMoved = false
  for (let c = 0; c < count; c++) {
    const k = slots[c]!
    const was = old[c]!
    const is = x[at + k]!
    if (was === is) continue
    if (uniformInputs[k] === 1) uniformMoved = true
    const kind = slotCombine[k]!
    const cur = out[o + k]!
    if (kind === 0) {
      if (is < cur) out[o + k] = is
      else if (was === cur) combineSlot(index, q, k)
    } else if (kind === 1) {
      if (is > cur) out[o + k] = is
      else if (was === cur) combineSlot(index, q, k)
    } else if (kind === 2) out[o + k] = cur + is - was
  }
  if (uniformMoved) out[o + blockStat.uniform] = superUniform(index, q)
}

/** The block slots `superUniform` reads (1), so a fold recomputes it only when one moved. */
const uniformInputs = new Uint8Array(blockStatCount)
for (const slot of [blockStat.uniform, blockStat.maxFreeVcpus, blockStat.maxFreeRamMb,
  blockStat.minVcpuInv, blockStat.minRamInv]) uniformInputs[slot] = 1

/**
 * Slot k combined over superblock q's blocks (min, max or sum by `slotCombine`), written to the
 * superblock's summaries (not returned: a number returned from a call not inlined is boxed).
 */
function combineSlot(index: HostIndex, q: number, k: number): void {
  const x = index.stats
  const kind = slotCombine[k]!
  let v = kind === 0 ? Infinity : kind === 1 ? -Infinity : 0
  for (let b = index.superStart[q]!; b < index.superStart[q + 1]!; b++) {
    const y = x[b * blockStatCount + k]!
    if (kind === 2) v += y
    else if (kind === 0 ? y < v : y > v) v = y
  }
  index.superStats[q * blockStatCount + k] = v
}

/** 1 when every block of superblock q is alike and they share their columns' values. */
function superUniform(index: HostIndex, q: number): number {
  const x = index.stats
  const b0 = index.superStart[q]!
  const first = b0 * blockStatCount
  if (x[first + blockStat.uniform] !== 1) return 0
  for (let b = b0 + 1; b < index.superStart[q + 1]!; b++) {
    const at = b * blockStatCount
    if (x[at + blockStat.uniform] !== 1 ||
      x[at + blockStat.maxFreeVcpus] !== x[first + blockStat.maxFreeVcpus] ||
      x[at + blockStat.maxFreeRamMb] !== x[first + blockStat.maxFreeRamMb] ||
      x[at + blockStat.minVcpuInv] !== x[first + blockStat.minVcpuInv] ||
      x[at + blockStat.minRamInv] !== x[first + blockStat.minRamInv]) return 0
  }
  return 1
}

/** Recomputes superblock q's summaries from its blocks' (O(superBlockSize × slots)). */
export function combineSuper(index: HostIndex, q: number): void {
  const o = q * blockStatCount
  for (let k = 0; k < blockStatCount; k++) {
    if (slotCombine[k] !== 3) combineSlot(index, q, k)
  }
  index.superStats[o + blockStat.uniform] = superUniform(index, q)
}
