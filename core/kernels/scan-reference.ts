/**
 * The placement scan in TypeScript: the reference the WebAssembly kernel is held equal to, and
 * the fallback. One pass filters every host, counts rejections and collects the candidates'
 * resource scores; a second pass over the candidates is needed only when the special-hardware
 * term applies (it is normalised over the candidates, as the general path does).
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
  candidates: Int32Array
  scores: Float64Array
}

function grown(s: Scratch, hosts: number, racks: number, zones: number): Scratch {
  if (s.antiHost.length < hosts) {
    s.antiHost = new Uint8Array(hosts)
    s.candidates = new Int32Array(hosts)
    s.scores = new Float64Array(hosts)
  }
  if (s.antiRack.length < racks) s.antiRack = new Uint8Array(racks)
  if (s.antiZone.length < zones) s.antiZone = new Uint8Array(zones)
  return s
}

/** A new TypeScript scan backend with its own scratch buffers. */
export function referenceScan(): ScanKernel {
  const scratch: Scratch = { antiHost: new Uint8Array(0), antiRack: new Uint8Array(0),
    antiZone: new Uint8Array(0), candidates: new Int32Array(0), scores: new Float64Array(0) }
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
  const { antiHost, antiRack, antiZone, candidates, scores } = s
  let count = 0
  let best = -1
  let bestScore = -Infinity
  let sMin = Infinity
  let sMax = -Infinity
  hosts: for (let i = 0; i < n; i++) {
    if (up[i] === 0) { removed[scanSlots.hostStatus]!++; continue }
    if (zone !== -1 && zoneOf[i] !== zone) { removed[scanSlots.zone]!++; continue }
    const fv = freeVcpus[i]!
    if (fv < vcpus) { removed[scanSlots.vcpu]!++; continue }
    const fr = freeRamMb[i]!
    if (fr < ramMb) { removed[scanSlots.ram]!++; continue }
    if (diskColumn >= 0) {
      const free = diskAt >= 0 ? maxFreeDiskMb[diskAt + i]!
        : Math.max(maxFreeDiskMb[i]!, maxFreeDiskMb[n + i]!, maxFreeDiskMb[2 * n + i]!)
      if (free < diskMb) { removed[scanSlots.disk]!++; continue }
    }
    if (pci0 !== undefined) {
      if (pci0[i]! < need0) { removed[scanSlots.pci]!++; continue }
      for (let k = 1; k < pciCount; k++) {
        if (req.pci[k]!.free[i]! < req.pciCounts[k]!) { removed[scanSlots.pci]!++; continue hosts }
      }
    }
    if (affinity && ((affinityHost !== -1 && affinityHost !== i) ||
      (affinityRack !== -1 && affinityRack !== rackOf[i]) ||
      (affinityZone !== -1 && affinityZone !== zoneOf[i]))) {
      removed[scanSlots.affinity]!++
      continue
    }
    if ((antiHost[i]! | antiRack[rackOf[i]!]! | antiZone[zoneOf[i]!]!) !== 0) {
      removed[scanSlots.antiAffinity]!++
      continue
    }
    const score =
      sign * (2 - (fv - vcpus) * vcpuCapacityInv[i]! - (fr - ramMb) * ramCapacityInv[i]!)
    if (best === -1 || score > bestScore) { bestScore = score; best = i }
    candidates[count] = i
    scores[count] = score
    count++
    const sp = -special[i]!
    if (sp < sMin) sMin = sp
    if (sp > sMax) sMax = sp
  }
  out.count = count
  out.best = count > 0 && req.specialWeight !== 0 && sMax !== sMin
    ? specialBest(req, special, candidates, scores, count, sMin, sMax) : best
}

/** The best candidate with the special-hardware term normalised in (the general path's sums). */
function specialBest(
  req: ScanRequest,
  special: Int32Array,
  candidates: Int32Array,
  scores: Float64Array,
  count: number,
  sMin: number,
  sMax: number,
): number {
  let rMin = Infinity
  let rMax = -Infinity
  for (let k = 0; k < count; k++) {
    const r = scores[k]!
    if (r < rMin) rMin = r
    if (r > rMax) rMax = r
  }
  const rScale = rMax === rMin ? 0 : req.policyWeight / (rMax - rMin)
  const sScale = req.specialWeight / (sMax - sMin)
  let best = -1
  let bestScore = -Infinity
  for (let k = 0; k < count; k++) {
    const i = candidates[k]!
    const v = (scores[k]! - rMin) * rScale + (-special[i]! - sMin) * sScale
    if (best === -1 || v > bestScore) { bestScore = v; best = i }
  }
  return best
}
