/**
 * The placement scan's winner from the host index (`core/cluster/host-index.ts`) by branch and
 * bound, without visiting every host. Per special-hardware class it finds the best resource
 * score and its lowest host (blocks best bound first, then every block whose bound could still
 * beat or tie it), and, where the special-hardware term is normalised (2+ classes among the
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
  upper: Float64Array
  lower: Float64Array
  antiHost: Uint8Array
  antiRack: Uint8Array
  antiZone: Uint8Array
  /** Per class: best score, its host, an upper bound of the runner-up score. */
  readonly best: Float64Array
  readonly bestHost: Int32Array
  readonly runnerUp: Float64Array
  /** The same per class in the reference scan's layout (best, runner-up, host at 3c…). */
  readonly classes: Float64Array
  /** Per class, the block of the largest upper bound (-1 when none is feasible). */
  readonly topUpper: Int32Array
  /** The block of the smallest lower bound (all classes), -1 when none is feasible. */
  topLower: number
}

const search: Search = {
  upper: new Float64Array(0), lower: new Float64Array(0), antiHost: new Uint8Array(0),
  antiRack: new Uint8Array(0), antiZone: new Uint8Array(0), best: new Float64Array(3),
  bestHost: new Int32Array(3), runnerUp: new Float64Array(3), classes: new Float64Array(9),
  topUpper: new Int32Array(3), topLower: -1,
}

/** What one search reads, set once per call (module scratch: the search is synchronous). */
let input: ScanInput
let req: ScanRequest
let index: HostIndex

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
  if (s.antiHost.length < scanInput.index.up.length) {
    s.antiHost = new Uint8Array(scanInput.index.up.length)
  }
  if (s.antiRack.length < scanInput.rackCount) s.antiRack = new Uint8Array(scanInput.rackCount)
  if (s.antiZone.length < scanInput.zoneCount) s.antiZone = new Uint8Array(scanInput.zoneCount)
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

/** Per-block PCI maxima of the request's columns (scratch, set per search). */
const pciMax: Int32Array[] = []

/** Whether some host of block b may have each requested PCI column's count free. */
function pciMayFit(b: number, count: number): boolean {
  for (let k = 0; k < count; k++) if (pciMax[k]![b]! < req.pciCounts[k]!) return false
  return true
}

/** The reference's `bestOf` over the searched class maxima. */
function decide(): number {
  const s = search
  boundBlocks()
  let sMin = Infinity
  let sMax = -Infinity
  let rMax = -Infinity
  for (let c = 0; c < 3; c++) {
    classMax(c)
    if (visitsLeft < 0) return -1
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
 * Every block's upper and lower bound of the resource score for the request, NaN where no host
 * of the block can pass the filters the summaries decide (status, zone, vCPUs, RAM, disk, PCI,
 * host affinity). Exact (no margin) where the block's hosts are alike or the score is 0.
 */
function boundBlocks(): void {
  const { upper, lower } = search
  const x = index.stats
  const { zoneMask } = index
  const { vcpus: v, ramMb: m, sign, zone, affinityZone, affinityHost, diskColumn, diskMb } = req
  let threshold = 0
  while (threshold + 1 < usedThresholds.length && usedThresholds[threshold + 1]! <= v) {
    threshold++
  }
  // Slots read per block, as offsets from its first slot.
  const diskSlot = diskColumn < 0 ? -1
    : diskColumn === anyDiskKind ? st.maxFreeDiskAny : st.maxFreeDisk + diskColumn
  const usedSlot = st.usedByThreshold + 2 * threshold
  let ram = 0
  while (ram + 1 < ramThresholdsMb.length && ramThresholdsMb[ram + 1]! <= m) ram++
  const ramSlot = st.usedByRam + 2 * ram
  const hostBlock = affinityHost >= 0 ? index.blockOf[affinityHost]! : -1
  // Per requested PCI column, the most devices free on one host of each block.
  const pciCount = req.pci.length
  for (let k = 0; k < pciCount; k++) pciMax[k] = pciColumnMax(index, req.pci[k]!)
  const zoneBit = zone === -1 ? 0 : 1 << zone
  const affinityBit = affinityZone === -1 ? 0 : 1 << affinityZone
  const { blockStart, order, classBlocks } = index
  const { freeVcpus: fv, freeRamMb: fr, vcpuCapacityInv: vi, ramCapacityInv: ri } = input.index
  let topLower = -1
  let topLowerExact = false
  for (let c = 0; c < 3; c++) {
    let top = -1
    for (let b = classBlocks[c]!; b < classBlocks[c + 1]!; b++) {
      const at = b * blockStatCount
      const mask = zoneMask[b]!
      if (x[at + st.upCount] === 0 || x[at + st.maxFreeVcpus]! < v ||
        x[at + st.maxFreeRamMb]! < m || (mask !== -1 && (mask & zoneBit) !== zoneBit) ||
        (mask !== -1 && (mask & affinityBit) !== affinityBit) ||
        (diskSlot >= 0 && x[at + diskSlot]! < diskMb) || (pciCount > 0 && !pciMayFit(b, pciCount)) ||
        (hostBlock >= 0 && hostBlock !== b)) {
        upper[b] = NaN
        lower[b] = NaN
        continue
      }
      if (x[at + st.uniform] === 1) {
        // The block's one score, by the reference scan's formula and order over its hosts'
        // common columns (held in the summaries: no read of the hosts' own columns).
        const r = sign * (2 - (x[at + st.maxFreeVcpus]! - v) * x[at + st.minVcpuInv]! -
          (x[at + st.maxFreeRamMb]! - m) * x[at + st.minRamInv]!)
        upper[b] = r
        lower[b] = r
      } else if (sign === 0) {
        const i = order[blockStart[b]!]!
        const r = sign * (2 - (fv[i]! - v) * vi[i]! - (fr[i]! - m) * ri[i]!)
        upper[b] = r
        lower[b] = r
      } else {
        // Only hosts with at least v free vCPUs and m MB free RAM can take the request: the
        // utilisation extremes over those with at least the largest thresholds ≤ v and ≤ m
        // bound it (the tighter of the two; some exist: maxFreeVcpus ≥ v, maxFreeRamMb ≥ m).
        const hiUsed = Math.min(x[at + usedSlot + 1]!, x[at + ramSlot + 1]!)
        const loUsed = Math.max(x[at + usedSlot]!, x[at + ramSlot]!)
        const high = hiUsed + v * x[at + st.maxVcpuInv]! + m * x[at + st.maxRamInv]!
        const low = loUsed + v * x[at + st.minVcpuInv]! + m * x[at + st.minRamInv]!
        const margin = boundMargin * (2 + x[at + st.maxMagnitude]! + Math.abs(high))
        if (sign > 0) {
          upper[b] = high + margin
          lower[b] = low - margin
        } else {
          upper[b] = -low + margin
          lower[b] = -high - margin
        }
        // Where the block's hosts share one vCPU and one RAM capacity, the reference's formula
        // over the block's largest free vCPUs and RAM bounds every host's score without margin
        // (each of its rounded operations is monotonic): from below under pack, from above under
        // spread. Under pack this is exactly the score of the block's empty hosts, so a block
        // that holds some stops looking lower than the blocks that are all empty.
        const vInv = x[at + st.minVcpuInv]!
        const rInv = x[at + st.minRamInv]!
        if (vInv === x[at + st.maxVcpuInv] && rInv === x[at + st.maxRamInv]) {
          const edge = sign * (2 - (x[at + st.maxFreeVcpus]! - v) * vInv -
            (x[at + st.maxFreeRamMb]! - m) * rInv)
          if (sign > 0) {
            if (edge > lower[b]!) lower[b] = edge
          } else if (edge < upper[b]!) upper[b] = edge
        }
      }
      if (top === -1 || upper[b]! > upper[top]!) top = b
      // On equal lower bounds an exact block first: its one score needs no visit of its hosts.
      if (topLower === -1 || lower[b]! < lower[topLower]! ||
        (lower[b] === lower[topLower] && !topLowerExact && x[at + st.uniform] === 1)) {
        topLower = b
        topLowerExact = sign === 0 || x[at + st.uniform] === 1
      }
    }
    search.topUpper[c] = top
  }
  search.topLower = topLower
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
 */
function classMax(c: number): void {
  const { freeVcpus: fv, freeRamMb: fr, vcpuCapacityInv: vi, ramCapacityInv: ri } = input.index
  const { sign, vcpus: v, ramMb: m } = req
  const needRunner = req.specialWeight !== 0
  const upper = search.upper
  const order = index.order
  const blockStart = index.blockStart
  const b0 = index.classBlocks[c]!
  const b1 = index.classBlocks[c + 1]!
  const top = search.topUpper[c]!
  const stats = index.stats
  const uniformSlot = st.uniform
  let best = -Infinity
  let host = -1
  let runner = -Infinity
  // Bounds of blocks left out: of uneven blocks (any score up to it), and of even blocks (their
  // exact score; the largest two, as the largest may turn out to be the best itself).
  let skipped = -Infinity
  let even1 = -Infinity
  let even2 = -Infinity
  // The budget in a local: a module variable updated in the loop is boxed on every write.
  let left = visitsLeft
  for (let k = -1; k < b1 - b0 && left >= 0; k++) {
    const b = k === -1 ? top : b0 + k
    if (b === -1 || (k >= 0 && b === top) || Number.isNaN(upper[b]!)) continue
    const bound = upper[b]!
    const exact = sign === 0 || stats[b * blockStatCount + uniformSlot] === 1
    const firstHost = order[blockStart[b]!]!
    if (k >= 0 && (bound < best || (bound === best && firstHost > host))) {
      if (!exact) { if (bound > skipped) skipped = bound } else if (bound > even1) {
        if (even1 !== -Infinity) even2 = even1
        even1 = bound
      } else if (bound < even1 && bound > even2) even2 = bound
      continue
    }
    const hi = blockStart[b + 1]!
    left -= exact ? 1 : hi - blockStart[b]!
    if (exact) {
      // Every host of the block scores `bound`: only its first candidate can matter.
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
    for (let p = blockStart[b]!; p < hi; p++) {
      const i = order[p]!
      const r = sign * (2 - (fv[i]! - v) * vi[i]! - (fr[i]! - m) * ri[i]!)
      // The score first (cheap), the filters only for a host that could become the best. A
      // score below the best raises the runner-up bound unfiltered (an upper bound is enough).
      if (r < best) {
        if (needRunner && r > runner) runner = r
        continue
      }
      if ((r === best && i > host) || fv[i]! < v || fr[i]! < m || !passes(i)) continue
      if (r > best) { runner = best; best = r; host = i } else host = i
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
  const { lower } = search
  const { blockStart, order, stats } = index
  const uniformSlot = st.uniform
  const blocks = blockStart.length - 1
  const top = search.topLower
  let low = Infinity
  let left = visitsLeft
  for (let k = -1; k < blocks && left >= 0; k++) {
    const b = k === -1 ? top : k
    if (b === -1 || (k >= 0 && b === top)) continue
    const bound = lower[b]!
    if (Number.isNaN(bound) || bound >= low) continue
    const hi = blockStart[b + 1]!
    if (sign === 0 || stats[b * blockStatCount + uniformSlot] === 1) {
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
  visitsLeft = left
  return low
}
