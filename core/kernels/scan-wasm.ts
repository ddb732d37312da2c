/**
 * The WebAssembly backend of the placement scan. The wrapper owns the instance's linear memory:
 * every column the kernel reads lives there (preallocated for the inventory's hosts, racks and
 * zones; views remade only after `memory.grow`). It mirrors one `ScanIndex` at a time: a new
 * index is copied whole, after that only the hosts in the index's change log since the last scan
 * are rewritten. PCI columns go to `pciSlots` slots, copied whole when first used. Nothing is
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
  affinityZone: number, anti: number, antiDomains: number, sign: number, policyWeight: number,
  specialWeight: number) => number
type LayoutFunction = (...offsets: number[]) => void

interface Layout {
  readonly hosts: number
  readonly racks: number
  readonly zones: number
  readonly up: number
  readonly zone: number
  readonly rack: number
  readonly freeVcpus: number
  readonly freeRam: number
  readonly vcpuInv: number
  readonly ramInv: number
  readonly disk: number
  readonly special: number
  readonly pci: number
  readonly antiHost: number
  readonly antiRack: number
  readonly antiZone: number
  readonly removed: number
  readonly end: number
}

function layoutOf(base: number, hostsWanted: number, racks: number, zones: number): Layout {
  const hosts = hostsWanted + (hostsWanted % 2)
  let at = base
  const region = (bytes: number) => {
    const start = at
    at += alignUp(Math.max(bytes, 8))
    return start
  }
  return {
    hosts, racks, zones,
    up: region(hosts * 4), zone: region(hosts * 4), rack: region(hosts * 4),
    freeVcpus: region(hosts * 8), freeRam: region(hosts * 8), vcpuInv: region(hosts * 8),
    ramInv: region(hosts * 8), disk: region(hosts * 8 * poolKinds.length),
    special: region(hosts * 4), pci: region(hosts * 4 * pciSlots), antiHost: region(hosts * 4),
    antiRack: region(racks), antiZone: region(zones), removed: region((scanSlotCount + 1) * 4),
    get end() { return at },
  }
}

/** Typed views over the layout (remade after growth). */
interface Views {
  up: Int32Array
  zone: Int32Array
  rack: Int32Array
  freeVcpus: Float64Array
  freeRam: Float64Array
  vcpuInv: Float64Array
  ramInv: Float64Array
  disk: Float64Array
  special: Int32Array
  pci: Int32Array
  antiHost: Int32Array
  antiRack: Uint8Array
  antiZone: Uint8Array
  removed: Int32Array
}

function viewsOf(buffer: ArrayBuffer, l: Layout): Views {
  const n = l.hosts
  return {
    up: new Int32Array(buffer, l.up, n), zone: new Int32Array(buffer, l.zone, n),
    rack: new Int32Array(buffer, l.rack, n), freeVcpus: new Float64Array(buffer, l.freeVcpus, n),
    freeRam: new Float64Array(buffer, l.freeRam, n),
    vcpuInv: new Float64Array(buffer, l.vcpuInv, n),
    ramInv: new Float64Array(buffer, l.ramInv, n),
    disk: new Float64Array(buffer, l.disk, n * poolKinds.length),
    special: new Int32Array(buffer, l.special, n),
    pci: new Int32Array(buffer, l.pci, n * pciSlots),
    antiHost: new Int32Array(buffer, l.antiHost, n), antiRack: new Uint8Array(buffer, l.antiRack,
      l.racks), antiZone: new Uint8Array(buffer, l.antiZone, l.zones),
    removed: new Int32Array(buffer, l.removed, scanSlotCount + 1),
  }
}

/** The WebAssembly scan: its instance, its memory and the index it mirrors. */
class WasmScan implements ScanKernel {
  readonly backend = "wasm" as const
  private readonly memory: LinearMemory
  private readonly scanFn: ScanFunction
  private readonly setLayout: LayoutFunction
  private layout: Layout | undefined
  private views: Views | undefined
  private source: ScanIndex | undefined
  private synced = 0
  private readonly slots: Array<PciColumn | undefined> = new Array(pciSlots).fill(undefined)
  private readonly slotUsed = new Float64Array(pciSlots)
  private calls = 0
  private readonly slotOf = new Int32Array(scanPciMax)

  constructor(module: object) {
    const exports = instantiate(module)
    this.memory = new LinearMemory(memoryOf(exports), regionBase(exports))
    this.scanFn = exportedFunction<ScanFunction>(exports, "scan")
    this.setLayout = exportedFunction<LayoutFunction>(exports, "setLayout")
  }

  scan(input: ScanInput, request: ScanRequest, out: ScanResult): void {
    checkScanRequest(input, request)
    const n = input.index.up.length
    const v = this.ready(n, input.rackCount, input.zoneCount)
    this.sync(input, v)
    const l = this.layout!
    this.calls++
    for (let k = 0; k < request.pci.length; k++) this.slotOf[k] = this.slotFor(request.pci[k]!, v)
    for (const h of request.antiHosts) v.antiHost[h] = 1
    for (const r of request.antiRacks) v.antiRack[r] = 1
    for (const z of request.antiZones) v.antiZone[z] = 1
    const pciCount = request.pci.length
    const columnBytes = l.hosts * 4
    const counts = request.pciCounts
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
        request.antiRacks.length + request.antiZones.length > 0 ? 1 : 0,
        request.sign, request.policyWeight, request.specialWeight)
    } finally {
      for (const h of request.antiHosts) v.antiHost[h] = 0
      for (const r of request.antiRacks) v.antiRack[r] = 0
      for (const z of request.antiZones) v.antiZone[z] = 0
    }
    for (let k = 0; k < scanSlotCount; k++) out.removed[k] = v.removed[k]!
    out.count = v.removed[scanSlotCount]!
    if (best < -1 || best >= n || (best === -1) !== (out.count === 0)) {
      throw new Error(`scan kernel returned host ${best} with ${out.count} candidates`)
    }
    out.best = best
  }

  /** The views for at least `hosts` hosts, `racks` racks and `zones` zones (growing if needed). */
  private ready(hosts: number, racks: number, zones: number): Views {
    const l = this.layout
    if (l !== undefined && l.hosts >= hosts && l.racks >= racks && l.zones >= zones &&
      this.views!.up.buffer === this.memory.buffer) return this.views!
    if (l === undefined || l.hosts < hosts || l.racks < racks || l.zones < zones) {
      const next = layoutOf(this.memory.base, Math.max(hosts, l?.hosts ?? 0),
        Math.max(racks, l?.racks ?? 0), Math.max(zones, l?.zones ?? 0))
      this.memory.reserve(next.end)
      this.setLayout(next.hosts, next.up, next.zone, next.rack, next.freeVcpus, next.freeRam,
        next.vcpuInv, next.ramInv, next.disk, next.special, next.antiHost, next.antiRack,
        next.antiZone, next.removed)
      this.layout = next
      this.source = undefined
      this.slots.fill(undefined)
    }
    this.views = viewsOf(this.memory.buffer, this.layout!)
    this.views.antiHost.fill(0)
    this.views.antiRack.fill(0)
    this.views.antiZone.fill(0)
    return this.views
  }

  /** Brings the mirrored columns up to `input.index`. */
  private sync(input: ScanInput, v: Views): void {
    const index = input.index
    if (this.source !== index || index.version - this.synced > changeLogCapacity) {
      this.copyAll(input, v)
      return
    }
    for (let s = this.synced; s < index.version; s++) {
      this.copyHost(index, v, index.changeLog[s % changeLogCapacity]!)
    }
    this.synced = index.version
  }

  private copyAll(input: ScanInput, v: Views): void {
    const index = input.index
    const n = index.up.length
    const cap = this.layout!.hosts
    v.up.set(index.up)
    v.zone.set(input.zoneOf)
    v.rack.set(input.rackOf)
    v.freeVcpus.set(index.freeVcpus)
    v.freeRam.set(index.freeRamMb)
    v.vcpuInv.set(index.vcpuCapacityInv)
    v.ramInv.set(index.ramCapacityInv)
    for (let k = 0; k < poolKinds.length; k++) {
      v.disk.set(index.maxFreeDiskMb.subarray(k * n, (k + 1) * n), k * cap)
    }
    v.special.set(index.special)
    this.slots.fill(undefined)
    this.source = index
    this.synced = index.version
  }

  private copyHost(index: ScanIndex, v: Views, i: number): void {
    const n = index.up.length
    const cap = this.layout!.hosts
    v.up[i] = index.up[i]!
    v.freeVcpus[i] = index.freeVcpus[i]!
    v.freeRam[i] = index.freeRamMb[i]!
    for (let k = 0; k < poolKinds.length; k++) v.disk[k * cap + i] = index.maxFreeDiskMb[k * n + i]!
    for (let s = 0; s < pciSlots; s++) {
      const column = this.slots[s]
      if (column !== undefined) v.pci[s * cap + i] = column.free[i]!
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
    v.pci.set(column.free, oldest * this.layout!.hosts)
    return oldest
  }
}

/** A new WebAssembly scan backend over a compiled module, with its own memory. */
export function wasmScan(module: object): ScanKernel {
  return new WasmScan(module)
}
