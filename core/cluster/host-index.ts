/**
 * The host index: per class of special hardware (0, 1 or 2 kinds, `ScanIndex.special`), the
 * hosts in index order cut into blocks of `hostBlockSize` (64), each block keeping summaries of its
 * hosts' `ScanIndex` columns (largest free vCPUs, RAM and disk per pool kind, hosts up, and the
 * extremes of the utilisation terms the weighers add up). The placement fast path searches these
 * blocks best bound first (`core/placement/host-search.ts`) so a successful placement evaluates
 * the hosts that could win, not every host. Superblocks of `superBlockSize` blocks combine their
 * blocks' summaries the same way, so a search bounds some ten superblocks first and the blocks of
 * only those it enters (a superblock of hosts all alike, e.g. all empty, is one exact score).
 *
 * The index belongs to one `ScanIndex` (its `hostIndex` field): `updateScanHost` folds the
 * changed host into its block's summaries (O(1), or O(block) when the host held an extreme it
 * left), and the block's into its superblock's likewise; a rebuilt `ScanIndex` starts without
 * one, so the index always describes the columns of the state that reads them.
 */
import type { Inventory } from "../inventory/inventory.ts"
import { combineSuper, foldSuper, superblocksOf } from "./host-superblocks.ts"
import {
  blockStat, blockStatCount, blockZonesMax, hostBlockSize, ramThresholdsMb, usedThresholds,
} from "./host-slots.ts"
import type { PciColumn, ScanIndex } from "./scan.ts"

export {
  blockStat, blockStatCount, blockZonesMax, hostBlockSize, ramThresholdsMb, superBlockSize,
  usedThresholds,
} from "./host-slots.ts"

/** Blocks of hosts per special-hardware class, with their summaries. */
export interface HostIndex {
  /** Hosts per block (the last block of a class may hold fewer). */
  readonly blockSize: number
  /** Host indexes by class (0, 1, 2), ascending within a class. */
  readonly order: Int32Array
  /** Blocks of class c are `classBlocks[c]` up to (excluding) `classBlocks[c + 1]`. */
  readonly classBlocks: Int32Array
  /** A block's hosts are `order[blockStart[b]]` up to (excluding) `order[blockStart[b + 1]]`. */
  readonly blockStart: Int32Array
  /** The block of each host. */
  readonly blockOf: Int32Array
  /** Per block, bit z set when it holds a host of zone z; -1 when zones exceed `blockZonesMax`. */
  readonly zoneMask: Int32Array
  /** Per block, 1 when one of its hosts has PCI devices. */
  readonly pciBlock: Uint8Array
  /**
   * PCI columns the search asked for (`pciColumnMax`), and per block the most devices of each
   * column's spec free on one host (`pciMaxes[k]` for `pciColumns[k]`), kept current per changed
   * host like the summaries.
   */
  readonly pciColumns: PciColumn[]
  readonly pciMaxes: Int32Array[]
  /** Per block, `blockStatCount` summaries (`blockStat`). */
  readonly stats: Float64Array
  /**
   * Superblocks of up to `superBlockSize` blocks: those of class c are `classSupers[c]` up to
   * `classSupers[c + 1]`; superblock s holds blocks `superStart[s]` up to `superStart[s + 1]`.
   */
  readonly classSupers: Int32Array
  readonly superStart: Int32Array
  /** The superblock of each block. */
  readonly superOf: Int32Array
  /** Per superblock, the zone masks of its blocks or'ed (-1 when any is -1). */
  readonly superZoneMask: Int32Array
  /**
   * Per superblock, its blocks' summaries combined (the same slots: extremes of extremes, hosts
   * up summed; `uniform` when every host of the superblock is alike).
   */
  readonly superStats: Float64Array
  /**
   * Per block, the scan columns (`refSlots` of `HostColumns`: free vCPUs, RAM, 1/capacities,
   * largest free disk per kind) of its first host, then of its last host, kept current with them:
   * a fold compares the changed host with them without reading those hosts from the scan.
   */
  readonly refColumns: Float64Array
}

/** `HostColumns` slots kept per reference host in `HostIndex.refColumns`. */
const refSlots = 7
/** Slots per block in `HostIndex.refColumns` (first host's, then last host's). */
const refStride = 2 * refSlots

/** Builds the index over a scan's columns (O(hosts)); tests pass small blocks. */
export function buildHostIndex(
  scan: ScanIndex,
  zoneOf: Int32Array,
  zoneCount: number,
  inventory: Inventory,
  blockSize: number = hostBlockSize,
): HostIndex {
  if (!Number.isInteger(blockSize) || blockSize < 1) {
    throw new RangeError(`host index: blockSize ${blockSize}, expected an integer ≥ 1`)
  }
  const n = scan.up.length
  const order = new Int32Array(n)
  const classBlocks = new Int32Array(4)
  const starts: number[] = []
  let at = 0
  for (let c = 0; c < 3; c++) {
    classBlocks[c] = starts.length
    let inClass = 0
    for (let i = 0; i < n; i++) {
      if (scan.special[i] !== c) continue
      if (inClass % blockSize === 0) starts.push(at)
      order[at++] = i
      inClass++
    }
  }
  if (at !== n) throw new Error(`host index: ${at} of ${n} hosts have a class from 0 to 2`)
  classBlocks[3] = starts.length
  starts.push(n)
  const blocks = starts.length - 1
  const index: HostIndex = {
    blockSize, order, classBlocks, blockStart: Int32Array.from(starts), blockOf: new Int32Array(n),
    zoneMask: new Int32Array(blocks), pciBlock: new Uint8Array(blocks), pciColumns: [], pciMaxes: [],
    stats: new Float64Array(blocks * blockStatCount), ...superblocksOf(classBlocks, blocks),
    refColumns: new Float64Array(blocks * refStride),
  }
  for (let b = 0; b < blocks; b++) {
    let mask = 0
    for (let p = index.blockStart[b]!; p < index.blockStart[b + 1]!; p++) {
      const i = order[p]!
      index.blockOf[i] = b
      mask |= 1 << zoneOf[i]!
      if (inventory.hosts[i]!.pciDevices.length > 0) index.pciBlock[b] = 1
    }
    index.zoneMask[b] = zoneCount > blockZonesMax ? -1 : mask
    summarise(index, scan, b)
    readHostColumns(scan, order[index.blockStart[b]!]!, now)
    writeRef(index, b, 0, now)
    readHostColumns(scan, order[index.blockStart[b + 1]! - 1]!, now)
    writeRef(index, b, refSlots, now)
  }
  for (let q = 0; q < index.superStart.length - 1; q++) {
    let mask = 0
    for (let b = index.superStart[q]!; b < index.superStart[q + 1]!; b++) {
      mask = mask === -1 || index.zoneMask[b] === -1 ? -1 : mask | index.zoneMask[b]!
    }
    index.superZoneMask[q] = mask
    combineSuper(index, q)
  }
  return index
}

/** Slots of `HostColumns`: one host's scan columns the summaries read. */
const col = { fv: 0, fr: 1, vi: 2, ri: 3, disk: 4, up: 7, used: 8, magnitude: 9 } as const
/**
 * One host's scan columns as the summaries read them (free vCPUs, free RAM, 1/capacities, largest
 * free disk per pool kind, up), saved before an update so the refresh can fold in the change.
 */
export type HostColumns = Float64Array

/** Scratch for `HostColumns` (10 slots). */
export const newHostColumns = (): HostColumns => new Float64Array(10)

/** Copies host i's columns from the scan into `out`. */
export function readHostColumns(scan: ScanIndex, i: number, out: HostColumns): void {
  const n = scan.up.length
  out[col.fv] = scan.freeVcpus[i]!
  out[col.fr] = scan.freeRamMb[i]!
  out[col.vi] = scan.vcpuCapacityInv[i]!
  out[col.ri] = scan.ramCapacityInv[i]!
  out[col.disk] = scan.maxFreeDiskMb[i]!
  out[col.disk + 1] = scan.maxFreeDiskMb[n + i]!
  out[col.disk + 2] = scan.maxFreeDiskMb[2 * n + i]!
  out[col.up] = scan.up[i]!
  const fv = out[col.fv]!
  const fr = out[col.fr]!
  const vi = out[col.vi]!
  const ri = out[col.ri]!
  // The utilisation term and magnitude in `summarise`'s operation order (the same bits).
  out[col.used] = 2 - fv * vi - fr * ri
  out[col.magnitude] = Math.abs(fv) * vi + Math.abs(fr) * ri
}

const now = newHostColumns()
/** Block b's summaries before it is summarised again (scratch). */
const blockWas = new Float64Array(blockStatCount)

/**
 * The summary slots a refresh changed (`changedSlot`, each once) and their values before it
 * (`changedOld`), for the superblock's fold; `changedMark` flags the slots listed.
 */
const changedSlot = new Int8Array(blockStatCount)
const changedOld = new Float64Array(blockStatCount)
const changedMark = new Uint8Array(blockStatCount)
let changedCount = 0

/** Writes summary slot `k` of the block at `at`, listing it in the changes when it moves. */
function put(s: Float64Array, at: number, k: number, v: number): void {
  const cur = s[at + k]!
  if (cur === v) return
  if (changedMark[k] === 0) {
    changedMark[k] = 1
    changedSlot[changedCount] = k
    changedOld[changedCount] = cur
    changedCount++
  }
  s[at + k] = v
}

/** Writes host columns `c` as block b's reference at `offset` (0: first host, `refSlots`: last). */
function writeRef(index: HostIndex, b: number, offset: number, c: HostColumns): void {
  const r = b * refStride + offset
  for (let k = 0; k < refSlots; k++) index.refColumns[r + k] = c[k]!
}

/**
 * Brings the summaries of the block holding `hostIndex` up to date after that host's columns
 * changed from `was` (`readHostColumns` before the update) to what the scan holds now. Each
 * extreme is folded in at O(1) unless the host held it and moved away from it and no other host
 * of the block is known to hold it too: then that extreme is recomputed over the block, or with
 * many such the block is summarised again (O(block)). Only the slots that changed are folded into
 * the superblock. The result equals a summary from scratch.
 */
export function refreshHostIndex(
  index: HostIndex,
  scan: ScanIndex,
  hostIndex: number,
  was: HostColumns,
): void {
  const b = index.blockOf[hostIndex]!
  readHostColumns(scan, hostIndex, now)
  const s = index.stats
  const at = b * blockStatCount
  changedCount = 0
  const folded = foldHost(index, scan, b, hostIndex, was, now)
  for (let c = 0; c < changedCount; c++) changedMark[changedSlot[c]!] = 0
  if (!folded) {
    // Undo the fold's writes, then summarise and list what the summary changed.
    for (let c = changedCount - 1; c >= 0; c--) s[at + changedSlot[c]!] = changedOld[c]!
    for (let k = 0; k < blockStatCount; k++) blockWas[k] = s[at + k]!
    summarise(index, scan, b)
    changedCount = 0
    for (let k = 0; k < blockStatCount; k++) {
      if (blockWas[k] === s[at + k]) continue
      changedSlot[changedCount] = k
      changedOld[changedCount] = blockWas[k]!
      changedCount++
    }
  }
  if (index.order[index.blockStart[b]!] === hostIndex) writeRef(index, b, 0, now)
  if (index.order[index.blockStart[b + 1]! - 1] === hostIndex) writeRef(index, b, refSlots, now)
  foldSuper(index, b, changedSlot, changedOld, changedCount)
  if (index.pciBlock[b] === 1) {
    for (let k = 0; k < index.pciColumns.length; k++) {
      index.pciMaxes[k]![b] = blockMaxOf(index, index.pciColumns[k]!.free, b)
    }
  }
}

/**
 * Per block, the most devices of `column`'s spec free on one of its hosts; computed over every
 * block on the first call for a column (O(hosts)), then kept current by `refreshHostIndex`.
 * `column` must be one of the columns of the scan the index describes.
 */
export function pciColumnMax(index: HostIndex, column: PciColumn): Int32Array {
  const k = index.pciColumns.indexOf(column)
  if (k >= 0) return index.pciMaxes[k]!
  const blocks = index.blockStart.length - 1
  const max = new Int32Array(blocks)
  for (let b = 0; b < blocks; b++) {
    if (index.pciBlock[b] === 1) max[b] = blockMaxOf(index, column.free, b)
  }
  index.pciColumns.push(column)
  index.pciMaxes.push(max)
  return max
}

/** The largest of `values` over block b's hosts. */
function blockMaxOf(index: HostIndex, values: Int32Array, b: number): number {
  let max = 0
  for (let p = index.blockStart[b]!; p < index.blockStart[b + 1]!; p++) {
    const v = values[index.order[p]!]!
    if (v > max) max = v
  }
  return max
}


/** Summary slots folded as the minimum or maximum of one host column, as (slot, column) pairs. */
const minFolds = Int8Array.of(blockStat.minUsed, col.used, blockStat.minVcpuInv, col.vi,
  blockStat.minRamInv, col.ri)
const maxFolds = Int8Array.of(blockStat.maxUsed, col.used, blockStat.maxMagnitude, col.magnitude,
  blockStat.maxVcpuInv, col.vi, blockStat.maxRamInv, col.ri, blockStat.maxFreeVcpus, col.fv,
  blockStat.maxFreeRamMb, col.fr, blockStat.maxFreeDisk, col.disk,
  blockStat.maxFreeDisk + 1, col.disk + 1, blockStat.maxFreeDisk + 2, col.disk + 2)

/** Whether host columns `c` equal the first `count` reference columns at `r`. */
function sameAsRef(c: HostColumns, refs: Float64Array, r: number, count: number): boolean {
  for (let k = 0; k < count; k++) if (c[k] !== refs[r + k]) return false
  return true
}

/** Reference columns `alike` compares (free vCPUs, RAM and the two 1/capacities). */
const alikeSlots = 4

/**
 * Folds host i's change into block b's summaries. An extreme the host held and left is still
 * held when the block's first or last host (another host) had the host's old columns; else such
 * extremes are recomputed together over the block (`recomputeSlots`); false when so many are that
 * the block is better summarised again. Every value is read from the column scratch arrays: no number crosses
 * a call, so none is boxed.
 */
function foldHost(index: HostIndex, scan: ScanIndex, b: number, i: number, was: HostColumns,
  is: HostColumns): boolean {
  const s = index.stats
  const at = b * blockStatCount
  const lo = index.blockStart[b]!
  const size = index.blockStart[b + 1]! - lo
  if (size === 1) return false
  const first = index.order[lo]!
  const last = index.order[lo + size - 1]!
  const refs = index.refColumns
  const r = b * refStride
  const alike = first === i ? countAlike(index, scan, b)
    : s[at + blockStat.alike]! + (sameAsRef(is, refs, r, alikeSlots) ? 1 : 0) -
      (sameAsRef(was, refs, r, alikeSlots) ? 1 : 0)
  put(s, at, blockStat.alike, alike)
  put(s, at, blockStat.uniform, alike === size ? 1 : 0)
  put(s, at, blockStat.upCount, s[at + blockStat.upCount]! + is[col.up]! - was[col.up]!)
  // Another host with every column the host had holds every extreme the host held.
  const held = (i !== first && sameAsRef(was, refs, r, refSlots)) ||
    (i !== last && sameAsRef(was, refs, r + refSlots, refSlots))
  staleCount = 0
  for (let k = 0; k < minFolds.length; k += 2) {
    const w = was[minFolds[k + 1]!]!
    const v = is[minFolds[k + 1]!]!
    const cur = s[at + minFolds[k]!]!
    if (!held && w === cur && v > cur) stale[staleCount++] = minFolds[k]!
    else if (v < cur) put(s, at, minFolds[k]!, v)
  }
  for (let k = 0; k < maxFolds.length; k += 2) {
    const w = was[maxFolds[k + 1]!]!
    const v = is[maxFolds[k + 1]!]!
    const cur = s[at + maxFolds[k]!]!
    if (!held && w === cur && v < cur) stale[staleCount++] = maxFolds[k]!
    else if (v > cur) put(s, at, maxFolds[k]!, v)
  }
  const u0 = was[col.used]!
  const u1 = is[col.used]!
  foldPairs(s, at, blockStat.usedByThreshold, usedThresholds, was[col.fv]!, is[col.fv]!, u0, u1,
    held)
  foldPairs(s, at, blockStat.usedByRam, ramThresholdsMb, was[col.fr]!, is[col.fr]!, u0, u1, held)
  if (staleCount > staleMax) return false
  if (staleCount > 0) {
    recomputeSlots(index, scan, b, stale, staleCount, recomputed)
    for (let k = 0; k < staleCount; k++) put(s, at, stale[k]!, recomputed[k]!)
  }
  const d = at + blockStat.maxFreeDisk
  put(s, at, blockStat.maxFreeDiskAny, Math.max(s[d]!, s[d + 1]!, s[d + 2]!))
  return true
}

/** Slots (offsets in a block's summaries) whose extreme a fold could not tell, and their count. */
const stale = new Int8Array(blockStatCount)
let staleCount = 0
/** Their values recomputed (by position in `stale`). */
const recomputed = new Float64Array(blockStatCount)
/**
 * More stale slots than this and the whole block is summarised again; up to it they are
 * recomputed together in one pass over the block (`recomputeSlots`).
 */
const staleMax = 4

/**
 * The min/max pairs of `used` per threshold at `start` (offset in the block at `at`) with one
 * host's change (free `f0` to `f1`, used `u0` to `u1`); a pair member only a recompute can tell
 * goes to `stale` (none when another host `held` the host's old columns).
 */
function foldPairs(s: Float64Array, at: number, start: number, thresholds: ReadonlyArray<number>,
  f0: number, f1: number, u0: number, u1: number, held: boolean): void {
  for (let k = 0; k < thresholds.length; k++) {
    const t = thresholds[k]!
    const wasIn = f0 >= t
    const isIn = f1 >= t
    if (!wasIn && !isIn) break
    const lo = start + 2 * k
    const min = s[at + lo]!
    const max = s[at + lo + 1]!
    if (!held && wasIn && u0 === min && !(isIn && u1 <= min)) stale[staleCount++] = lo
    else if (isIn && u1 < min) put(s, at, lo, u1)
    if (!held && wasIn && u0 === max && !(isIn && u1 >= max)) stale[staleCount++] = lo + 1
    else if (isIn && u1 > max) put(s, at, lo + 1, u1)
    if (staleCount > staleMax) return
  }
}

/**
 * What a summary slot is: the column it takes the extreme of (`col`), whether the maximum, and
 * for the threshold pairs the column a host must reach the threshold in (-1: every host).
 */
const slotColumn = new Int8Array(blockStatCount).fill(-1)
const slotMax = new Uint8Array(blockStatCount)
const slotMember = new Int8Array(blockStatCount).fill(-1)
const slotThreshold = new Float64Array(blockStatCount)
for (let k = 0; k < minFolds.length; k += 2) slotColumn[minFolds[k]!] = minFolds[k + 1]!
for (let k = 0; k < maxFolds.length; k += 2) {
  slotColumn[maxFolds[k]!] = maxFolds[k + 1]!
  slotMax[maxFolds[k]!] = 1
}
for (const [start, thresholds, member] of [[blockStat.usedByThreshold, usedThresholds, col.fv],
  [blockStat.usedByRam, ramThresholdsMb, col.fr]] as const) {
  thresholds.forEach((t, k) => {
    for (const m of [0, 1]) {
      slotColumn[start + 2 * k + m] = col.used
      slotMax[start + 2 * k + m] = m
      slotMember[start + 2 * k + m] = member
      slotThreshold[start + 2 * k + m] = t
    }
  })
}
const hostNow = newHostColumns()

/** The summary slots `recomputeSlot` computes (every extreme; not the counts and flags). */
export const recomputableSlots: ReadonlyArray<number> =
  [...slotColumn.keys()].filter((k) => slotColumn[k]! >= 0)

/**
 * @internal Slot `slot` (one of `recomputableSlots`) of block b computed over its hosts, as
 * `summarise` computes it.
 */
export function recomputeSlot(index: HostIndex, scan: ScanIndex, b: number, slot: number): number {
  oneSlot[0] = slot
  recomputeSlots(index, scan, b, oneSlot, 1, recomputed)
  return recomputed[0]!
}

const oneSlot = new Int8Array(1)

/**
 * @internal Slots `slots[0..count)` (each one of `recomputableSlots`) of block b computed over its
 * hosts in one pass, as `summarise` computes them, into `out[0..count)`.
 */
export function recomputeSlots(index: HostIndex, scan: ScanIndex, b: number, slots: Int8Array,
  count: number, out: Float64Array): void {
  for (let c = 0; c < count; c++) out[c] = slotMax[slots[c]!] === 1 ? -Infinity : Infinity
  for (let p = index.blockStart[b]!; p < index.blockStart[b + 1]!; p++) {
    readHostColumns(scan, index.order[p]!, hostNow)
    for (let c = 0; c < count; c++) {
      const slot = slots[c]!
      const member = slotMember[slot]!
      if (member >= 0 && !(hostNow[member]! >= slotThreshold[slot]!)) continue
      const x = hostNow[slotColumn[slot]!]!
      if (slotMax[slot] === 1 ? x > out[c]! : x < out[c]!) out[c] = x
    }
  }
}

/** Hosts of block b whose free vCPUs, RAM and capacities equal its first host's. */
function countAlike(index: HostIndex, scan: ScanIndex, b: number): number {
  const { freeVcpus, freeRamMb, vcpuCapacityInv, ramCapacityInv } = scan
  const first = index.order[index.blockStart[b]!]!
  let alike = 0
  for (let p = index.blockStart[b]!; p < index.blockStart[b + 1]!; p++) {
    const i = index.order[p]!
    if (freeVcpus[i] === freeVcpus[first] && freeRamMb[i] === freeRamMb[first] &&
      vcpuCapacityInv[i] === vcpuCapacityInv[first] &&
      ramCapacityInv[i] === ramCapacityInv[first]) alike++
  }
  return alike
}

/** Per free-vCPU and per free-RAM threshold, the min and max of `used` while summarising. */
const vcpuScratch = new Float64Array(2 * usedThresholds.length)
const ramScratch = new Float64Array(2 * ramThresholdsMb.length)
/** The thresholds as typed arrays (ascending). */
const vcpuThresholds = Float64Array.from(usedThresholds)
const ramThresholds = Float64Array.from(ramThresholdsMb)
/**
 * While summarising, per count j of thresholds a host's free vCPUs (RAM) reach, the min and max
 * of `used` over those hosts (at 2j and 2j + 1): one update per host, where a host reaching k
 * thresholds counts in k pairs.
 */
const vcpuBuckets = new Float64Array(2 * (usedThresholds.length + 1))
const ramBuckets = new Float64Array(2 * (ramThresholdsMb.length + 1))

/** Empties min/max pairs (min +∞, max −∞). */
function resetPairs(pairs: Float64Array): void {
  for (let k = 0; k < pairs.length; k += 2) {
    pairs[k] = Infinity
    pairs[k + 1] = -Infinity
  }
}

/** How many of `thresholds` (ascending) `free` reaches. */
function reached(thresholds: Float64Array, free: number): number {
  let j = 0
  while (j < thresholds.length && free >= thresholds[j]!) j++
  return j
}

/**
 * The per-threshold pairs from the buckets: threshold k's hosts are those reaching more than k
 * thresholds, so its min and max are those of buckets k + 1 and above.
 */
function pairsOfBuckets(buckets: Float64Array, pairs: Float64Array): void {
  let min = Infinity
  let max = -Infinity
  for (let j = pairs.length >> 1; j >= 1; j--) {
    if (buckets[2 * j]! < min) min = buckets[2 * j]!
    if (buckets[2 * j + 1]! > max) max = buckets[2 * j + 1]!
    pairs[2 * j - 2] = min
    pairs[2 * j - 1] = max
  }
}

function summarise(index: HostIndex, scan: ScanIndex, b: number): void {
  const { up, freeVcpus, freeRamMb, vcpuCapacityInv, ramCapacityInv, maxFreeDiskMb } = scan
  const n = up.length
  const lo = index.blockStart[b]!
  const hi = index.blockStart[b + 1]!
  const first = index.order[lo]!
  let minUsed = Infinity, maxUsed = -Infinity, maxMagnitude = 0
  let minVi = Infinity, maxVi = -Infinity, minRi = Infinity, maxRi = -Infinity
  let maxFv = -Infinity, maxFr = -Infinity, d0 = -Infinity, d1 = -Infinity, d2 = -Infinity
  let upCount = 0
  let alike = 0
  const fv0 = freeVcpus[first]!
  const fr0 = freeRamMb[first]!
  const vi0 = vcpuCapacityInv[first]!
  const ri0 = ramCapacityInv[first]!
  resetPairs(vcpuBuckets)
  resetPairs(ramBuckets)
  for (let p = lo; p < hi; p++) {
    const i = index.order[p]!
    const fv = freeVcpus[i]!
    const fr = freeRamMb[i]!
    const vi = vcpuCapacityInv[i]!
    const ri = ramCapacityInv[i]!
    const used = 2 - fv * vi - fr * ri
    const jv = 2 * reached(vcpuThresholds, fv)
    if (used < vcpuBuckets[jv]!) vcpuBuckets[jv] = used
    if (used > vcpuBuckets[jv + 1]!) vcpuBuckets[jv + 1] = used
    const jr = 2 * reached(ramThresholds, fr)
    if (used < ramBuckets[jr]!) ramBuckets[jr] = used
    if (used > ramBuckets[jr + 1]!) ramBuckets[jr + 1] = used
    if (used < minUsed) minUsed = used
    if (used > maxUsed) maxUsed = used
    const magnitude = Math.abs(fv) * vi + Math.abs(fr) * ri
    if (magnitude > maxMagnitude) maxMagnitude = magnitude
    if (vi < minVi) minVi = vi
    if (vi > maxVi) maxVi = vi
    if (ri < minRi) minRi = ri
    if (ri > maxRi) maxRi = ri
    if (fv > maxFv) maxFv = fv
    if (fr > maxFr) maxFr = fr
    if (maxFreeDiskMb[i]! > d0) d0 = maxFreeDiskMb[i]!
    if (maxFreeDiskMb[n + i]! > d1) d1 = maxFreeDiskMb[n + i]!
    if (maxFreeDiskMb[2 * n + i]! > d2) d2 = maxFreeDiskMb[2 * n + i]!
    upCount += up[i]!
    if (fv === fv0 && fr === fr0 && vi === vi0 && ri === ri0) alike++
  }
  const s = index.stats
  const at = b * blockStatCount
  pairsOfBuckets(vcpuBuckets, vcpuScratch)
  pairsOfBuckets(ramBuckets, ramScratch)
  s.set(vcpuScratch, at + blockStat.usedByThreshold)
  s.set(ramScratch, at + blockStat.usedByRam)
  s[at + blockStat.minUsed] = minUsed
  s[at + blockStat.maxUsed] = maxUsed
  s[at + blockStat.maxMagnitude] = maxMagnitude
  s[at + blockStat.minVcpuInv] = minVi
  s[at + blockStat.maxVcpuInv] = maxVi
  s[at + blockStat.minRamInv] = minRi
  s[at + blockStat.maxRamInv] = maxRi
  s[at + blockStat.maxFreeVcpus] = maxFv
  s[at + blockStat.maxFreeRamMb] = maxFr
  s[at + blockStat.maxFreeDisk] = d0
  s[at + blockStat.maxFreeDisk + 1] = d1
  s[at + blockStat.maxFreeDisk + 2] = d2
  s[at + blockStat.maxFreeDiskAny] = Math.max(d0, d1, d2)
  s[at + blockStat.upCount] = upCount
  s[at + blockStat.alike] = alike
  s[at + blockStat.uniform] = alike === hi - lo ? 1 : 0
}
