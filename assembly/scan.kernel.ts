// Placement scan kernel: every host's free resources as structure-of-arrays columns in linear
// memory -> in one pass, each filter's rejection count and the best host under pack or spread,
// with the special-hardware term normalised over the candidates as the general path does (from
// per-class maxima; a second pass only when rounding could tie a class's runner-up with its best). The TypeScript wrapper
// (core/kernels/scan-wasm.ts) owns the memory: it places the columns (setLayout), keeps them
// current per changed host, writes the forbidden-domain flags, and checks every length and index
// before calling. Nothing here allocates. Arithmetic follows core/kernels/scan-reference.ts term
// by term, so both backends choose the same host.

// Rejection slots (core/kernels/scan-types.ts scanSlots).
const HOST_STATUS: usize = 0
const ZONE: usize = 1
const VCPU: usize = 2
const RAM: usize = 3
const DISK: usize = 4
const PCI: usize = 6
const AFFINITY: usize = 8
const ANTI_AFFINITY: usize = 9
const SLOTS: usize = 10
const ANY_DISK_KIND: i32 = 3

let upP: usize = 0 // u8 per host: 1 when up
let zoneP: usize = 0 // i32 per host
let rackP: usize = 0 // i32 per host
let freeVcpusP: usize = 0 // f64 per host
let freeRamP: usize = 0 // f64 per host
let vcpuInvP: usize = 0 // f64 per host
let ramInvP: usize = 0 // f64 per host
let diskP: usize = 0 // f64, three columns of `capacity`
let specialP: usize = 0 // i32 per host
let antiHostP: usize = 0 // u8 per host
let antiRackP: usize = 0 // u8 per rack
let antiZoneP: usize = 0 // u8 per zone
let removedP: usize = 0 // i32 per slot, then the candidate count
let capacity: usize = 0

/** The first byte the wrapper may use (everything below holds this module's static data). */
export function heapBase(): usize {
  return __heap_base
}

/** Where the wrapper placed each column (for `hostCapacity` hosts). */
export function setLayout(
  hostCapacity: usize, up: usize, zone: usize, rack: usize, freeVcpus: usize, freeRam: usize,
  vcpuInv: usize, ramInv: usize, disk: usize, special: usize, antiHost: usize, antiRack: usize,
  antiZone: usize, removed: usize,
): void {
  capacity = hostCapacity
  upP = up; zoneP = zone; rackP = rack; freeVcpusP = freeVcpus; freeRamP = freeRam
  vcpuInvP = vcpuInv; ramInvP = ramInv; diskP = disk; specialP = special
  antiHostP = antiHost; antiRackP = antiRack; antiZoneP = antiZone
  removedP = removed
}

// @ts-ignore: decorator
@inline function bump(slot: usize): void {
  const at = removedP + (slot << 2)
  store<i32>(at, load<i32>(at) + 1)
}

// @ts-ignore: decorator
@inline function f64At(base: usize, i: usize): f64 {
  return load<f64>(base + (i << 3))
}

// @ts-ignore: decorator
@inline function i32At(base: usize, i: usize): i32 {
  return load<i32>(base + (i << 2))
}

// Per special-hardware class c (0 to 2) at classesP + 24c: best score, runner-up level, first
// host (as f64; -1 when the class has no candidate).
const classesP: usize = memory.data(72)

// @ts-ignore: decorator
@inline function cls(c: i32, field: i32): f64 {
  return load<f64>(classesP + ((<usize>(c * 3 + field)) << 3))
}

// @ts-ignore: decorator
@inline function setCls(c: i32, field: i32, v: f64): void {
  store<f64>(classesP + ((<usize>(c * 3 + field)) << 3), v)
}

// Request fields the exact pass needs again.
let rVcpus: f64 = 0
let rRam: f64 = 0
let rZone: i32 = -1
let rDiskMb: f64 = 0
let rDiskColumn: i32 = -1
let rPciCount: i32 = 0
let rP0: usize = 0
let rC0: i32 = 0
let rP1: usize = 0
let rC1: i32 = 0
let rP2: usize = 0
let rC2: i32 = 0
let rP3: usize = 0
let rC3: i32 = 0
let rAffHost: i32 = -1
let rAffRack: i32 = -1
let rAffZone: i32 = -1
let rSign: f64 = 0

/**
 * Scans hosts [0, n). `pciCount` PCI columns (i32 per host) at p0..p3 need c0..c3 free devices.
 * Domain arguments: -1 any, -2 none matches. Returns the best host, or -1; the candidate count
 * is written after the rejection counts. The special column holds 0 to 2 per host.
 */
export function scan(
  n: usize, vcpus: f64, ramMb: f64, zone: i32, diskMb: f64, diskColumn: i32,
  pciCount: i32, p0: usize, c0: i32, p1: usize, c1: i32, p2: usize, c2: i32, p3: usize, c3: i32,
  affinityHost: i32, affinityRack: i32, affinityZone: i32, anti: bool,
  sign: f64, policyWeight: f64, specialWeight: f64,
): i32 {
  memory.fill(removedP, 0, (SLOTS + 1) << 2)
  for (let c = 0; c < 3; c++) setCls(c, 2, -1)
  rVcpus = vcpus; rRam = ramMb; rZone = zone; rDiskMb = diskMb; rDiskColumn = diskColumn
  rPciCount = pciCount; rP0 = p0; rC0 = c0; rP1 = p1; rC1 = c1; rP2 = p2; rC2 = c2
  rP3 = p3; rC3 = c3; rAffHost = affinityHost; rAffRack = affinityRack; rAffZone = affinityZone
  rSign = sign
  const affinity = affinityHost != -1 || affinityRack != -1 || affinityZone != -1
  const diskAt: usize = diskColumn >= 0 && diskColumn < ANY_DISK_KIND
    ? diskP + ((<usize>diskColumn * capacity) << 3) : 0
  const disk1 = diskP + (capacity << 3)
  const disk2 = diskP + (capacity << 4)
  let count: i32 = 0
  let rMin: f64 = Infinity
  let rMax: f64 = -Infinity
  for (let i: usize = 0; i < n; i++) {
    if (load<u8>(upP + i) == 0) { bump(HOST_STATUS); continue }
    const z = i32At(zoneP, i)
    if (zone != -1 && z != zone) { bump(ZONE); continue }
    const fv = f64At(freeVcpusP, i)
    if (fv < vcpus) { bump(VCPU); continue }
    const fr = f64At(freeRamP, i)
    if (fr < ramMb) { bump(RAM); continue }
    if (diskColumn >= 0) {
      let free: f64
      if (diskAt != 0) free = f64At(diskAt, i)
      else free = max(max(f64At(diskP, i), f64At(disk1, i)), f64At(disk2, i))
      if (free < diskMb) { bump(DISK); continue }
    }
    if (pciCount > 0) {
      if (i32At(p0, i) < c0 || (pciCount > 1 && i32At(p1, i) < c1) ||
        (pciCount > 2 && i32At(p2, i) < c2) || (pciCount > 3 && i32At(p3, i) < c3)) {
        bump(PCI)
        continue
      }
    }
    if (affinity || anti) {
      const r = i32At(rackP, i)
      if (affinity && ((affinityHost != -1 && affinityHost != <i32>i) ||
        (affinityRack != -1 && affinityRack != r) || (affinityZone != -1 && affinityZone != z))) {
        bump(AFFINITY)
        continue
      }
      if (anti && (load<u8>(antiHostP + i) | load<u8>(antiRackP + <usize>r) |
        load<u8>(antiZoneP + <usize>z)) != 0) {
        bump(ANTI_AFFINITY)
        continue
      }
    }
    const score = sign * (2 - (fv - vcpus) * f64At(vcpuInvP, i) - (fr - ramMb) * f64At(ramInvP, i))
    count++
    if (score < rMin) rMin = score
    if (score > rMax) rMax = score
    const c = i32At(specialP, i)
    const top = cls(c, 0)
    if (cls(c, 2) == -1) {
      setCls(c, 0, score); setCls(c, 1, -Infinity); setCls(c, 2, <f64>i)
    } else if (score > top) {
      setCls(c, 1, top); setCls(c, 0, score); setCls(c, 2, <f64>i)
    } else if (score < top && score > cls(c, 1)) setCls(c, 1, score)
  }
  store<i32>(removedP + (SLOTS << 2), count)
  if (count == 0) return -1
  const best = bestOf(rMin, rMax, policyWeight, specialWeight)
  return best != -2 ? best : exactBest(n, rMin, rMax, policyWeight, specialWeight)
}

// The winner from the class maxima, or -2 when the special-hardware normalisation may round a
// class's runner-up level with its best (core/kernels/scan-reference.ts bestOf).
function bestOf(rMin: f64, rMax: f64, policyWeight: f64, specialWeight: f64): i32 {
  let sMin: f64 = Infinity
  let sMax: f64 = -Infinity
  for (let c = 0; c < 3; c++) {
    if (cls(c, 2) == -1) continue
    sMin = min(sMin, <f64>(-c))
    sMax = max(sMax, <f64>(-c))
  }
  const special = specialWeight != 0 && sMax != sMin
  const rScale: f64 = rMax == rMin ? 0 : policyWeight / (rMax - rMin)
  const sScale: f64 = special ? specialWeight / (sMax - sMin) : 0
  let best: i32 = -1
  let bestScore: f64 = -Infinity
  for (let c = 0; c < 3; c++) {
    const host = cls(c, 2)
    if (host == -1) continue
    let v = cls(c, 0)
    if (special) {
      const second = cls(c, 1)
      const s = <f64>(-c)
      v = (v - rMin) * rScale + (s - sMin) * sScale
      if (second != -Infinity && (second - rMin) * rScale + (s - sMin) * sScale == v) return -2
    }
    const h = <i32>host
    if (best == -1 || v > bestScore || (v == bestScore && h < best)) {
      bestScore = v
      best = h
    }
  }
  return best
}

// Whether host i passes every filter (the first pass's checks, without counting).
function passes(i: usize): bool {
  if (load<u8>(upP + i) == 0) return false
  const z = i32At(zoneP, i)
  if (rZone != -1 && z != rZone) return false
  if (f64At(freeVcpusP, i) < rVcpus || f64At(freeRamP, i) < rRam) return false
  if (rDiskColumn >= 0) {
    let free: f64
    if (rDiskColumn < ANY_DISK_KIND) free = f64At(diskP + ((<usize>rDiskColumn * capacity) << 3), i)
    else {
      free = max(max(f64At(diskP, i), f64At(diskP + (capacity << 3), i)),
        f64At(diskP + (capacity << 4), i))
    }
    if (free < rDiskMb) return false
  }
  if (rPciCount > 0 && i32At(rP0, i) < rC0) return false
  if (rPciCount > 1 && i32At(rP1, i) < rC1) return false
  if (rPciCount > 2 && i32At(rP2, i) < rC2) return false
  if (rPciCount > 3 && i32At(rP3, i) < rC3) return false
  const r = i32At(rackP, i)
  if ((rAffHost != -1 && rAffHost != <i32>i) || (rAffRack != -1 && rAffRack != r) ||
    (rAffZone != -1 && rAffZone != z)) return false
  return (load<u8>(antiHostP + i) | load<u8>(antiRackP + <usize>r) |
    load<u8>(antiZoneP + <usize>z)) == 0
}

// Every candidate scored with the special-hardware term (the general path's sums).
function exactBest(n: usize, rMin: f64, rMax: f64, policyWeight: f64, specialWeight: f64): i32 {
  let sMin: f64 = Infinity
  let sMax: f64 = -Infinity
  for (let c = 0; c < 3; c++) {
    if (cls(c, 2) == -1) continue
    sMin = min(sMin, <f64>(-c))
    sMax = max(sMax, <f64>(-c))
  }
  const rScale: f64 = rMax == rMin ? 0 : policyWeight / (rMax - rMin)
  const sScale: f64 = specialWeight / (sMax - sMin)
  let best: i32 = -1
  let bestScore: f64 = -Infinity
  for (let i: usize = 0; i < n; i++) {
    if (!passes(i)) continue
    const fv = f64At(freeVcpusP, i)
    const fr = f64At(freeRamP, i)
    const r = rSign * (2 - (fv - rVcpus) * f64At(vcpuInvP, i) - (fr - rRam) * f64At(ramInvP, i))
    const s = <f64>(-i32At(specialP, i))
    const v = (r - rMin) * rScale + (s - sMin) * sScale
    if (best == -1 || v > bestScore) { bestScore = v; best = <i32>i }
  }
  return best
}
