// Placement scan kernel: every host's free resources as structure-of-arrays columns in linear
// memory -> each filter's rejection count and the best host under pack or spread, with the
// special-hardware term normalised over the candidates as the general path does (from per-class
// maxima; a second pass only when rounding could tie a class's runner-up with its best).
//
// The wrapper (core/kernels/scan-wasm.ts) lays the hosts out grouped by special-hardware class:
// three segments (class 0, 1, 2), each in increasing host index and padded to a multiple of 4
// with hosts that are down. `orig` maps a position back to its host index, `posOf` a host index
// to its position. A segment has one class, so the per-class best/runner-up/first-host tracking
// needs no per-host class test.
//
// Requests without affinity, over free vCPUs and RAM that are all integers below 2^30 (the
// wrapper says so), run four hosts per step: the filters as i32x4 masks (a mask lane is -1, so
// subtracting it counts; disk as f64x2 compares narrowed to host lanes; anti-affinity as the
// per-position flag plus up to two forbidden zones), the score in f64x2 halves exactly as the
// reference computes it, and per lane a best, runner-up and first position, merged at the end of
// each segment. The others run one host per step in f64. Nothing here allocates; the wrapper
// checks every length and index before calling. Arithmetic follows
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
/** Free vCPUs and RAM are compared as i32 when every host's value is an integer below this. */
const EXACT_BOUND: f64 = 1073741824

// What the four-hosts step reads is interleaved: one 192-byte row per 4 positions, so a step
// reads one row at fixed offsets (one pointer, no per-column address arithmetic):
// up (i32 x4: -1 up, 0 down or padding), free vCPUs and RAM as i32 (meaningful when exact),
// anti-affinity flag (i32: -1 when the request forbids the host, its rack or its zone: the
// wrapper marks every position of a forbidden rack or zone), then free vCPUs, free RAM, 1/vCPU
// capacity, 1/RAM capacity (f64 x4 each).
const ROW: usize = 192
const UP: usize = 0
const FREE_VCPUS_I: usize = 16
const FREE_RAM_I: usize = 32
const ANTI_HOST: usize = 48
const FREE_VCPUS: usize = 64
const FREE_RAM: usize = 96
const VCPU_INV: usize = 128
const RAM_INV: usize = 160
// Columns, per position: zone, rack, host index, special-hardware kinds as the index holds them
// (i32; the second pass scores with this value); largest free disk per kind (f64, three
// columns of `capacity`). Per host index: its position (i32). PCI columns (i32 per position) are
// placed by the wrapper and passed per scan.
let rowsP: usize = 0
let zoneP: usize = 0
let rackP: usize = 0
let origP: usize = 0
let specialP: usize = 0
let posOfP: usize = 0
let diskP: usize = 0
let removedP: usize = 0 // i32 per slot, then the candidate count
let capacity: usize = 0
// Segments: first position and host count per class.
let start0: usize = 0
let count0: usize = 0
let start1: usize = 0
let count1: usize = 0
let start2: usize = 0
let count2: usize = 0

/** The first byte the wrapper may use (everything below holds this module's static data). */
export function heapBase(): usize {
  return __heap_base
}

/** Where the wrapper placed each column (for `positions` positions, a multiple of 4). */
export function setLayout(
  positions: usize, rows: usize, zone: usize, rack: usize, orig: usize, special: usize,
  posOf: usize, disk: usize, removed: usize,
): void {
  capacity = positions
  rowsP = rows; zoneP = zone; rackP = rack; origP = orig; specialP = special; posOfP = posOf
  diskP = disk
  removedP = removed
}

/** The class segments: each starts at a multiple of 4 and holds `count` hosts. */
export function setSegments(
  s0: usize, c0: usize, s1: usize, c1: usize, s2: usize, c2: usize,
): void {
  start0 = s0; count0 = c0; start1 = s1; count1 = c1; start2 = s2; count2 = c2
}

// @ts-ignore: decorator
@inline function f64At(base: usize, i: usize): f64 {
  return load<f64>(base + (i << 3))
}

// @ts-ignore: decorator
@inline function i32At(base: usize, i: usize): i32 {
  return load<i32>(base + (i << 2))
}

// Field `field` of position i in the rows (i32 and f64 fields).
// @ts-ignore: decorator
@inline function rowI32(field: usize, i: usize): i32 {
  return load<i32>(rowsP + (i >> 2) * ROW + field + ((i & 3) << 2))
}

// @ts-ignore: decorator
@inline function rowF64(field: usize, i: usize): f64 {
  return load<f64>(rowsP + (i >> 2) * ROW + field + ((i & 3) << 3))
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
@inline function track(c: i32, r: f64, i: i32): void {
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
let rC0: f64 = 0
let rP1: usize = 0
let rC1: f64 = 0
let rP2: usize = 0
let rC2: f64 = 0
let rP3: usize = 0
let rC3: f64 = 0
let rAffHost: i32 = -1
let rAffRack: i32 = -1
let rAffZone: i32 = -1
let rAnti: bool = false
// Up to two forbidden zones compared here (-1: none); the wrapper marks the flag for the rest.
let rAntiZone0: i32 = -1
let rAntiZone1: i32 = -1
let rSign: f64 = 0
// Rejections counted so far (status, zone, vCPU, RAM, PCI, anti-affinity).
let nStatus: i32 = 0
let nZone: i32 = 0
let nVcpu: i32 = 0
let nRam: i32 = 0
let nDisk: i32 = 0
let nPci: i32 = 0
let nAnti: i32 = 0

/**
 * Scans hosts [0, n). `pciCount` PCI columns (i32 per position) at p0..p3 need c0..c3 free
 * devices. Domain arguments: -1 any, -2 none matches; `anti` says whether any anti-affinity flag
 * is set or zone forbidden; `antiZone0`/`antiZone1` forbidden zones (-1: none; one zone is
 * passed twice); `exact` whether every position's free vCPUs and RAM are integers below 2^30 in
 * magnitude (the i32 columns then hold them). Returns the best host, or -1; the candidate count is
 * written after the rejection counts.
 */
export function scan(
  n: usize, vcpus: f64, ramMb: f64, zone: i32, diskMb: f64, diskColumn: i32,
  pciCount: i32, p0: usize, c0: f64, p1: usize, c1: f64, p2: usize, c2: f64, p3: usize, c3: f64,
  affinityHost: i32, affinityRack: i32, affinityZone: i32, anti: bool, antiZone0: i32,
  antiZone1: i32,
  sign: f64, policyWeight: f64, specialWeight: f64, exact: bool,
): i32 {
  memory.fill(removedP, 0, (SLOTS + 1) << 2)
  rVcpus = vcpus; rRam = ramMb; rZone = zone; rDiskMb = diskMb; rDiskColumn = diskColumn
  rPciCount = pciCount; rP0 = p0; rC0 = c0; rP1 = p1; rC1 = c1; rP2 = p2
  rC2 = c2; rP3 = p3; rC3 = c3
  rAffHost = affinityHost; rAffRack = affinityRack; rAffZone = affinityZone
  rAnti = anti; rAntiZone0 = antiZone0; rAntiZone1 = antiZone1; rSign = sign
  m0 = -Infinity; s0 = -Infinity; h0 = -1
  m1 = -Infinity; s1 = -Infinity; h1 = -1
  m2 = -Infinity; s2 = -Infinity; h2 = -1
  rMin = Infinity; rMax = -Infinity
  nStatus = 0; nZone = 0; nVcpu = 0; nRam = 0; nDisk = 0; nPci = 0; nAnti = 0
  const affinity = affinityHost != -1 || affinityRack != -1 || affinityZone != -1
  let count: i32
  if (exact && !affinity && pciThresholdsFit()) {
    count = quads(start0, count0, 0) + quads(start1, count1, 1) + quads(start2, count2, 2)
    // Padding positions are down: not hosts, so not rejections.
    nStatus -= <i32>(padded(count0) - count0 + padded(count1) - count1 + padded(count2) - count2)
    rMax = max(m0, max(m1, m2))
  } else {
    count = singles(start0, count0, 0) + singles(start1, count1, 1) + singles(start2, count2, 2)
  }
  bump(HOST_STATUS, nStatus)
  bump(ZONE, nZone)
  bump(VCPU, nVcpu)
  bump(RAM, nRam)
  bump(DISK, nDisk)
  bump(PCI, nPci)
  bump(ANTI_AFFINITY, nAnti)
  store<i32>(removedP + (SLOTS << 2), count)
  if (count == 0) return -1
  const best = bestOf(policyWeight, specialWeight)
  return best != -2 ? best : exactBest(n, policyWeight, specialWeight)
}

// @ts-ignore: decorator
@inline function padded(count: usize): usize {
  return (count + 3) & ~(<usize>3)
}

// @ts-ignore: decorator
@inline function bump(slot: usize, by: i32): void {
  const at = removedP + (slot << 2)
  store<i32>(at, load<i32>(at) + by)
}

// @ts-ignore: decorator
@inline function sum4(counter: v128): i32 {
  return i32x4.extract_lane(counter, 0) + i32x4.extract_lane(counter, 1) +
    i32x4.extract_lane(counter, 2) + i32x4.extract_lane(counter, 3)
}

/**
 * For every integer `free` in (lo, hi), `free < x` is `free < t` with t this (x NaN compares
 * false, so it rejects nothing: t = lo; x at or above hi rejects all: t = hi).
 */
// @ts-ignore: decorator
@inline function threshold(x: f64, lo: f64, hi: f64): i32 {
  if (x != x || x <= lo) return <i32>lo
  const t = Math.ceil(x)
  return t >= hi ? <i32>hi : <i32>t
}

// Whether every PCI count has an i32 threshold (a count above 2^31 - 1 goes one host at a time).
function pciThresholdsFit(): bool {
  const top: f64 = 2147483647
  return !(rPciCount > 0 && Math.ceil(rC0) > top) && !(rPciCount > 1 && Math.ceil(rC1) > top) &&
    !(rPciCount > 2 && Math.ceil(rC2) > top) && !(rPciCount > 3 && Math.ceil(rC3) > top)
}

// Four positions per step over one class segment (see the module comment). Adds the segment's
// rejections to the counters, sets its class's best, runner-up and first host, lowers rMin.
// Returns the candidate count. Under pack (sign 1) the step leaves out the multiplication by the
// sign (1 * x is x, NaN and -0 included); a loop without the disk filter is compiled apart (the
// filter's registers cost about 10% when present unused).
function quads(start: usize, hosts: usize, c: i32): i32 {
  if (hosts == 0) return 0
  if (rDiskColumn >= 0) {
    return rSign == 1 ? quadsOf(start, hosts, c, false, true) : quadsOf(start, hosts, c, true, true)
  }
  return rSign == 1 ? quadsOf(start, hosts, c, false, false) : quadsOf(start, hosts, c, true, false)
}

// @ts-ignore: decorator
@inline function quadsOf(start: usize, hosts: usize, c: i32, signed: bool, disk: bool): i32 {
  const end = start + padded(hosts)
  const two = f64x2.splat(2)
  const vcpus = f64x2.splat(rVcpus)
  const ram = f64x2.splat(rRam)
  const sign = f64x2.splat(rSign)
  const needV = i32x4.splat(threshold(rVcpus, -EXACT_BOUND, EXACT_BOUND))
  const needR = i32x4.splat(threshold(rRam, -EXACT_BOUND, EXACT_BOUND))
  // PCI columns hold any i32; a count whose ceiling is above 2^31 - 1 never comes here.
  const pciLo: f64 = -2147483648
  const pciHi: f64 = 2147483647
  const need0 = i32x4.splat(threshold(rC0, pciLo, pciHi))
  const need1 = i32x4.splat(threshold(rC1, pciLo, pciHi))
  const need2 = i32x4.splat(threshold(rC2, pciLo, pciHi))
  const need3 = i32x4.splat(threshold(rC3, pciLo, pciHi))
  const zone = i32x4.splat(rZone)
  const zero = i32x4.splat(0)
  const plusInf = f64x2.splat(Infinity)
  const minusInf = f64x2.splat(-Infinity)
  // A score lane of a host that did not pass is made NaN (all exponent bits and the quiet bit
  // ORed in), which every comparison below ignores, as the reference ignores a NaN score.
  const nanBits = i64x2.splat(0x7ff8000000000000)
  // Hosts still passing after each filter, per lane (a lane's mask is -1: subtracting counts).
  let cUp = zero, cZone = zero, cVcpu = zero, cRam = zero, cDisk = zero, cPci = zero
  let cAnti = zero
  // Per lane (positions p, p+1 in lo; p+2, p+3 in hi): best, runner-up, step of the best, min.
  let mLo = minusInf, mHi = minusInf, sLo = minusInf, sHi = minusInf
  let iLo = i64x2.splat(-1), iHi = i64x2.splat(-1)
  let nLo = plusInf, nHi = plusInf
  const zoned = rZone != -1
  const pciCount = rPciCount
  const anti = rAnti
  const antiZoned = rAntiZone0 != -1
  const antiZone0 = i32x4.splat(rAntiZone0)
  const antiZone1 = i32x4.splat(rAntiZone1)
  const zoneAt = zoneP
  // Disk: one column (kind 0 to 2) or the largest of the three (any kind), in f64.
  const diskColumn = rDiskColumn
  const diskMb = f64x2.splat(rDiskMb)
  const disk0 = diskP + ((diskColumn >= 0 && diskColumn < ANY_DISK_KIND ? <usize>diskColumn : 0) *
    capacity << 3)
  const disk1 = diskP + (capacity << 3)
  const disk2 = diskP + (capacity << 4)
  const pci0 = rP0, pci1 = rP1, pci2 = rP2, pci3 = rP3
  let row = rowsP + (start >> 2) * ROW
  for (let p = start; p < end; p += 4, row += ROW) {
    const o4 = p << 2
    let alive = v128.load(row, UP)
    cUp = i32x4.sub(cUp, alive)
    if (zoned) {
      alive = v128.and(alive, i32x4.eq(v128.load(zoneAt + o4), zone))
      cZone = i32x4.sub(cZone, alive)
    }
    alive = v128.and(alive, i32x4.ge_s(v128.load(row, FREE_VCPUS_I), needV))
    cVcpu = i32x4.sub(cVcpu, alive)
    alive = v128.and(alive, i32x4.ge_s(v128.load(row, FREE_RAM_I), needR))
    cRam = i32x4.sub(cRam, alive)
    if (disk) {
      const o8 = p << 3
      let lo = v128.load(disk0 + o8)
      let hi = v128.load(disk0 + o8, 16)
      if (diskColumn == ANY_DISK_KIND) {
        // f64x2.max is Math.max here: NaN if any is NaN, +0 above -0.
        lo = f64x2.max(f64x2.max(lo, v128.load(disk1 + o8)), v128.load(disk2 + o8))
        hi = f64x2.max(f64x2.max(hi, v128.load(disk1 + o8, 16)), v128.load(disk2 + o8, 16))
      }
      // Rejected when free < size (NaN is not), each 64-bit mask narrowed to its host's lane.
      const rejected = i8x16.shuffle(f64x2.lt(lo, diskMb), f64x2.lt(hi, diskMb),
        0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27)
      alive = v128.andnot(alive, rejected)
      cDisk = i32x4.sub(cDisk, alive)
    }
    if (pciCount > 0) {
      let ok = i32x4.ge_s(v128.load(pci0 + o4), need0)
      if (pciCount > 1) ok = v128.and(ok, i32x4.ge_s(v128.load(pci1 + o4), need1))
      if (pciCount > 2) ok = v128.and(ok, i32x4.ge_s(v128.load(pci2 + o4), need2))
      if (pciCount > 3) ok = v128.and(ok, i32x4.ge_s(v128.load(pci3 + o4), need3))
      alive = v128.and(alive, ok)
      cPci = i32x4.sub(cPci, alive)
    }
    if (anti) {
      let ok = i32x4.eq(v128.load(row, ANTI_HOST), zero)
      if (antiZoned) {
        const z = v128.load(zoneAt + o4)
        ok = v128.and(ok, v128.not(v128.or(i32x4.eq(z, antiZone0), i32x4.eq(z, antiZone1))))
      }
      alive = v128.and(alive, ok)
      cAnti = i32x4.sub(cAnti, alive)
    }
    const tLo = f64x2.sub(
      f64x2.sub(two, f64x2.mul(f64x2.sub(v128.load(row, FREE_VCPUS), vcpus),
        v128.load(row, VCPU_INV))),
      f64x2.mul(f64x2.sub(v128.load(row, FREE_RAM), ram), v128.load(row, RAM_INV)))
    const scLo = v128.or(signed ? f64x2.mul(sign, tLo) : tLo,
      v128.andnot(nanBits, i64x2.extend_low_i32x4_s(alive)))
    const tHi = f64x2.sub(
      f64x2.sub(two, f64x2.mul(f64x2.sub(v128.load(row, FREE_VCPUS + 16), vcpus),
        v128.load(row, VCPU_INV + 16))),
      f64x2.mul(f64x2.sub(v128.load(row, FREE_RAM + 16), ram), v128.load(row, RAM_INV + 16)))
    const scHi = v128.or(signed ? f64x2.mul(sign, tHi) : tHi,
      v128.andnot(nanBits, i64x2.extend_high_i32x4_s(alive)))
    // pmin(a, b) is b < a ? b : a: it keeps the accumulator against NaN, as `r < rMin` does.
    nLo = f64x2.pmin(nLo, scLo)
    nHi = f64x2.pmin(nHi, scHi)
    // A lane changes only above its runner-up and off its best (ties with the best, common
    // among identical hosts, change nothing; neither does NaN).
    const bLo = v128.and(f64x2.gt(scLo, sLo), f64x2.ne(scLo, mLo))
    const bHi = v128.and(f64x2.gt(scHi, sHi), f64x2.ne(scHi, mHi))
    if (!v128.any_true(v128.or(bLo, bHi))) continue
    const step = i64x2.splat(<i64>p)
    let gt = f64x2.gt(scLo, mLo)
    sLo = v128.bitselect(mLo,
      v128.bitselect(f64x2.pmax(sLo, scLo), sLo, f64x2.lt(scLo, mLo)), gt)
    mLo = v128.bitselect(scLo, mLo, gt)
    iLo = v128.bitselect(step, iLo, gt)
    gt = f64x2.gt(scHi, mHi)
    sHi = v128.bitselect(mHi,
      v128.bitselect(f64x2.pmax(sHi, scHi), sHi, f64x2.lt(scHi, mHi)), gt)
    mHi = v128.bitselect(scHi, mHi, gt)
    iHi = v128.bitselect(step, iHi, gt)
  }
  // Rejections per filter: hosts passing before it minus hosts passing after it.
  const positions = <i32>(end - start)
  const nUp = sum4(cUp)
  const nZ = zoned ? sum4(cZone) : nUp
  const nV = sum4(cVcpu)
  const nR = sum4(cRam)
  const nD = disk ? sum4(cDisk) : nR
  const nP = pciCount > 0 ? sum4(cPci) : nD
  const passed = anti ? sum4(cAnti) : nP
  nStatus += positions - nUp
  nZone += nUp - nZ
  nVcpu += nZ - nV
  nRam += nV - nR
  nDisk += nR - nD
  nPci += nD - nP
  nAnti += nP - passed
  lower(f64x2.extract_lane(nLo, 0))
  lower(f64x2.extract_lane(nLo, 1))
  lower(f64x2.extract_lane(nHi, 0))
  lower(f64x2.extract_lane(nHi, 1))
  merge(c, mLo, mHi, sLo, sHi, iLo, iHi)
  return passed
}

// @ts-ignore: decorator
@inline function lower(r: f64): void {
  if (r < rMin) rMin = r
}

// The class's best over its four lanes (lane k holds positions p + k of the steps it saw), the
// first position with it (the smallest host index: a segment is in host order), and the
// runner-up level (each lane's best below the class best, else its runner-up).
function merge(c: i32, mLo: v128, mHi: v128, sLo: v128, sHi: v128, iLo: v128, iHi: v128): void {
  const m0l = f64x2.extract_lane(mLo, 0), m1l = f64x2.extract_lane(mLo, 1)
  const m2l = f64x2.extract_lane(mHi, 0), m3l = f64x2.extract_lane(mHi, 1)
  const best = max(max(m0l, m1l), max(m2l, m3l))
  let first: i64 = -1
  let second: f64 = -Infinity
  for (let k = 0; k < 4; k++) {
    const m = k == 0 ? m0l : k == 1 ? m1l : k == 2 ? m2l : m3l
    const s = k == 0 ? f64x2.extract_lane(sLo, 0) : k == 1 ? f64x2.extract_lane(sLo, 1)
      : k == 2 ? f64x2.extract_lane(sHi, 0) : f64x2.extract_lane(sHi, 1)
    const step = k == 0 ? i64x2.extract_lane(iLo, 0) : k == 1 ? i64x2.extract_lane(iLo, 1)
      : k == 2 ? i64x2.extract_lane(iHi, 0) : i64x2.extract_lane(iHi, 1)
    const below = m < best ? m : s
    if (below > second) second = below
    if (best != -Infinity && m == best && step != -1) {
      const at = step + <i64>k
      if (first == -1 || at < first) first = at
    }
  }
  const host = first == -1 ? -1 : i32At(origP, <usize>first)
  if (c == 0) { m0 = best; s0 = second; h0 = host } else if (c == 1) {
    m1 = best; s1 = second; h1 = host
  } else { m2 = best; s2 = second; h2 = host }
}

// Whether the host at position i (host index `host`, zone z) passes the disk, PCI, affinity and
// anti-affinity filters; counts the first that fails.
// @ts-ignore: decorator
@inline function passesRest(i: usize, host: i32, z: i32, count: bool): bool {
  if (rDiskColumn >= 0) {
    let free: f64
    if (rDiskColumn < ANY_DISK_KIND) free = f64At(diskP + ((<usize>rDiskColumn * capacity) << 3), i)
    else {
      free = max(max(f64At(diskP, i), f64At(diskP + (capacity << 3), i)),
        f64At(diskP + (capacity << 4), i))
    }
    if (free < rDiskMb) { if (count) nDisk++; return false }
  }
  if (rPciCount > 0) {
    if (<f64>i32At(rP0, i) < rC0 || (rPciCount > 1 && <f64>i32At(rP1, i) < rC1) ||
      (rPciCount > 2 && <f64>i32At(rP2, i) < rC2) ||
      (rPciCount > 3 && <f64>i32At(rP3, i) < rC3)) {
      if (count) nPci++
      return false
    }
  }
  const r = i32At(rackP, i)
  if ((rAffHost != -1 && rAffHost != host) || (rAffRack != -1 && rAffRack != r) ||
    (rAffZone != -1 && rAffZone != z)) {
    if (count) bump(AFFINITY, 1)
    return false
  }
  if (rAnti && (rowI32(ANTI_HOST, i) != 0 || (rAntiZone0 != -1 &&
    (z == rAntiZone0 || z == rAntiZone1)))) {
    if (count) nAnti++
    return false
  }
  return true
}

// One host per step over one class segment (every filter, in f64). Returns the candidate count.
function singles(start: usize, hosts: usize, c: i32): i32 {
  let count: i32 = 0
  for (let i = start; i < start + hosts; i++) {
    if (rowI32(UP, i) == 0) { nStatus++; continue }
    const z = i32At(zoneP, i)
    if (rZone != -1 && z != rZone) { nZone++; continue }
    const fv = rowF64(FREE_VCPUS, i)
    if (fv < rVcpus) { nVcpu++; continue }
    const fr = rowF64(FREE_RAM, i)
    if (fr < rRam) { nRam++; continue }
    const host = i32At(origP, i)
    if (!passesRest(i, host, z, true)) continue
    const score = rSign *
      (2 - (fv - rVcpus) * rowF64(VCPU_INV, i) - (fr - rRam) * rowF64(RAM_INV, i))
    count++
    if (score < rMin) rMin = score
    if (score > rMax) rMax = score
    track(c, score, host)
  }
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

// Every candidate scored with the special-hardware term (the general path's sums), in host
// order (through `posOf`), so the first maximum is the reference's.
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
  for (let h: usize = 0; h < n; h++) {
    const i = <usize>i32At(posOfP, h)
    if (rowI32(UP, i) == 0) continue
    const z = i32At(zoneP, i)
    if (rZone != -1 && z != rZone) continue
    const fv = rowF64(FREE_VCPUS, i)
    const fr = rowF64(FREE_RAM, i)
    if (fv < rVcpus || fr < rRam || !passesRest(i, <i32>h, z, false)) continue
    const r = rSign * (2 - (fv - rVcpus) * rowF64(VCPU_INV, i) - (fr - rRam) * rowF64(RAM_INV, i))
    const v = (r - rMin) * rScale + (-<f64>i32At(specialP, i) - sMin) * sScale
    if (best == -1 || v > bestScore) { bestScore = v; best = <i32>h }
  }
  return best
}
