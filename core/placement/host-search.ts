/**
 * The placement scan's winner from the host index (`core/cluster/host-index.ts`) by branch and
 * bound, without visiting every host. Per special-hardware class it finds the best resource
 * score and its lowest host (superblocks best bound first, then every superblock and within it
 * every block whose bound could still beat or tie it), and, where the special-hardware term is normalised (2+ classes among the
 * candidates), the lowest score over all candidates and an upper bound of each class's runner-up.
 * Hosts are scored with the reference scan's formula in its operation order, so the floats are
 * the same; bounds carry a rounding margin except for blocks whose hosts are all alike, whose
 * score is computed exactly. The result equals the full scan's `best`, or is -1 when the index
 * cannot decide exactly (no candidate, a rounding tie the reference settles with a second pass,
 * a request outside the index, more hosts visited than there are): then the caller runs
 * the full scan.
 */
import {
  blockStat as st, blockStatCount, type HostIndex, pciColumnMax, ramThresholdsMb, usedThresholds,
} from "../cluster/host-index.ts"
import { classWinner, hostPasses } from "../kernels/scan-reference.ts"
import { blockMaxCacheOf, type BlockMaxima, blockMaximaOf } from "./block-max.ts"
import { anyDiskKind, type ScanInput, type ScanRequest } from "../kernels/scan-types.ts"

/** Relative rounding margin of a block bound (far above the few ulps a score can be off by). */
const boundMargin = 1e-12
/**
 * Hosts a search may visit before it gives up and leaves the request to the full scan (which
 * costs less once the bounds cannot tell blocks apart, e.g. many near-ties, and the search has
 * scored as many hosts as there are): the host count, at least `visitFloor`.
 */
const visitFloor = 2048
let visitsLeft = 0

/** Scratch a search reuses (grown to the index, never per call). */
interface Search {
  /** Bounds per block (set when its superblock is expanded) and per superblock. */
  upper: Float64Array
  lower: Float64Array
  superUpper: Float64Array
  superLower: Float64Array
  /** Per superblock, the search (`stamp`) that expanded it, and its block of largest bound. */
  expanded: Int32Array
  superTop: Int32Array
  stamp: number
  antiHost: Uint8Array
  antiRack: Uint8Array
  antiZone: Uint8Array
  /** Per class: best score, its host, an upper bound of the runner-up score. */
  readonly best: Float64Array
  readonly bestHost: Int32Array
  readonly runnerUp: Float64Array
  /** The same per class in the reference scan's layout (best, runner-up, host at 3c…). */
  readonly classes: Float64Array
  /** Per class, the superblock of the largest upper bound (-1 when none is feasible). */
  readonly topUpper: Int32Array
  /** The superblock of the smallest lower bound (all classes), -1 when none is feasible. */
  topLower: number
}

const search: Search = {
  upper: new Float64Array(0), lower: new Float64Array(0), superUpper: new Float64Array(0),
  superLower: new Float64Array(0), expanded: new Int32Array(0), superTop: new Int32Array(0),
  stamp: 0, antiHost: new Uint8Array(0),
  antiRack: new Uint8Array(0), antiZone: new Uint8Array(0), best: new Float64Array(3),
  bestHost: new Int32Array(3), runnerUp: new Float64Array(3), classes: new Float64Array(9),
  topUpper: new Int32Array(3), topLower: -1,
}

/** What one search reads, set once per call (module scratch: the search is synchronous). */
let input: ScanInput
let req: ScanRequest
let index: HostIndex
/** The remembered block maxima for the request's shape (`block-max.ts`), and block changes. */
let maxima: BlockMaxima | undefined
let blockChanges: Int32Array = new Int32Array(0)

/**
 * The full scan's `best` for `request`, found through `hostIndex`, or -1 when the caller must
 * run the full scan (see the module comment). `hostIndex` must describe `scanInput.index`.
 */
export function indexedBest(scanInput: ScanInput, request: ScanRequest, hostIndex: HostIndex)
  : number {
  if (request.vcpus < 0 || request.ramMb < 0 || request.affinityHost === -2 ||
    request.affinityRack === -2 || request.affinityZone === -2 ||
    scanInput.index.anyZeroCapacity) return -1
  input = scanInput
  req = request
  index = hostIndex
  visitsLeft = Math.max(visitFloor, scanInput.index.up.length)
  const blocks = hostIndex.blockStart.length - 1
  const s = search
  if (s.upper.length < blocks) {
    s.upper = new Float64Array(blocks)
    s.lower = new Float64Array(blocks)
  }
  const supers = hostIndex.superStart.length - 1
  if (s.superUpper.length < supers) {
    s.superUpper = new Float64Array(supers)
    s.superLower = new Float64Array(supers)
    s.expanded = new Int32Array(supers)
    s.superTop = new Int32Array(supers)
    s.stamp = 0
  }
  if (s.antiHost.length < scanInput.index.up.length) {
    s.antiHost = new Uint8Array(scanInput.index.up.length)
  }
  if (s.antiRack.length < scanInput.rackCount) s.antiRack = new Uint8Array(scanInput.rackCount)
  if (s.antiZone.length < scanInput.zoneCount) s.antiZone = new Uint8Array(scanInput.zoneCount)
  // Remembered block maxima pay where exact ties are common and no runner-up is needed (no
  // special-hardware term): there they skip most tie blocks; with the term, the runner-up bound
  // keeps tie blocks visited and the bookkeeping measured 5-7% slower.
  maxima = undefined
  if (request.sign !== 0 && request.specialWeight === 0) {
    const cache = blockMaxCacheOf(scanInput.index, hostIndex)
    blockChanges = cache.changes
    maxima = blockMaximaOf(cache, request.vcpus, request.ramMb, request.sign)
  }
  mark(s, request, 1)
  try {
    return decide()
  } finally {
    mark(s, request, 0)
  }
}

/** Sets (1) or clears (0) the request's anti-affinity flags (indexed loops: no iterators). */
function mark(s: Search, request: ScanRequest, flag: number): void {
  const { antiHosts, antiRacks, antiZones } = request
  for (let k = 0; k < antiHosts.length; k++) s.antiHost[antiHosts[k]!] = flag
  for (let k = 0; k < antiRacks.length; k++) s.antiRack[antiRacks[k]!] = flag
  for (let k = 0; k < antiZones.length; k++) s.antiZone[antiZones[k]!] = flag
}

const noPciFree = new Int32Array(0)

/** Per-block PCI maxima of the request's columns (scratch, set per search). */
const pciMax: Int32Array[] = []

/** Whether one block of `b0` up to `b1` may hold a host with each requested PCI count free. */
function pciMayFitIn(b0: number, b1: number): boolean {
  if (bPciCount === 0) return true
  for (let b = b0; b < b1; b++) {
    let fits = true
    for (let k = 0; k < bPciCount && fits; k++) fits = pciMax[k]![b]! >= req.pciCounts[k]!
    if (fits) return true
  }
  return false
}

/** The reference's `bestOf` over the searched class maxima. */
function decide(): number {
  const s = search
  prepareBounds()
  boundSupers()
  let sMin = Infinity
  let sMax = -Infinity
  let rMax = -Infinity
  for (let c = 0; c < 3; c++) {
    classMax(c)
    if (visitsLeft < 0) return -1
    if (c === 0 && dominates()) return s.bestHost[0]!
    if (s.bestHost[c] === -1) continue
    if (-c < sMin) sMin = -c
    if (-c > sMax) sMax = -c
    if (s.best[c]! > rMax) rMax = s.best[c]!
  }
  if (sMin === Infinity) return -1
  const special = req.specialWeight !== 0 && sMax !== sMin
  const rMin = special ? globalMin() : 0
  if (visitsLeft < 0) return -1
  const classes = s.classes
  for (let c = 0; c < 3; c++) {
    classes[c * 3] = s.best[c]!
    classes[c * 3 + 1] = s.runnerUp[c]!
    classes[c * 3 + 2] = s.bestHost[c]!
  }
  const best = classWinner(req, classes, rMin, rMax, sMin, sMax)
  return best === -2 ? -1 : best
}

/**
 * Whether class 0's best host (hosts without special hardware; just searched) is the winner
 * whatever the other classes hold, so they need no search: the special-hardware term lifts every
 * class-0 candidate above any other class's by at least `specialWeight / cMax` (cMax: the highest
 * class the index holds), more than the resource term's whole range (`policyWeight`); and its
 * runner-up is far enough below its best that no normalisation the bounds allow can round the
 * two level (`classWinner`'s -2). Then the reference's answer, direct or through its exact
 * second pass, is class 0's lowest host of the best score.
 */
function dominates(): boolean {
  const s = search
  const { specialWeight: sw, policyWeight: pw } = req
  if (sw <= 0 || pw <= 0 || s.bestHost[0] === -1) return false
  const classSupers = index.classSupers
  let cMax = 0
  for (let c = 1; c < 3; c++) if (classSupers[c + 1]! > classSupers[c]!) cMax = c
  if (cMax === 0 || !(sw / cMax > pw * (1 + dominanceMargin))) return false
  const best = s.best[0]!
  const runner = s.runnerUp[0]!
  if (runner === -Infinity) return true
  // The candidates' resource range is at most the widest the superblock bounds allow.
  let hi = best
  for (let c = 0; c < 3; c++) {
    const q = s.topUpper[c]!
    if (q >= 0 && s.superUpper[q]! > hi) hi = s.superUpper[q]!
  }
  const lo = s.topLower >= 0 ? Math.min(s.superLower[s.topLower]!, runner) : runner
  return (best - runner) * pw > dominanceMargin * (sw + pw) * (hi - lo)
}

/**
 * Relative margin of `dominates`' comparisons, far above the few ulps the normalisation's
 * rounded operations can move a score by.
 */
const dominanceMargin = 1e-9

/** The request's bound inputs, set once per search by `prepareBounds` for `boundInto`. */
let bV = 0
let bM = 0
let bSign = 0
let bDiskSlot = -1
let bDiskMb = 0
let bUsedSlot = 0
let bRamSlot = 0
let bZoneBit = 0
let bAffinityBit = 0
let bPciCount = 0
let bHostBlock = -1
let bHostSuper = -1

function prepareBounds(): void {
  const { vcpus: v, ramMb: m, zone, affinityZone, affinityHost, diskColumn } = req
  let threshold = 0
  while (threshold + 1 < usedThresholds.length && usedThresholds[threshold + 1]! <= v) {
    threshold++
  }
  let ram = 0
  while (ram + 1 < ramThresholdsMb.length && ramThresholdsMb[ram + 1]! <= m) ram++
  bV = v
  bM = m
  bSign = req.sign
  // Slots read per block, as offsets from its first slot.
  bDiskSlot = diskColumn < 0 ? -1
    : diskColumn === anyDiskKind ? st.maxFreeDiskAny : st.maxFreeDisk + diskColumn
  bDiskMb = req.diskMb
  bUsedSlot = st.usedByThreshold + 2 * threshold
  bRamSlot = st.usedByRam + 2 * ram
  bZoneBit = zone === -1 ? 0 : 1 << zone
  bAffinityBit = affinityZone === -1 ? 0 : 1 << affinityZone
  bHostBlock = affinityHost >= 0 ? index.blockOf[affinityHost]! : -1
  bHostSuper = bHostBlock >= 0 ? index.superOf[bHostBlock]! : -1
  // Per requested PCI column, the most devices free on one host of each block.
  bPciCount = req.pci.length
  for (let k = 0; k < bPciCount; k++) pciMax[k] = pciColumnMax(index, req.pci[k]!)
}

/**
 * The upper and lower bound of the resource score over the hosts whose summaries are
 * `x[at…]` (a block's or a superblock's), into `upper[i]` and `lower[i]`: NaN when none of them
 * can pass the filters the summaries decide (status, zone, vCPUs, RAM, disk; `mayFit` for PCI
 * and host affinity). Exact (no margin) where the hosts are alike; `firstHost` is scored where
 * the score is 0.
 */
function boundInto(x: Float64Array, at: number, mask: number, mayFit: boolean,
  firstHost: number, upper: Float64Array, lower: Float64Array, i: number): void {
  const v = bV
  const m = bM
  const sign = bSign
  if (!mayFit || x[at + st.upCount] === 0 || x[at + st.maxFreeVcpus]! < v ||
    x[at + st.maxFreeRamMb]! < m || (mask !== -1 && (mask & bZoneBit) !== bZoneBit) ||
    (mask !== -1 && (mask & bAffinityBit) !== bAffinityBit) ||
    (bDiskSlot >= 0 && x[at + bDiskSlot]! < bDiskMb)) {
    upper[i] = NaN
    lower[i] = NaN
    return
  }
  if (x[at + st.uniform] === 1) {
    // The one score, by the reference scan's formula and order over the hosts' common columns
    // (held in the summaries: no read of the hosts' own columns).
    const r = sign * (2 - (x[at + st.maxFreeVcpus]! - v) * x[at + st.minVcpuInv]! -
      (x[at + st.maxFreeRamMb]! - m) * x[at + st.minRamInv]!)
    upper[i] = r
    lower[i] = r
    return
  }
  if (sign === 0) {
    const c = input.index
    const r = sign * (2 - (c.freeVcpus[firstHost]! - v) * c.vcpuCapacityInv[firstHost]! -
      (c.freeRamMb[firstHost]! - m) * c.ramCapacityInv[firstHost]!)
    upper[i] = r
    lower[i] = r
    return
  }
  // Only hosts with at least v free vCPUs and m MB free RAM can take the request: the
  // utilisation extremes over those with at least the largest thresholds ≤ v and ≤ m bound it
  // (the tighter of the two; some exist: maxFreeVcpus ≥ v, maxFreeRamMb ≥ m).
  const hiUsed = Math.min(x[at + bUsedSlot + 1]!, x[at + bRamSlot + 1]!)
  const loUsed = Math.max(x[at + bUsedSlot]!, x[at + bRamSlot]!)
  const high = hiUsed + v * x[at + st.maxVcpuInv]! + m * x[at + st.maxRamInv]!
  const low = loUsed + v * x[at + st.minVcpuInv]! + m * x[at + st.minRamInv]!
  const margin = boundMargin * (2 + x[at + st.maxMagnitude]! + Math.abs(high))
  let up = sign > 0 ? high + margin : -low + margin
  let lo = sign > 0 ? low - margin : -high - margin
  // Where the hosts share one vCPU and one RAM capacity, the reference's formula over their
  // largest free vCPUs and RAM bounds every host's score without margin (each of its rounded
  // operations is monotonic): from below under pack, from above under spread. Under pack this
  // is exactly the score of empty hosts, so a block holding some stops looking lower than the
  // blocks that are all empty.
  const vInv = x[at + st.minVcpuInv]!
  const rInv = x[at + st.minRamInv]!
  if (vInv === x[at + st.maxVcpuInv] && rInv === x[at + st.maxRamInv]) {
    const edge = sign * (2 - (x[at + st.maxFreeVcpus]! - v) * vInv -
      (x[at + st.maxFreeRamMb]! - m) * rInv)
    if (sign > 0) { if (edge > lo) lo = edge } else if (edge < up) up = edge
  }
  upper[i] = up
  lower[i] = lo
}

/** Whether all hosts of the superblock or block summarised at `x[at…]` are alike. */
const exactAt = (x: Float64Array, at: number): boolean =>
  bSign === 0 || x[at + st.uniform] === 1

/**
 * Every superblock's bounds, per class the superblock of the largest upper bound, and the
 * superblock of the smallest lower bound (an exact one first on ties). Block bounds are
 * computed per superblock when a search enters it (`expand`).
 */
function boundSupers(): void {
  const s = search
  const { superUpper, superLower } = s
  const x = index.superStats
  const { superStart, blockStart, order, superZoneMask, classSupers } = index
  let topLower = -1
  let topLowerExact = false
  for (let c = 0; c < 3; c++) {
    let top = -1
    for (let q = classSupers[c]!; q < classSupers[c + 1]!; q++) {
      const at = q * blockStatCount
      const b0 = superStart[q]!
      const mayFit = (bHostSuper < 0 || bHostSuper === q) && pciMayFitIn(b0, superStart[q + 1]!)
      boundInto(x, at, superZoneMask[q]!, mayFit, order[blockStart[b0]!]!, superUpper,
        superLower, q)
      if (Number.isNaN(superUpper[q]!)) continue
      if (top === -1 || superUpper[q]! > superUpper[top]!) top = q
      if (topLower === -1 || superLower[q]! < superLower[topLower]! ||
        (superLower[q] === superLower[topLower] && !topLowerExact && exactAt(x, at))) {
        topLower = q
        topLowerExact = exactAt(x, at)
      }
    }
    s.topUpper[c] = top
  }
  s.topLower = topLower
  s.stamp++
}

/** Block bounds of superblock q (once per search); its block of the largest upper bound. */
function expand(q: number): number {
  const s = search
  const { upper, lower } = s
  const b0 = index.superStart[q]!
  const b1 = index.superStart[q + 1]!
  if (s.expanded[q] === s.stamp) return s.superTop[q]!
  s.expanded[q] = s.stamp
  const x = index.stats
  let top = -1
  for (let b = b0; b < b1; b++) {
    const mayFit = (bHostBlock < 0 || bHostBlock === b) && pciMayFitIn(b, b + 1)
    boundInto(x, b * blockStatCount, index.zoneMask[b]!, mayFit,
      index.order[index.blockStart[b]!]!, upper, lower, b)
    if (!Number.isNaN(upper[b]!) && (top === -1 || upper[b]! > upper[top]!)) top = b
  }
  s.superTop[q] = top
  return top
}

/** Whether host i passes every filter of the scan (the reference's own check). */
function passes(i: number): boolean {
  const s = search
  return hostPasses(input, req, s.antiHost, s.antiRack, s.antiZone, i)
}

/**
 * Class c's best score and lowest host with it (`search.best`, `bestHost`, -1 when the class has
 * no candidate) and an upper bound of its best candidate score below that (`runnerUp`, -Infinity
 * if none; the scores of visited hosts below the best count whether or not they pass).
 * Superblocks best bound first, then every superblock, and within it every block, whose bound
 * could still beat or tie the best.
 */
function classMax(c: number): void {
  const { freeVcpus: fv, freeRamMb: fr, vcpuCapacityInv: vi, ramCapacityInv: ri, up } =
    input.index
  const { sign, vcpus: v, ramMb: m } = req
  const needRunner = req.specialWeight !== 0
  const known = maxima
  const changes = blockChanges
  // The first PCI column's free devices, checked before the full filters (hosts whose devices
  // are all taken often score highest under pack).
  const pciFree = req.pci.length > 0 ? req.pci[0]!.free : noPciFree
  const pciNeed = req.pci.length > 0 ? req.pciCounts[0]! : 0
  const antiHost = search.antiHost
  const { upper, superUpper } = search
  const { order, blockStart, superStart, stats, superStats } = index
  const q0 = index.classSupers[c]!
  const q1 = index.classSupers[c + 1]!
  const topSuper = search.topUpper[c]!
  let best = -Infinity
  let host = -1
  let runner = -Infinity
  // Bounds of blocks left out: of uneven ones (any score up to it), and of even ones (their
  // exact score; the largest two, as the largest may turn out to be the best itself).
  let skipped = -Infinity
  let even1 = -Infinity
  let even2 = -Infinity
  // The budget in a local: a module variable updated in the loop is boxed on every write.
  let left = visitsLeft
  // Superblocks (level 1) and, inside one, blocks (level 0) share the skip and visit steps. The
  // left-out bookkeeping is written out at both levels on purpose: kept in locals it stays in
  // registers (a helper over a typed scratch measured 0-16% slower on the search).
  for (let j = -1; j < q1 - q0 && left >= 0; j++) {
    const q = j === -1 ? topSuper : q0 + j
    if (q === -1 || (j >= 0 && q === topSuper) || Number.isNaN(superUpper[q]!)) continue
    const qBound = superUpper[q]!
    const qExact = exactAt(superStats, q * blockStatCount)
    const qFirst = order[blockStart[superStart[q]!]!]!
    if (qBound < best || (qBound === best && qFirst > host)) {
      if (!qExact) { if (qBound > skipped) skipped = qBound } else if (qBound > even1) {
        if (even1 !== -Infinity) even2 = even1
        even1 = qBound
      } else if (qBound < even1 && qBound > even2) even2 = qBound
      continue
    }
    const b0 = superStart[q]!
    const b1 = qExact ? b0 + 1 : superStart[q + 1]!
    const topBlock = qExact ? b0 : expand(q)
    for (let k = -1; k < b1 - b0 && left >= 0; k++) {
      const b = k === -1 ? topBlock : b0 + k
      if (b === -1 || (k >= 0 && b === topBlock)) continue
      const bound = qExact ? qBound : upper[b]!
      if (Number.isNaN(bound)) continue
      const exact = qExact || exactAt(stats, b * blockStatCount)
      const firstHost = order[blockStart[b]!]!
      if (bound < best || (bound === best && firstHost > host)) {
        if (!exact) { if (bound > skipped) skipped = bound } else if (bound > even1) {
          if (even1 !== -Infinity) even2 = even1
          even1 = bound
        } else if (bound < even1 && bound > even2) even2 = bound
        continue
      }
      // An exact bound from an earlier visit (over a superset of the block's candidates; only
      // kept for requests that need no runner-up): all below the best, or level with it on later
      // hosts only.
      if (!exact && known !== undefined && known.seen[b] === changes[b] &&
        known.below[b]! <= best && (known.max[b]! < best ||
          (known.max[b] === best && known.first[b]! > host))) continue
      // An exact superblock is visited as one block spanning all its hosts.
      const hi = qExact ? blockStart[superStart[q + 1]!]! : blockStart[b + 1]!
      left -= exact ? 1 : hi - blockStart[b]!
      if (exact) {
        // Every host scores `bound`: only the first candidate can matter.
        const matters = bound > best || (bound === best && firstHost < host) ||
          (needRunner && bound > runner)
        if (!matters) continue
        for (let p = blockStart[b]!; p < hi; p++) {
          const i = order[p]!
          if (!passes(i)) continue
          if (bound > best) { runner = best; best = bound; host = i } else if (bound === best) {
            if (i < host) host = i
          } else if (bound > runner) runner = bound
          break
        }
        continue
      }
      // For later searches of the request's shape: the highest score, and its first host, over
      // the hosts up with its vCPUs and RAM free that reach the filters (the others score below
      // the best as it stands after the block; the best only grows).
      let top = -Infinity
      let topHost = -1
      for (let p = blockStart[b]!; p < hi; p++) {
        const i = order[p]!
        const r = sign * (2 - (fv[i]! - v) * vi[i]! - (fr[i]! - m) * ri[i]!)
        // The score first (cheap), the filters only for a host that could become the best. A
        // score below the best raises the runner-up bound unfiltered (an upper bound is enough).
        if (r < best) {
          if (needRunner && r > runner) runner = r
          continue
        }
        if (fv[i]! < v || fr[i]! < m) continue
        if (r > top && up[i] === 1) {
          top = r
          topHost = i
        }
        if ((r === best && i > host) || antiHost[i] === 1 ||
          (pciNeed > 0 && pciFree[i]! < pciNeed) || !passes(i)) continue
        if (r > best) { runner = best; best = r; host = i } else host = i
      }
      if (known !== undefined) {
        known.below[b] = best
        known.max[b] = top
        known.first[b] = topHost
        known.seen[b] = changes[b]!
      }
    }
  }
  visitsLeft = left
  search.best[c] = best
  search.bestHost[c] = host
  const even = even1 < best ? even1 : even2
  search.runnerUp[c] = Math.max(runner, skipped, even)
}

/** The lowest resource score over every candidate (all classes). */
function globalMin(): number {
  const { freeVcpus: fv, freeRamMb: fr, vcpuCapacityInv: vi, ramCapacityInv: ri } = input.index
  const { sign, vcpus: v, ramMb: m } = req
  const { lower, superLower } = search
  const { blockStart, order, stats, superStart, superStats } = index
  const supers = superStart.length - 1
  const top = search.topLower
  let low = Infinity
  let left = visitsLeft
  for (let j = -1; j < supers && left >= 0; j++) {
    const q = j === -1 ? top : j
    if (q === -1 || (j >= 0 && q === top)) continue
    const qBound = superLower[q]!
    if (Number.isNaN(qBound) || qBound >= low) continue
    const qExact = exactAt(superStats, q * blockStatCount)
    const b0 = superStart[q]!
    const b1 = qExact ? b0 + 1 : superStart[q + 1]!
    if (!qExact) expand(q)
    for (let b = b0; b < b1 && left >= 0; b++) {
      const bound = qExact ? qBound : lower[b]!
      if (Number.isNaN(bound) || bound >= low) continue
      // An exact superblock is looked at as one block spanning all its hosts.
      const hi = qExact ? blockStart[superStart[q + 1]!]! : blockStart[b + 1]!
      if (qExact || exactAt(stats, b * blockStatCount)) {
        left--
        for (let p = blockStart[b]!; p < hi; p++) {
          if (passes(order[p]!)) { low = bound; break }
        }
        continue
      }
      left -= hi - blockStart[b]!
      for (let p = blockStart[b]!; p < hi; p++) {
        const i = order[p]!
        const r = sign * (2 - (fv[i]! - v) * vi[i]! - (fr[i]! - m) * ri[i]!)
        if (r < low && fv[i]! >= v && fr[i]! >= m && passes(i)) low = r
      }
    }
  }
  visitsLeft = left
  return low
}
