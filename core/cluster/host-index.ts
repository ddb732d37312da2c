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
 * left behind the runner-up bound and no other host is known to hold it), and the block's into
 * its superblock's likewise; a rebuilt `ScanIndex` starts without
 * one, so the index always describes the columns of the state that reads them.
 */
import type { Inventory } from "../inventory/inventory.ts"
import { combineSuper, foldSuper, superblocksOf } from "./host-superblocks.ts"
import { summarise } from "./host-summary.ts"
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
  /**
   * Per block and extreme slot (`runnerUpOf`: at `runnerUpStride` per block, the slots whose
   * holder most placements move towards first, so a placement reads few lines), a bound on the
   * runner-up: at least the extreme over the block's hosts but one holding the extreme (at most,
   * for a minimum) and no further out than the extreme. When the host holding an extreme moves
   * and stays at or beyond this bound, it still holds it and nothing is recomputed. Set to the
   * extreme itself when a block is summarised, made exact when a slot is recomputed.
   */
  readonly runnerUp: Float64Array
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
    runnerUp: new Float64Array(blocks * runnerUpStride),
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
    resetRunnerUp(index, b)
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

/**
 * Writes `from[c]` to summary slot `k` of the block at `at`, listing the slot in the changes when
 * it moves (the value is read here: a number passed to a call that is not inlined is boxed).
 */
function put(s: Float64Array, at: number, k: number, from: Float64Array, c: number): void {
  const v = from[c]!
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
 * extreme is folded in at O(1) unless the host held it alone and moved behind the slot's
 * runner-up bound (`HostIndex.runnerUp`) while no other host is known to have had its columns:
 * then that extreme is recomputed over the block, or with many such the block is summarised
 * again (O(block)). Only the slots that changed are folded into the superblock. The result
 * equals a summary from scratch.
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
    resetRunnerUp(index, b)
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
}

/**
 * Folds host i's entry of `column` moving from `was` to its value now into the column's block
 * maxima (when the index keeps them, `pciColumnMax`): O(1), or O(block) when the host held its
 * block's maximum and fell below it. Called by the scan as it rewrites the entry.
 */
export function foldPciMax(index: HostIndex, column: PciColumn, i: number, was: number): void {
  const k = index.pciColumns.indexOf(column)
  if (k < 0) return
  const b = index.blockOf[i]!
  const maxes = index.pciMaxes[k]!
  const now = column.free[i]!
  if (now > maxes[b]!) maxes[b] = now
  else if (was === maxes[b] && now < was) maxes[b] = blockMaxOf(index, column.free, b)
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

/** A computed value on its way to `put` (scratch). */
const value = new Float64Array(1)

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
  value[0] = alike
  put(s, at, blockStat.alike, value, 0)
  value[0] = alike === size ? 1 : 0
  put(s, at, blockStat.uniform, value, 0)
  value[0] = s[at + blockStat.upCount]! + is[col.up]! - was[col.up]!
  put(s, at, blockStat.upCount, value, 0)
  // Another host with every column the host had holds every extreme the host held.
  const held = (i !== first && sameAsRef(was, refs, r, refSlots)) ||
    (i !== last && sameAsRef(was, refs, r + refSlots, refSlots))
  staleCount = 0
  const runnerUp = index.runnerUp
  const ru = b * runnerUpStride
  for (let k = 0; k < minFolds.length; k += 2) {
    foldSlot(s, runnerUp, at, ru, minFolds[k]!, false, was, is, minFolds[k + 1]!, held)
  }
  for (let k = 0; k < maxFolds.length; k += 2) {
    foldSlot(s, runnerUp, at, ru, maxFolds[k]!, true, was, is, maxFolds[k + 1]!, held)
  }
  foldPairs(s, runnerUp, at, ru, blockStat.usedByThreshold, usedThresholds, was, is, col.fv,
    held)
  foldPairs(s, runnerUp, at, ru, blockStat.usedByRam, ramThresholdsMb, was, is, col.fr, held)
  if (staleCount > staleMax) return false
  if (staleCount > 0) {
    recomputeSlots(index, scan, b, stale, staleCount, recomputed, recomputedRunnerUp)
    for (let k = 0; k < staleCount; k++) {
      put(s, at, stale[k]!, recomputed, k)
      runnerUp[ru + runnerUpAt[stale[k]!]!] = recomputedRunnerUp[k]!
    }
  }
  const d = at + blockStat.maxFreeDisk
  value[0] = Math.max(s[d]!, s[d + 1]!, s[d + 2]!)
  put(s, at, blockStat.maxFreeDiskAny, value, 0)
  return true
}

/** Slots (offsets in a block's summaries) whose extreme a fold could not tell, and their count. */
const stale = new Int8Array(blockStatCount)
let staleCount = 0
/** Their values recomputed (by position in `stale`), and their runner-ups. */
const recomputed = new Float64Array(blockStatCount)
const recomputedRunnerUp = new Float64Array(blockStatCount)
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
function foldPairs(s: Float64Array, runnerUp: Float64Array, at: number, ru: number,
  start: number,
  thresholds: ReadonlyArray<number>, was: HostColumns, is: HostColumns, free: number,
  held: boolean): void {
  for (let k = 0; k < thresholds.length; k++) {
    const t = thresholds[k]!
    const wasIn = was[free]! >= t
    const isIn = is[free]! >= t
    if (!wasIn && !isIn) break
    const lo = start + 2 * k
    if (wasIn && isIn) {
      foldSlot(s, runnerUp, at, ru, lo, false, was, is, col.used, held)
      foldSlot(s, runnerUp, at, ru, lo + 1, true, was, is, col.used, held)
    } else {
      // Outside the threshold's hosts, a host counts as the identity of the min (+∞) or max
      // (−∞).
      ends[0] = wasIn ? was[col.used]! : Infinity
      ends[1] = isIn ? is[col.used]! : Infinity
      ends[2] = wasIn ? was[col.used]! : -Infinity
      ends[3] = isIn ? is[col.used]! : -Infinity
      foldSlot(s, runnerUp, at, ru, lo, false, ends, ends, 0, held, 1)
      foldSlot(s, runnerUp, at, ru, lo + 1, true, ends, ends, 2, held, 3)
    }
    if (staleCount > staleMax) return
  }
}

/** A host's old and new values of a threshold pair's min and max (scratch of `foldPairs`). */
const ends = new Float64Array(4)

/**
 * Where each extreme slot's runner-up bound sits in a block's `HostIndex.runnerUp` (-1: not an
 * extreme): the largest `used`, overall and per threshold, first (a placement on a host that is
 * not the fullest moves it towards those and reads their bounds), then the other extremes.
 */
const runnerUpAt = new Int8Array(blockStatCount).fill(-1)
let runnerUpStride = 0
for (const slot of [blockStat.maxUsed,
  ...usedThresholds.map((_, k) => blockStat.usedByThreshold + 2 * k + 1),
  ...ramThresholdsMb.map((_, k) => blockStat.usedByRam + 2 * k + 1)]) {
  runnerUpAt[slot] = runnerUpStride++
}
for (const slot of [blockStat.minUsed, blockStat.maxMagnitude, blockStat.minVcpuInv,
  blockStat.maxVcpuInv, blockStat.minRamInv, blockStat.maxRamInv, blockStat.maxFreeVcpus,
  blockStat.maxFreeRamMb, blockStat.maxFreeDisk, blockStat.maxFreeDisk + 1,
  blockStat.maxFreeDisk + 2, ...usedThresholds.map((_, k) => blockStat.usedByThreshold + 2 * k),
  ...ramThresholdsMb.map((_, k) => blockStat.usedByRam + 2 * k)]) {
  runnerUpAt[slot] = runnerUpStride++
}

/** @internal The runner-up bound of extreme slot `slot` of block b. */
export const runnerUpOf = (index: HostIndex, b: number, slot: number): number =>
  index.runnerUp[b * runnerUpStride + runnerUpAt[slot]!]!

/** Sets block b's runner-up bounds to its extremes (valid bounds, if loose). */
function resetRunnerUp(index: HostIndex, b: number): void {
  const at = b * blockStatCount
  const ru = b * runnerUpStride
  for (let k = 0; k < blockStatCount; k++) {
    if (runnerUpAt[k]! >= 0) index.runnerUp[ru + runnerUpAt[k]!] = index.stats[at + k]!
  }
}

/**
 * Folds one host's value of extreme slot k (a maximum when `max`, else a minimum) moving from
 * `from[c]` to `to[c2]` (`c2` defaults to `c`), with the slot's runner-up bound; the slot goes
 * to `stale` when only a recompute can tell its extreme: the host held it alone (or level with
 * the bound) and fell behind the bound. With `held`, another host had the host's old value, so
 * the host holds nothing alone. The values are read here (no number crosses a call: none is
 * boxed when the call is not inlined).
 */
function foldSlot(s: Float64Array, runnerUp: Float64Array, at: number, ru: number, k: number,
  max: boolean, from: Float64Array, to: Float64Array, c: number, held: boolean,
  c2: number = c): void {
  const w = from[c]!
  const v = to[c2]!
  if (v === w) return
  const best = s[at + k]!
  const r = ru + runnerUpAt[k]!
  if (held || w !== best) {
    // Not the only holder: the extreme moves out to v, or the runner-up bound does (only a move
    // towards the extreme can pass the bound: the bound is read then alone).
    if (max ? v > best : v < best) {
      runnerUp[r] = best
      put(s, at, k, to, c2)
    } else if ((max ? v > w : v < w) && (max ? v > runnerUp[r]! : v < runnerUp[r]!)) {
      runnerUp[r] = v
    }
    return
  }
  // The host holds the extreme: it keeps it when it moves out, or stays at or beyond the bound
  // on every other host (a bound level with the extreme may be another host holding it too).
  if ((max ? v > best : v < best) || (max ? v >= runnerUp[r]! : v <= runnerUp[r]!)) {
    put(s, at, k, to, c2)
  } else stale[staleCount++] = k
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
if (recomputableSlots.some((k) => runnerUpAt[k]! < 0) ||
  runnerUpStride !== recomputableSlots.length) {
  throw new Error("host index: every extreme slot needs one runner-up bound")
}

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
 * hosts in one pass, as `summarise` computes them, into `out[0..count)`; with `runnerUp`, the
 * same extreme over the block's hosts but one holding it into `runnerUp[0..count)` (the identity,
 * ∓∞, when the slot counts fewer than two hosts).
 */
export function recomputeSlots(index: HostIndex, scan: ScanIndex, b: number, slots: Int8Array,
  count: number, out: Float64Array, runnerUp: Float64Array = secondScratch): void {
  for (let c = 0; c < count; c++) {
    out[c] = slotMax[slots[c]!] === 1 ? -Infinity : Infinity
    runnerUp[c] = out[c]!
  }
  for (let p = index.blockStart[b]!; p < index.blockStart[b + 1]!; p++) {
    readHostColumns(scan, index.order[p]!, hostNow)
    for (let c = 0; c < count; c++) {
      const slot = slots[c]!
      const member = slotMember[slot]!
      if (member >= 0 && !(hostNow[member]! >= slotThreshold[slot]!)) continue
      const x = hostNow[slotColumn[slot]!]!
      const max = slotMax[slot] === 1
      if (max ? x > out[c]! : x < out[c]!) {
        runnerUp[c] = out[c]!
        out[c] = x
      } else if (max ? x > runnerUp[c]! : x < runnerUp[c]!) runnerUp[c] = x
    }
  }
}

const secondScratch = new Float64Array(blockStatCount)

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
