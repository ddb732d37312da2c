// Placement scan kernel: every host's free resources as structure-of-arrays columns in linear
// memory -> in one pass, each filter's rejection count, the candidates with their resource
// scores, and the best host under pack or spread (with the special-hardware term normalised over
// the candidates in a second pass, as the general path does). The TypeScript wrapper
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
let candidatesP: usize = 0 // i32 per host
let scoresP: usize = 0 // f64 per host
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
  antiZone: usize, candidates: usize, scores: usize, removed: usize,
): void {
  capacity = hostCapacity
  upP = up; zoneP = zone; rackP = rack; freeVcpusP = freeVcpus; freeRamP = freeRam
  vcpuInvP = vcpuInv; ramInvP = ramInv; diskP = disk; specialP = special
  antiHostP = antiHost; antiRackP = antiRack; antiZoneP = antiZone
  candidatesP = candidates; scoresP = scores; removedP = removed
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

/**
 * Scans hosts [0, n). `pciCount` PCI columns (i32 per host) at p0..p3 need c0..c3 free devices.
 * Domain arguments: -1 any, -2 none matches. Returns the best host, or -1; the candidate count
 * is written after the rejection counts.
 */
export function scan(
  n: usize, vcpus: f64, ramMb: f64, zone: i32, diskMb: f64, diskColumn: i32,
  pciCount: i32, p0: usize, c0: i32, p1: usize, c1: i32, p2: usize, c2: i32, p3: usize, c3: i32,
  affinityHost: i32, affinityRack: i32, affinityZone: i32,
  sign: f64, policyWeight: f64, specialWeight: f64,
): i32 {
  memory.fill(removedP, 0, (SLOTS + 1) << 2)
  const affinity = affinityHost != -1 || affinityRack != -1 || affinityZone != -1
  const diskAt: usize = diskColumn >= 0 && diskColumn < ANY_DISK_KIND
    ? diskP + ((<usize>diskColumn * capacity) << 3) : 0
  const disk1 = diskP + (capacity << 3)
  const disk2 = diskP + (capacity << 4)
  let count: usize = 0
  let best: i32 = -1
  let bestScore: f64 = -Infinity
  let sMin: i32 = i32.MAX_VALUE
  let sMax: i32 = i32.MIN_VALUE
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
    const r = i32At(rackP, i)
    if (affinity && ((affinityHost != -1 && affinityHost != <i32>i) ||
      (affinityRack != -1 && affinityRack != r) || (affinityZone != -1 && affinityZone != z))) {
      bump(AFFINITY)
      continue
    }
    if ((load<u8>(antiHostP + i) | load<u8>(antiRackP + <usize>r) |
      load<u8>(antiZoneP + <usize>z)) != 0) {
      bump(ANTI_AFFINITY)
      continue
    }
    const score = sign * (2 - (fv - vcpus) * f64At(vcpuInvP, i) - (fr - ramMb) * f64At(ramInvP, i))
    if (best == -1 || score > bestScore) { bestScore = score; best = <i32>i }
    store<i32>(candidatesP + (count << 2), <i32>i)
    store<f64>(scoresP + (count << 3), score)
    count++
    const sp = -i32At(specialP, i)
    if (sp < sMin) sMin = sp
    if (sp > sMax) sMax = sp
  }
  store<i32>(removedP + (SLOTS << 2), <i32>count)
  if (count == 0 || specialWeight == 0 || sMax == sMin) return best
  return specialBest(count, policyWeight, specialWeight, <f64>sMin, <f64>sMax)
}

function specialBest(
  count: usize, policyWeight: f64, specialWeight: f64, sMin: f64, sMax: f64,
): i32 {
  let rMin: f64 = Infinity
  let rMax: f64 = -Infinity
  for (let k: usize = 0; k < count; k++) {
    const r = f64At(scoresP, k)
    if (r < rMin) rMin = r
    if (r > rMax) rMax = r
  }
  const rScale: f64 = rMax == rMin ? 0 : policyWeight / (rMax - rMin)
  const sScale: f64 = specialWeight / (sMax - sMin)
  let best: i32 = -1
  let bestScore: f64 = -Infinity
  for (let k: usize = 0; k < count; k++) {
    const i = i32At(candidatesP, k)
    const s = <f64>(-i32At(specialP, <usize>i))
    const v = (f64At(scoresP, k) - rMin) * rScale + (s - sMin) * sScale
    if (best == -1 || v > bestScore) { bestScore = v; best = i }
  }
  return best
}
