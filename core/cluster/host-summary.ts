/**
 * A block of the host index (`host-index.ts`) summarised from scratch: one pass over its hosts'
 * scan columns computes every summary slot (`blockStat`). The per-threshold pairs keep one
 * min/max per count of thresholds a host reaches and are derived from those after the pass.
 */
import type { HostIndex } from "./host-index.ts"
import { blockStat, blockStatCount, ramThresholdsMb, usedThresholds } from "./host-slots.ts"
import type { ScanIndex } from "./scan.ts"

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

/** How many of `thresholds` (ascending) `free[i]` reaches (read here: no number is boxed). */
function reached(thresholds: Float64Array, free: Float64Array, i: number): number {
  const f = free[i]!
  let j = 0
  while (j < thresholds.length && f >= thresholds[j]!) j++
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

/**
 * Summarises block b of `index` from scratch over its hosts' scan columns: every slot of
 * `blockStat` (the extremes, hosts up, hosts alike the first host, uniform).
 */
export function summarise(index: HostIndex, scan: ScanIndex, b: number): void {
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
    const jv = 2 * reached(vcpuThresholds, freeVcpus, i)
    if (used < vcpuBuckets[jv]!) vcpuBuckets[jv] = used
    if (used > vcpuBuckets[jv + 1]!) vcpuBuckets[jv + 1] = used
    const jr = 2 * reached(ramThresholds, freeRamMb, i)
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
