/**
 * The placement scan in TypeScript: the reference the WebAssembly kernel is held equal to, and
 * the fallback. One pass filters every host, counts rejections and keeps, per class of special
 * hardware (0 to 2 kinds), the best resource score, its first host and the runner-up score. The
 * general path normalises the special-hardware term over the candidates; the winner follows from
 * the class maxima unless that normalisation could round a runner-up level with its class's best,
 * and only then is every candidate scored in a second pass.
 */
import {
  anyDiskKind, checkScanRequest, type ScanInput, type ScanKernel, type ScanRequest, type ScanResult,
  scanSlots,
} from "./scan-types.ts"

/** Scratch buffers a reference scan reuses (grown to the inventory, never per call). */
interface Scratch {
  antiHost: Uint8Array
  antiRack: Uint8Array
  antiZone: Uint8Array
  /** Per special-hardware class c (0 to 2) at 3c: best score, runner-up level, first host. */
  readonly classes: Float64Array
}

function grown(s: Scratch, hosts: number, racks: number, zones: number): Scratch {
  if (s.antiHost.length < hosts) s.antiHost = new Uint8Array(hosts)
  if (s.antiRack.length < racks) s.antiRack = new Uint8Array(racks)
  if (s.antiZone.length < zones) s.antiZone = new Uint8Array(zones)
  return s
}

/** A new TypeScript scan backend with its own scratch buffers. */
export function referenceScan(): ScanKernel {
  const scratch: Scratch = { antiHost: new Uint8Array(0), antiRack: new Uint8Array(0),
    antiZone: new Uint8Array(0), classes: new Float64Array(9) }
  return {
    backend: "ts",
    scan: (input, request, out) => {
      checkScanRequest(input, request)
      const s = grown(scratch, input.index.up.length, input.rackCount, input.zoneCount)
      for (const h of request.antiHosts) s.antiHost[h] = 1
      for (const r of request.antiRacks) s.antiRack[r] = 1
      for (const z of request.antiZones) s.antiZone[z] = 1
      try {
        scanInto(input, request, s, out)
      } finally {
        for (const h of request.antiHosts) s.antiHost[h] = 0
        for (const r of request.antiRacks) s.antiRack[r] = 0
        for (const z of request.antiZones) s.antiZone[z] = 0
      }
    },
  }
}

function scanInto(input: ScanInput, req: ScanRequest, s: Scratch, out: ScanResult): void {
  const { up, freeVcpus, freeRamMb, vcpuCapacityInv, ramCapacityInv, maxFreeDiskMb, special } =
    input.index
  const { rackOf, zoneOf } = input
  const n = up.length
  const removed = out.removed
  removed.fill(0)
  const { vcpus, ramMb, zone, diskMb, diskColumn, sign } = req
  const diskAt = diskColumn >= 0 && diskColumn < anyDiskKind ? diskColumn * n : -1
  const pciCount = req.pci.length
  const pci0 = pciCount > 0 ? req.pci[0]!.free : undefined
  const need0 = pciCount > 0 ? req.pciCounts[0]! : 0
  const { affinityHost, affinityRack, affinityZone } = req
  const affinity = affinityHost !== -1 || affinityRack !== -1 || affinityZone !== -1
  const anti = req.antiHosts.length + req.antiRacks.length + req.antiZones.length > 0
  const antiDomains = req.antiRacks.length + req.antiZones.length > 0
  const { antiHost, antiRack, antiZone, classes } = s
  let count = 0
  let rMin = Infinity
  let rMax = -Infinity
  // Counters and class maxima in locals (in an array, each iteration would chain through memory).
  let nStatus = 0, nZone = 0, nVcpu = 0, nRam = 0, nDisk = 0, nPci = 0, nAffinity = 0, nAnti = 0
  let m0 = -Infinity, s0 = -Infinity, h0 = -1
  let m1 = -Infinity, s1 = -Infinity, h1 = -1
  let m2 = -Infinity, s2 = -Infinity, h2 = -1
  hosts: for (let i = 0; i < n; i++) {
    if (up[i] === 0) { nStatus++; continue }
    if (zone !== -1 && zoneOf[i] !== zone) { nZone++; continue }
    const fv = freeVcpus[i]!
    if (fv < vcpus) { nVcpu++; continue }
    const fr = freeRamMb[i]!
    if (fr < ramMb) { nRam++; continue }
    if (diskColumn >= 0) {
      const free = diskAt >= 0 ? maxFreeDiskMb[diskAt + i]!
        : Math.max(maxFreeDiskMb[i]!, maxFreeDiskMb[n + i]!, maxFreeDiskMb[2 * n + i]!)
      if (free < diskMb) { nDisk++; continue }
    }
    if (pci0 !== undefined) {
      if (pci0[i]! < need0) { nPci++; continue }
      for (let k = 1; k < pciCount; k++) {
        if (req.pci[k]!.free[i]! < req.pciCounts[k]!) { nPci++; continue hosts }
      }
    }
    if (affinity && ((affinityHost !== -1 && affinityHost !== i) ||
      (affinityRack !== -1 && affinityRack !== rackOf[i]) ||
      (affinityZone !== -1 && affinityZone !== zoneOf[i]))) {
      nAffinity++
      continue
    }
    if (anti && (antiHost[i] !== 0 ||
      (antiDomains && (antiRack[rackOf[i]!]! | antiZone[zoneOf[i]!]!) !== 0))) {
      nAnti++
      continue
    }
    const r = sign * (2 - (fv - vcpus) * vcpuCapacityInv[i]! - (fr - ramMb) * ramCapacityInv[i]!)
    count++
    if (r < rMin) rMin = r
    if (r > rMax) rMax = r
    const c = special[i]!
    if (c === 0) {
      if (r > m0) { s0 = m0; m0 = r; h0 = i } else if (r < m0 && r > s0) s0 = r
    } else if (c === 1) {
      if (r > m1) { s1 = m1; m1 = r; h1 = i } else if (r < m1 && r > s1) s1 = r
    } else if (r > m2) { s2 = m2; m2 = r; h2 = i } else if (r < m2 && r > s2) s2 = r
  }
  removed[scanSlots.hostStatus] = nStatus
  removed[scanSlots.zone] = nZone
  removed[scanSlots.vcpu] = nVcpu
  removed[scanSlots.ram] = nRam
  removed[scanSlots.disk] = nDisk
  removed[scanSlots.pci] = nPci
  removed[scanSlots.affinity] = nAffinity
  removed[scanSlots.antiAffinity] = nAnti
  classes[0] = m0; classes[1] = s0; classes[2] = h0
  classes[3] = m1; classes[4] = s1; classes[5] = h1
  classes[6] = m2; classes[7] = s2; classes[8] = h2
  out.count = count
  out.best = count === 0 ? -1 : bestOf(req, rMin, rMax, classes)
  if (out.best === -2) out.best = exactBest(input, req, s, rMin, rMax)
}

/**
 * The winner from the per-class maxima (class = kinds of special hardware, 0 to 2), or -2 when
 * the special-hardware normalisation may round a class's runner-up level with its best (then
 * every candidate is scored, as the general path does).
 */
function bestOf(req: ScanRequest, rMin: number, rMax: number, classes: Float64Array): number {
  let sMin = Infinity
  let sMax = -Infinity
  for (let c = 0; c < 3; c++) {
    if (classes[c * 3 + 2] === -1) continue
    if (-c < sMin) sMin = -c
    if (-c > sMax) sMax = -c
  }
  return classWinner(req, classes, rMin, rMax, sMin, sMax)
}

/**
 * The winner among the special-hardware classes present (`sMin`..`sMax`: minus their kinds),
 * from each class's best resource score, runner-up score and first host (at 3c, 3c + 1, 3c + 2
 * of `classes`; host -1: no candidate) and the candidates' resource range `rMin`..`rMax`: both
 * terms normalised and weighted as the general path does, ties to the lower host. -2 when the
 * normalisation may round a class's runner-up level with its best (then only scoring every
 * candidate decides). Shared by the reference scan and the host index's search.
 */
export function classWinner(req: ScanRequest, classes: Float64Array, rMin: number, rMax: number,
  sMin: number, sMax: number): number {
  const special = req.specialWeight !== 0 && sMax !== sMin
  const rScale = rMax === rMin ? 0 : req.policyWeight / (rMax - rMin)
  const sScale = special ? req.specialWeight / (sMax - sMin) : 0
  let best = -1
  let bestScore = -Infinity
  for (let c = 0; c < 3; c++) {
    const host = classes[c * 3 + 2]!
    if (host === -1) continue
    let v = classes[c * 3]!
    if (special) {
      const second = classes[c * 3 + 1]!
      v = (v - rMin) * rScale + (-c - sMin) * sScale
      if (second !== -Infinity && (second - rMin) * rScale + (-c - sMin) * sScale === v) return -2
    }
    if (best === -1 || v > bestScore || (v === bestScore && host < best)) {
      bestScore = v
      best = host
    }
  }
  return best
}

/** Every candidate scored with the special-hardware term (the general path's sums). */
function exactBest(
  input: ScanInput,
  req: ScanRequest,
  s: Scratch,
  rMin: number,
  rMax: number,
): number {
  const { special, freeVcpus, freeRamMb, vcpuCapacityInv, ramCapacityInv } = input.index
  const { vcpus, ramMb, sign } = req
  let sMin = Infinity
  let sMax = -Infinity
  for (let c = 0; c < 3; c++) {
    if (s.classes[c * 3 + 2] === -1) continue
    if (-c < sMin) sMin = -c
    if (-c > sMax) sMax = -c
  }
  const rScale = rMax === rMin ? 0 : req.policyWeight / (rMax - rMin)
  const sScale = req.specialWeight / (sMax - sMin)
  let best = -1
  let bestScore = -Infinity
  for (let i = 0; i < special.length; i++) {
    if (!passes(input, req, s, i)) continue
    const fv = freeVcpus[i]!
    const fr = freeRamMb[i]!
    const r = sign * (2 - (fv - vcpus) * vcpuCapacityInv[i]! - (fr - ramMb) * ramCapacityInv[i]!)
    const v = (r - rMin) * rScale + (-special[i]! - sMin) * sScale
    if (best === -1 || v > bestScore) { bestScore = v; best = i }
  }
  return best
}

/** Whether host `i` passes every filter (the first pass's checks, without counting). */
function passes(input: ScanInput, req: ScanRequest, s: Scratch, i: number): boolean {
  return hostPasses(input, req, s.antiHost, s.antiRack, s.antiZone, i)
}

/**
 * Whether host `i` passes every filter of the scan for `req`, given the forbidden hosts, racks
 * and zones marked 1 (the request's anti-affinity lists): the one definition the reference scan
 * and the host index's search (`core/placement/host-search.ts`) both check hosts with.
 */
export function hostPasses(input: ScanInput, req: ScanRequest, antiHost: Uint8Array,
  antiRack: Uint8Array, antiZone: Uint8Array, i: number): boolean {
  const x = input.index
  const n = x.up.length
  if (x.up[i] === 0 || (req.zone !== -1 && input.zoneOf[i] !== req.zone)) return false
  if (x.freeVcpus[i]! < req.vcpus || x.freeRamMb[i]! < req.ramMb) return false
  if (req.diskColumn >= 0) {
    const d = x.maxFreeDiskMb
    const free = req.diskColumn < anyDiskKind ? d[req.diskColumn * n + i]!
      : Math.max(d[i]!, d[n + i]!, d[2 * n + i]!)
    if (free < req.diskMb) return false
  }
  for (let k = 0; k < req.pci.length; k++) {
    if (req.pci[k]!.free[i]! < req.pciCounts[k]!) return false
  }
  const rack = input.rackOf[i]!
  const zone = input.zoneOf[i]!
  if ((req.affinityHost !== -1 && req.affinityHost !== i) ||
    (req.affinityRack !== -1 && req.affinityRack !== rack) ||
    (req.affinityZone !== -1 && req.affinityZone !== zone)) return false
  return (antiHost[i]! | antiRack[rack]! | antiZone[zone]!) === 0
}
