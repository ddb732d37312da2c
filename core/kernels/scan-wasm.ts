/**
 * The WebAssembly backend of the placement scan. The wrapper owns the instance's linear memory:
 * every column the kernel reads lives there (preallocated for the inventory's hosts; views
 * remade only after `memory.grow`). It mirrors one `ScanIndex` at a time, in the
 * kernel's layout: hosts grouped by special-hardware class (each group in host order, padded to a
 * multiple of 4 with down hosts), free vCPUs and RAM both as f64 and, when every value is an
 * integer below 2^30, as i32 (the kernel's four-hosts-per-step path needs that). A new index is
 * laid out and copied whole, after that only the hosts in the index's change log since the last
 * scan are rewritten. PCI columns go to `pciSlots` slots, copied whole when first used. Nothing is
 * allocated per call; lengths and indexes are checked here (the release kernel has no asserts).
 */
import type { PciColumn, ScanIndex } from "../cluster/scan.ts"
import { changeLogCapacity, poolKinds } from "../cluster/scan.ts"
import {
  checkScanRequest, type ScanInput, type ScanKernel, type ScanRequest, type ScanResult,
  scanPciMax, scanSlotCount,
} from "./scan-types.ts"
import {
  alignUp, compileKernel, exportedFunction, instantiate, type KernelModule, LinearMemory,
  memoryOf, regionBase,
} from "./wasm-runtime.ts"

/** PCI columns mirrored at once (the least recently placed one is replaced). */
export const pciSlots = 8

// The module scripts/build-wasm.mjs generates; a checkout where it was never built falls back to
// the reference, with the reason reported.
const generated = await import("../../build/scan.wasm.ts").then(
  (m) => ({ ok: true as const, m }),
  (e: unknown) => ({ ok: false as const,
    reason: `scan kernel not built (run npm run build:wasm): ${e instanceof Error ? e.message : e}`,
  }),
)

let compiled: KernelModule | undefined

/** The compiled scan module (memoised), or why this host cannot run it. */
export function scanWasmModule(): KernelModule {
  if (!generated.ok) return { ok: false, reason: generated.reason }
  compiled ??= compileKernel("scan", generated.m.wasmBase64)
  return compiled
}

type ScanFunction = (n: number, vcpus: number, ramMb: number, zone: number, diskMb: number,
  diskColumn: number, pciCount: number, p0: number, c0: number, p1: number, c1: number,
  p2: number, c2: number, p3: number, c3: number, affinityHost: number, affinityRack: number,
  affinityZone: number, anti: number, antiZone0: number, antiZone1: number, sign: number,
  policyWeight: number,
  specialWeight: number, exact: number) => number
type LayoutFunction = (...offsets: number[]) => void

/** Free vCPUs and RAM go to the kernel's i32 columns when integers below this in magnitude. */
const exactBound = 2 ** 30

/**
 * The kernel's rows (assembly/scan.kernel.ts): per 4 positions, 192 bytes: up, free vCPUs and
 * RAM as i32, host anti-affinity flag (i32 x4 each), then free vCPUs, free RAM, 1/vCPU capacity,
 * 1/RAM capacity (f64 x4 each). Field offsets in 4-byte words (i32) and 8-byte words (f64).
 */
const rowWords32 = 48
const rowWords64 = 24
const field = { up: 0, freeVcpusI: 4, freeRamI: 8, antiHost: 12, freeVcpus: 8, freeRam: 12,
  vcpuInv: 16, ramInv: 20 } as const
/** Index of position p's i32 field (word offset `f`) in the rows as an Int32Array. */
const i32Of = (f: number, p: number) => (p >> 2) * rowWords32 + f + (p & 3)
/** Index of position p's f64 field (word offset `f`) in the rows as a Float64Array. */
const f64Of = (f: number, p: number) => (p >> 2) * rowWords64 + f + (p & 3)

/**
 * Where each column lives. Positions: hosts grouped by special-hardware class (the reference's
 * classes: 0, 1, anything else), each group in host order, starting at a multiple of 4 and padded
 * with down hosts; `posOf` maps a host index to its position.
 */
interface Layout {
  readonly hosts: number
  /** Positions: hosts plus up to 3 padding per class, a multiple of 4. */
  readonly positions: number
  readonly rows: number
  readonly zone: number
  readonly rack: number
  readonly orig: number
  readonly special: number
  readonly posOf: number
  readonly disk: number
  readonly pci: number
  readonly removed: number
  readonly end: number
}

function layoutOf(base: number, hosts: number): Layout {
  const positions = Math.ceil(hosts / 4) * 4 + 12
  let at = base
  const region = (bytes: number) => {
    const start = at
    at += alignUp(Math.max(bytes, 8))
    return start
  }
  const p4 = positions * 4
  const p8 = positions * 8
  return {
    hosts, positions,
    rows: region(positions * 48), zone: region(p4), rack: region(p4), orig: region(p4),
    special: region(p4), posOf: region(hosts * 4), disk: region(p8 * poolKinds.length),
    pci: region(p4 * pciSlots),
    removed: region((scanSlotCount + 1) * 4),
    get end() { return at },
  }
}

/** Typed views over the layout (remade after growth). */
interface Views {
  rows32: Int32Array
  rows64: Float64Array
  zone: Int32Array
  rack: Int32Array
  orig: Int32Array
  special: Int32Array
  posOf: Int32Array
  disk: Float64Array
  pci: Int32Array
  removed: Int32Array
}

function viewsOf(buffer: ArrayBuffer, l: Layout): Views {
  const p = l.positions
  const i32 = (at: number, length: number) => new Int32Array(buffer, at, length)
  const f64 = (at: number, length: number) => new Float64Array(buffer, at, length)
  return {
    rows32: i32(l.rows, p * 12), rows64: f64(l.rows, p * 6), zone: i32(l.zone, p),
    rack: i32(l.rack, p), orig: i32(l.orig, p), special: i32(l.special, p),
    posOf: i32(l.posOf, l.hosts), disk: f64(l.disk, p * poolKinds.length),
    pci: i32(l.pci, p * pciSlots),
    removed: i32(l.removed, scanSlotCount + 1),
  }
}

/** Positions per domain (CSR: domain d's at [start[d], start[d + 1])). */
interface DomainIndex {
  readonly start: Int32Array
  readonly positions: Int32Array
}

/** Sets the anti-affinity flag of every position in the listed domains to `flag`. */
function markIn(list: ReadonlyArray<number>, csr: DomainIndex, rows32: Int32Array, flag: number) {
  for (const d of list) {
    for (let k = csr.start[d]!; k < csr.start[d + 1]!; k++) {
      rows32[i32Of(field.antiHost, csr.positions[k]!)] = flag
    }
  }
}

const isExact = (x: number) => Number.isInteger(x) && Math.abs(x) < exactBound

/** The WebAssembly scan: its instance, its memory and the index it mirrors. */
class WasmScan implements ScanKernel {
  readonly backend = "wasm" as const
  private readonly memory: LinearMemory
  private readonly scanFn: ScanFunction
  private readonly setLayout: LayoutFunction
  private readonly setSegments: LayoutFunction
  private layout: Layout | undefined
  private views: Views | undefined
  private source: ScanIndex | undefined
  /** The topology the layout was made for (zone and rack columns, domain indexes). */
  private topology: ScanInput | undefined
  private synced = 0
  private readonly slots: Array<PciColumn | undefined> = new Array(pciSlots).fill(undefined)
  private readonly slotUsed = new Float64Array(pciSlots)
  private calls = 0
  private readonly slotOf = new Int32Array(scanPciMax)
  /** Per position, 1 when its free vCPUs or RAM are not exact i32 values; and how many are. */
  private inexact = new Uint8Array(0)
  private inexactCount = 0
  /** Positions per rack and per zone. */
  private readonly domains: { rack: DomainIndex; zone: DomainIndex } = {
    rack: { start: new Int32Array(1), positions: new Int32Array(0) },
    zone: { start: new Int32Array(1), positions: new Int32Array(0) },
  }

  constructor(module: object) {
    const exports = instantiate(module)
    this.memory = new LinearMemory(memoryOf(exports), regionBase(exports))
    this.scanFn = exportedFunction<ScanFunction>(exports, "scan")
    this.setLayout = exportedFunction<LayoutFunction>(exports, "setLayout")
    this.setSegments = exportedFunction<LayoutFunction>(exports, "setSegments")
  }

  scan(input: ScanInput, request: ScanRequest, out: ScanResult): void {
    checkScanRequest(input, request)
    const n = input.index.up.length
    const v = this.ready(n)
    this.sync(input, v)
    const l = this.layout!
    this.calls++
    for (let k = 0; k < request.pci.length; k++) this.slotOf[k] = this.slotFor(request.pci[k]!, v)
    this.markDomains(request, v, -1)
    const pciCount = request.pci.length
    const columnBytes = l.positions * 4
    const counts = request.pciCounts
    const zones = request.antiZones.length
    let best: number
    try {
      best = this.scanFn(n, request.vcpus, request.ramMb, request.zone, request.diskMb,
        request.diskColumn, pciCount,
        pciCount > 0 ? l.pci + this.slotOf[0]! * columnBytes : 0, pciCount > 0 ? counts[0]! : 0,
        pciCount > 1 ? l.pci + this.slotOf[1]! * columnBytes : 0, pciCount > 1 ? counts[1]! : 0,
        pciCount > 2 ? l.pci + this.slotOf[2]! * columnBytes : 0, pciCount > 2 ? counts[2]! : 0,
        pciCount > 3 ? l.pci + this.slotOf[3]! * columnBytes : 0, pciCount > 3 ? counts[3]! : 0,
        request.affinityHost, request.affinityRack, request.affinityZone,
        request.antiHosts.length + request.antiRacks.length + request.antiZones.length > 0 ? 1 : 0,
        zones > 0 ? request.antiZones[0]! : -1,
        zones > 0 ? request.antiZones[zones > 1 ? 1 : 0]! : -1,
        request.sign, request.policyWeight, request.specialWeight,
        this.inexactCount === 0 ? 1 : 0)
    } finally {
      this.markDomains(request, v, 0)
    }
    for (let k = 0; k < scanSlotCount; k++) out.removed[k] = v.removed[k]!
    out.count = v.removed[scanSlotCount]!
    // Candidates whose scores are all NaN (a zero capacity) leave no best, as in the reference.
    if (best < -1 || best >= n || (out.count === 0 && best !== -1)) {
      throw new Error(`scan kernel returned host ${best} with ${out.count} candidates`)
    }
    out.best = best
  }

  /** The views for `hosts` hosts (laid out again, and memory grown, when the count changes). */
  private ready(hosts: number): Views {
    const l = this.layout
    if (l !== undefined && l.hosts === hosts &&
      this.views!.rows32.buffer === this.memory.buffer) return this.views!
    if (l === undefined || l.hosts !== hosts) {
      const next = layoutOf(this.memory.base, hosts)
      this.memory.reserve(next.end)
      this.setLayout(next.positions, next.rows, next.zone, next.rack, next.orig, next.special,
        next.posOf, next.disk, next.removed)
      this.layout = next
      this.source = undefined
      this.slots.fill(undefined)
      this.inexact = new Uint8Array(next.positions)
    }
    this.views = viewsOf(this.memory.buffer, this.layout!)
    for (let p = 0; p < this.layout!.positions; p++) this.views.rows32[i32Of(field.antiHost, p)] = 0
    return this.views
  }

  /**
   * Sets (-1) or clears (0) the anti-affinity flag of every position in the request's forbidden
   * racks (and zones, beyond two), and of its forbidden hosts (one flag: the filter counts them
   * all alike).
   */
  private markDomains(request: ScanRequest, v: Views, flag: number): void {
    const rows32 = v.rows32
    for (const h of request.antiHosts) rows32[i32Of(field.antiHost, v.posOf[h]!)] = flag
    if (request.antiRacks.length > 0) markIn(request.antiRacks, this.domains.rack, rows32, flag)
    // The kernel compares the first two forbidden zones itself (a zone is ~1/4 of the hosts).
    if (request.antiZones.length > 2) markIn(request.antiZones, this.domains.zone, rows32, flag)
  }

  /** Positions per domain of `domainOf` (ids outside [0, count) belong to none). */
  private static domainIndex(domainOf: Int32Array, count: number, posOf: Int32Array): DomainIndex {
    const start = new Int32Array(count + 1)
    for (let i = 0; i < domainOf.length; i++) {
      const d = domainOf[i]!
      if (d >= 0 && d < count) start[d + 1]!++
    }
    for (let d = 0; d < count; d++) start[d + 1]! += start[d]!
    const next = start.slice(0, count)
    const positions = new Int32Array(start[count]!)
    for (let i = 0; i < domainOf.length; i++) {
      const d = domainOf[i]!
      if (d >= 0 && d < count) positions[next[d]!++] = posOf[i]!
    }
    return { start, positions }
  }

  /** Brings the mirrored columns up to `input.index`. */
  private sync(input: ScanInput, v: Views): void {
    const index = input.index
    const t = this.topology
    if (this.source !== index || index.version - this.synced > changeLogCapacity ||
      t === undefined || (t !== input && (t.rackOf !== input.rackOf ||
        t.zoneOf !== input.zoneOf || t.rackCount !== input.rackCount ||
        t.zoneCount !== input.zoneCount))) {
      this.copyAll(input, v)
      return
    }
    for (let s = this.synced; s < index.version; s++) {
      const i = index.changeLog[s % changeLogCapacity]!
      this.copyHost(index, v, i, v.posOf[i]!)
    }
    this.synced = index.version
  }

  /** Lays every host out again (class groups, padding) and copies all of its columns. */
  private copyAll(input: ScanInput, v: Views): void {
    const index = input.index
    const n = index.up.length
    const classOf = (i: number) => {
      const c = index.special[i]!
      return c === 0 ? 0 : c === 1 ? 1 : 2
    }
    const sizes = [0, 0, 0]
    for (let i = 0; i < n; i++) sizes[classOf(i)]!++
    const pad = (k: number) => Math.ceil(k / 4) * 4
    const starts = [0, pad(sizes[0]!), pad(sizes[0]!) + pad(sizes[1]!)]
    this.setSegments(starts[0]!, sizes[0]!, starts[1]!, sizes[1]!, starts[2]!, sizes[2]!)
    // Padding: down, no host, no devices.
    v.rows32.fill(0)
    v.rows64.fill(0)
    v.orig.fill(-1)
    v.pci.fill(0)
    this.inexact.fill(0)
    this.inexactCount = 0
    this.slots.fill(undefined)
    const next = starts.slice()
    for (let i = 0; i < n; i++) {
      const p = next[classOf(i)]!++
      v.orig[p] = i
      v.special[p] = index.special[i]!
      v.posOf[i] = p
      v.zone[p] = input.zoneOf[i]!
      v.rack[p] = input.rackOf[i]!
      v.rows64[f64Of(field.vcpuInv, p)] = index.vcpuCapacityInv[i]!
      v.rows64[f64Of(field.ramInv, p)] = index.ramCapacityInv[i]!
      this.copyHost(index, v, i, p)
    }
    this.topology = input
    this.domains.rack = WasmScan.domainIndex(input.rackOf, input.rackCount, v.posOf)
    this.domains.zone = WasmScan.domainIndex(input.zoneOf, input.zoneCount, v.posOf)
    this.source = index
    this.synced = index.version
  }

  /** Copies the changing columns of host `i` to its position `p`. */
  private copyHost(index: ScanIndex, v: Views, i: number, p: number): void {
    const n = index.up.length
    const cap = this.layout!.positions
    const fv = index.freeVcpus[i]!
    const fr = index.freeRamMb[i]!
    const rows32 = v.rows32
    const rows64 = v.rows64
    rows32[i32Of(field.up, p)] = index.up[i] === 0 ? 0 : -1
    rows64[f64Of(field.freeVcpus, p)] = fv
    rows64[f64Of(field.freeRam, p)] = fr
    const inexact = isExact(fv) && isExact(fr) ? 0 : 1
    this.inexactCount += inexact - this.inexact[p]!
    this.inexact[p] = inexact
    rows32[i32Of(field.freeVcpusI, p)] = inexact === 0 ? fv : 0
    rows32[i32Of(field.freeRamI, p)] = inexact === 0 ? fr : 0
    for (let k = 0; k < poolKinds.length; k++) v.disk[k * cap + p] = index.maxFreeDiskMb[k * n + i]!
    for (let s = 0; s < pciSlots; s++) {
      const column = this.slots[s]
      if (column !== undefined) v.pci[s * cap + p] = column.free[i]!
    }
  }

  /** The slot holding `column`, copying it whole into the least recently used slot if new. */
  private slotFor(column: PciColumn, v: Views): number {
    let oldest = 0
    for (let s = 0; s < pciSlots; s++) {
      if (this.slots[s] === column) {
        this.slotUsed[s] = this.calls
        return s
      }
      if (this.slotUsed[s]! < this.slotUsed[oldest]!) oldest = s
    }
    this.slots[oldest] = column
    this.slotUsed[oldest] = this.calls
    const at = oldest * this.layout!.positions
    const free = column.free
    const posOf = v.posOf
    for (let i = 0; i < free.length; i++) v.pci[at + posOf[i]!] = free[i]!
    return oldest
  }
}

/** A new WebAssembly scan backend over a compiled module, with its own memory. */
export function wasmScan(module: object): ScanKernel {
  return new WasmScan(module)
}
