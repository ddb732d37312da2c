// Placement scan kernel: every host's free resources as structure-of-arrays columns in linear
// memory -> in one pass, each filter's rejection count and the best host under pack or spread,
// with the special-hardware term normalised over the candidates as the general path does (from
// per-class maxima; a second pass only when rounding could tie a class's runner-up with its
// best). Requests without a disk, affinity or rack/zone anti-affinity run two hosts per step in
// SIMD (f64x2 lanes; the rejection counts are lane masks summed); the others run one host per
// step. The TypeScript wrapper (core/kernels/scan-wasm.ts) owns the memory: it places the columns
// (setLayout), keeps them current per changed host, writes the forbidden-domain flags, and checks
// every length and index before calling. Nothing here allocates. Arithmetic follows
// core/kernels/scan-reference.ts term by term, so both backends choose the same host.

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

// Columns: up (i32: 1 or 0), zone id (i32), rack id (i32), free vCPUs, free RAM, 1/vCPU
// capacity, 1/RAM capacity (f64), largest free disk per kind (f64, three columns of `capacity`),
// special hardware (i32: 0 to 2), host anti-affinity flag (i32); rack and zone flags (u8 per
// domain); the PCI columns (i32 per host) are placed by the wrapper. The i32 columns are read
// two hosts at a time widened to i64 lanes.
let upP: usize = 0
let zoneP: usize = 0
let rackP: usize = 0
let freeVcpusP: usize = 0
let freeRamP: usize = 0
let vcpuInvP: usize = 0
let ramInvP: usize = 0
let diskP: usize = 0
let specialP: usize = 0
let antiHostP: usize = 0
let antiRackP: usize = 0
let antiZoneP: usize = 0
let removedP: usize = 0 // i32 per slot, then the candidate count
let capacity: usize = 0

/** The first byte the wrapper may use (everything below holds this module's static data). */
export function heapBase(): usize {
  return __heap_base
}

/** Where the wrapper placed each column (for `hostCapacity` hosts, a multiple of 2). */
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
@inline function f64At(base: usize, i: usize): f64 {
  return load<f64>(base + (i << 3))
}

// @ts-ignore: decorator
@inline function i32At(base: usize, i: usize): i32 {
  return load<i32>(base + (i << 2))
}

// Per special-hardware class: best score, runner-up level (largest score below the best), and
// the first host with the best score (-1: no candidate of the class yet).
let m0: f64 = -Infinity
let s0: f64 = -Infinity
let h0: i32 = -1
let m1: f64 = -Infinity
let s1: f64 = -Infinity
let h1: i32 = -1
let m2: f64 = -Infinity
let s2: f64 = -Infinity
let h2: i32 = -1
let rMin: f64 = Infinity
let rMax: f64 = -Infinity

// @ts-ignore: decorator
@inline function track(c: i64, r: f64, i: i32): void {
  if (c == 0) {
    if (r > m0) { s0 = m0; m0 = r; h0 = i } else if (r < m0 && r > s0) s0 = r
  } else if (c == 1) {
    if (r > m1) { s1 = m1; m1 = r; h1 = i } else if (r < m1 && r > s1) s1 = r
  } else if (r > m2) { s2 = m2; m2 = r; h2 = i } else if (r < m2 && r > s2) s2 = r
}

// Request fields the passes read.
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
let rAnti: bool = false
let rSign: f64 = 0

/**
 * Scans hosts [0, n). `pciCount` PCI columns (f64 per host) at p0..p3 need c0..c3 free devices.
 * Domain arguments: -1 any, -2 none matches; `anti` says whether any anti-affinity flag is set,
 * `antiDomains` whether a rack or zone one is. Returns the best host, or -1; the candidate count
 * is written after the rejection counts.
 */
export function scan(
  n: usize, vcpus: f64, ramMb: f64, zone: i32, diskMb: f64, diskColumn: i32,
  pciCount: i32, p0: usize, c0: i32, p1: usize, c1: i32, p2: usize, c2: i32, p3: usize, c3: i32,
  affinityHost: i32, affinityRack: i32, affinityZone: i32, anti: bool, antiDomains: bool,
  sign: f64, policyWeight: f64, specialWeight: f64,
): i32 {
  memory.fill(removedP, 0, (SLOTS + 1) << 2)
  rVcpus = vcpus; rRam = ramMb; rZone = zone; rDiskMb = diskMb; rDiskColumn = diskColumn
  rPciCount = pciCount; rP0 = p0; rC0 = c0; rP1 = p1; rC1 = c1; rP2 = p2
  rC2 = c2; rP3 = p3; rC3 = c3
  rAffHost = affinityHost; rAffRack = affinityRack; rAffZone = affinityZone
  rAnti = anti; rSign = sign
  m0 = -Infinity; s0 = -Infinity; h0 = -1
  m1 = -Infinity; s1 = -Infinity; h1 = -1
  m2 = -Infinity; s2 = -Infinity; h2 = -1
  rMin = Infinity; rMax = -Infinity
  const affinity = affinityHost != -1 || affinityRack != -1 || affinityZone != -1
  const count = diskColumn < 0 && !affinity && !antiDomains ? pairs(n) : singles(n)
  store<i32>(removedP + (SLOTS << 2), count)
  if (count == 0) return -1
  const best = bestOf(policyWeight, specialWeight)
  return best != -2 ? best : exactBest(n, policyWeight, specialWeight)
}

// @ts-ignore: decorator
@inline function bump(slot: usize, by: i32): void {
  const at = removedP + (slot << 2)
  store<i32>(at, load<i32>(at) + by)
}

// @ts-ignore: decorator
@inline function lanes(counter: v128): i32 {
  return <i32>(i64x2.extract_lane(counter, 0) + i64x2.extract_lane(counter, 1))
}

// Two hosts per step: every filter's pass mask per lane; a lane's first failing filter takes
// its count (a mask is -1 per true lane, so subtracting it counts). Only lanes whose score beats
// their class's runner-up level go through `track`. Returns the candidate count.
function pairs(n: usize): i32 {
  const zero = i64x2.splat(0)
  const one = i64x2.splat(1)
  const two = f64x2.splat(2)
  const vcpus = f64x2.splat(rVcpus)
  const ram = f64x2.splat(rRam)
  const sign = f64x2.splat(rSign)
  const zone = i64x2.splat(<i64>rZone)
  const need0 = i64x2.splat(<i64>rC0)
  const need1 = i64x2.splat(<i64>rC1)
  const need2 = i64x2.splat(<i64>rC2)
  const need3 = i64x2.splat(<i64>rC3)
  const plusInf = f64x2.splat(Infinity)
  const minusInf = f64x2.splat(-Infinity)
  let cStatus = i64x2.splat(0)
  let cZone = i64x2.splat(0)
  let cVcpu = i64x2.splat(0)
  let cRam = i64x2.splat(0)
  let cPci = i64x2.splat(0)
  let cAnti = i64x2.splat(0)
  let cCount = i64x2.splat(0)
  let vMin = plusInf
  let vMax = minusInf
  const zoned = rZone != -1
  const pciCount = rPciCount
  const anti = rAnti
  const up = upP, zoneAt = zoneP, freeVcpus = freeVcpusP, freeRam = freeRamP
  const vcpuInv = vcpuInvP, ramInv = ramInvP, specialAt = specialP, antiHost = antiHostP
  const pci0 = rP0, pci1 = rP1, pci2 = rP2, pci3 = rP3
  const all = i64x2.splat(-1)
  const last = n & ~(<usize>1)
  for (let i: usize = 0; i < n; i += 2) {
    const off = i << 3
    const off4 = i << 2
    const valid = i < last ? all : i64x2(-1, 0)
    let alive = v128.and(i64x2.eq(v128.load32x2_s(up + off4), one), valid)
    cStatus = i64x2.sub(cStatus, v128.andnot(valid, alive))
    if (zoned) {
      const ok = i64x2.eq(v128.load32x2_s(zoneAt + off4), zone)
      cZone = i64x2.sub(cZone, v128.andnot(alive, ok))
      alive = v128.and(alive, ok)
    }
    const fv = v128.load(freeVcpus + off)
    let ok = f64x2.ge(fv, vcpus)
    cVcpu = i64x2.sub(cVcpu, v128.andnot(alive, ok))
    alive = v128.and(alive, ok)
    const fr = v128.load(freeRam + off)
    ok = f64x2.ge(fr, ram)
    cRam = i64x2.sub(cRam, v128.andnot(alive, ok))
    alive = v128.and(alive, ok)
    if (pciCount > 0) {
      ok = i64x2.ge_s(v128.load32x2_s(pci0 + off4), need0)
      if (pciCount > 1) ok = v128.and(ok, i64x2.ge_s(v128.load32x2_s(pci1 + off4), need1))
      if (pciCount > 2) ok = v128.and(ok, i64x2.ge_s(v128.load32x2_s(pci2 + off4), need2))
      if (pciCount > 3) ok = v128.and(ok, i64x2.ge_s(v128.load32x2_s(pci3 + off4), need3))
      cPci = i64x2.sub(cPci, v128.andnot(alive, ok))
      alive = v128.and(alive, ok)
    }
    if (anti) {
      ok = i64x2.eq(v128.load32x2_s(antiHost + off4), zero)
      cAnti = i64x2.sub(cAnti, v128.andnot(alive, ok))
      alive = v128.and(alive, ok)
    }
    if (!v128.any_true(alive)) continue
    cCount = i64x2.sub(cCount, alive)
    const score = f64x2.mul(sign, f64x2.sub(
      f64x2.sub(two, f64x2.mul(f64x2.sub(fv, vcpus), v128.load(vcpuInv + off))),
      f64x2.mul(f64x2.sub(fr, ram), v128.load(ramInv + off))))
    vMin = f64x2.min(vMin, v128.bitselect(score, plusInf, alive))
    vMax = f64x2.max(vMax, v128.bitselect(score, minusInf, alive))
    // A lane changes its class only above the runner-up level and off the best score (ties with
    // the best, common among identical hosts, change nothing).
    const special = v128.load32x2_s(specialAt + off4)
    const isZero = i64x2.eq(special, zero)
    const isOne = i64x2.eq(special, one)
    const level = v128.bitselect(f64x2.splat(s0),
      v128.bitselect(f64x2.splat(s1), f64x2.splat(s2), isOne), isZero)
    const top = v128.bitselect(f64x2.splat(m0),
      v128.bitselect(f64x2.splat(m1), f64x2.splat(m2), isOne), isZero)
    const beats = v128.and(alive, v128.and(f64x2.gt(score, level), f64x2.ne(score, top)))
    if (!v128.any_true(beats)) continue
    if (i64x2.extract_lane(beats, 0) != 0) {
      track(i64x2.extract_lane(special, 0), f64x2.extract_lane(score, 0), <i32>i)
    }
    if (i64x2.extract_lane(beats, 1) != 0) {
      track(i64x2.extract_lane(special, 1), f64x2.extract_lane(score, 1), <i32>i + 1)
    }
  }
  bump(HOST_STATUS, lanes(cStatus))
  bump(ZONE, lanes(cZone))
  bump(VCPU, lanes(cVcpu))
  bump(RAM, lanes(cRam))
  bump(PCI, lanes(cPci))
  bump(ANTI_AFFINITY, lanes(cAnti))
  const lo = min(f64x2.extract_lane(vMin, 0), f64x2.extract_lane(vMin, 1))
  const hi = max(f64x2.extract_lane(vMax, 0), f64x2.extract_lane(vMax, 1))
  rMin = lo
  rMax = hi
  return lanes(cCount)
}

// Whether host i passes the disk, PCI, affinity and anti-affinity filters; counts the first
// that fails.
// @ts-ignore: decorator
@inline function passesRest(i: usize, z: i32, count: bool): bool {
  if (rDiskColumn >= 0) {
    let free: f64
    if (rDiskColumn < ANY_DISK_KIND) free = f64At(diskP + ((<usize>rDiskColumn * capacity) << 3), i)
    else {
      free = max(max(f64At(diskP, i), f64At(diskP + (capacity << 3), i)),
        f64At(diskP + (capacity << 4), i))
    }
    if (free < rDiskMb) { if (count) bump(DISK, 1); return false }
  }
  if (rPciCount > 0) {
    if (i32At(rP0, i) < rC0 || (rPciCount > 1 && i32At(rP1, i) < rC1) ||
      (rPciCount > 2 && i32At(rP2, i) < rC2) || (rPciCount > 3 && i32At(rP3, i) < rC3)) {
      if (count) bump(PCI, 1)
      return false
    }
  }
  const r = i32At(rackP, i)
  if ((rAffHost != -1 && rAffHost != <i32>i) || (rAffRack != -1 && rAffRack != r) ||
    (rAffZone != -1 && rAffZone != z)) {
    if (count) bump(AFFINITY, 1)
    return false
  }
  if (rAnti && (i32At(antiHostP, i) != 0 || load<u8>(antiRackP + <usize>r) != 0 ||
    load<u8>(antiZoneP + <usize>z) != 0)) {
    if (count) bump(ANTI_AFFINITY, 1)
    return false
  }
  return true
}

// One host per step (every filter). Returns the candidate count.
function singles(n: usize): i32 {
  let count: i32 = 0
  let nStatus: i32 = 0, nZone: i32 = 0, nVcpu: i32 = 0, nRam: i32 = 0
  for (let i: usize = 0; i < n; i++) {
    if (i32At(upP, i) != 1) { nStatus++; continue }
    const z = i32At(zoneP, i)
    if (rZone != -1 && z != rZone) { nZone++; continue }
    const fv = f64At(freeVcpusP, i)
    if (fv < rVcpus) { nVcpu++; continue }
    const fr = f64At(freeRamP, i)
    if (fr < rRam) { nRam++; continue }
    if (!passesRest(i, z, true)) continue
    const score = rSign *
      (2 - (fv - rVcpus) * f64At(vcpuInvP, i) - (fr - rRam) * f64At(ramInvP, i))
    count++
    if (score < rMin) rMin = score
    if (score > rMax) rMax = score
    track(<i64>i32At(specialP, i), score, <i32>i)
  }
  bump(HOST_STATUS, nStatus)
  bump(ZONE, nZone)
  bump(VCPU, nVcpu)
  bump(RAM, nRam)
  return count
}

// The winner from the class maxima, or -2 when the special-hardware normalisation may round a
// class's runner-up level with its best (core/kernels/scan-reference.ts bestOf).
function bestOf(policyWeight: f64, specialWeight: f64): i32 {
  let sMin: f64 = Infinity
  let sMax: f64 = -Infinity
  if (h0 != -1) { sMin = min(sMin, 0); sMax = max(sMax, 0) }
  if (h1 != -1) { sMin = min(sMin, -1); sMax = max(sMax, -1) }
  if (h2 != -1) { sMin = min(sMin, -2); sMax = max(sMax, -2) }
  const special = specialWeight != 0 && sMax != sMin
  const rScale: f64 = rMax == rMin ? 0 : policyWeight / (rMax - rMin)
  const sScale: f64 = special ? specialWeight / (sMax - sMin) : 0
  let best: i32 = -1
  let bestScore: f64 = -Infinity
  for (let c = 0; c < 3; c++) {
    const host = c == 0 ? h0 : c == 1 ? h1 : h2
    if (host == -1) continue
    let v = c == 0 ? m0 : c == 1 ? m1 : m2
    if (special) {
      const second = c == 0 ? s0 : c == 1 ? s1 : s2
      const s = <f64>(-c)
      v = (v - rMin) * rScale + (s - sMin) * sScale
      if (second != -Infinity && (second - rMin) * rScale + (s - sMin) * sScale == v) return -2
    }
    if (best == -1 || v > bestScore || (v == bestScore && host < best)) {
      bestScore = v
      best = host
    }
  }
  return best
}

// Every candidate scored with the special-hardware term (the general path's sums).
function exactBest(n: usize, policyWeight: f64, specialWeight: f64): i32 {
  let sMin: f64 = Infinity
  let sMax: f64 = -Infinity
  if (h0 != -1) { sMin = min(sMin, 0); sMax = max(sMax, 0) }
  if (h1 != -1) { sMin = min(sMin, -1); sMax = max(sMax, -1) }
  if (h2 != -1) { sMin = min(sMin, -2); sMax = max(sMax, -2) }
  const rScale: f64 = rMax == rMin ? 0 : policyWeight / (rMax - rMin)
  const sScale: f64 = specialWeight / (sMax - sMin)
  let best: i32 = -1
  let bestScore: f64 = -Infinity
  for (let i: usize = 0; i < n; i++) {
    if (i32At(upP, i) != 1) continue
    const z = i32At(zoneP, i)
    if (rZone != -1 && z != rZone) continue
    const fv = f64At(freeVcpusP, i)
    const fr = f64At(freeRamP, i)
    if (fv < rVcpus || fr < rRam || !passesRest(i, z, false)) continue
    const r = rSign * (2 - (fv - rVcpus) * f64At(vcpuInvP, i) - (fr - rRam) * f64At(ramInvP, i))
    const s = -<f64>i32At(specialP, i)
    const v = (r - rMin) * rScale + (s - sMin) * sScale
    if (best == -1 || v > bestScore) { bestScore = v; best = <i32>i }
  }
  return best
}
