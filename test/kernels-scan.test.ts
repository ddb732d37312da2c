// Parity of the placement scan backends: on random host columns, requests and rules, the
// WebAssembly scan and the TypeScript reference choose the same host and count the same
// rejections, also while the columns change between scans (the wasm mirror follows the change
// log) and when the mirror must start over (a new index, a log overrun).
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { changeLogCapacity, type PciColumn, type ScanIndex } from "../core/cluster/scan.ts"
import { referenceScan } from "../core/kernels/scan-reference.ts"
import { newScanKernel } from "../core/kernels/scan-select.ts"
import {
  newScanResult, type ScanInput, type ScanRequest, scanSlotCount,
} from "../core/kernels/scan-types.ts"
import { scanWasmModule } from "../core/kernels/scan-wasm.ts"

interface HostRow {
  up: boolean; zone: number; rack: number; freeVcpus: number; freeRamMb: number
  vcpuCap: number; ramCap: number; disk: [number, number, number]; special: number
  pci: [number, number]
}

const hostRow: fc.Arbitrary<HostRow> = fc.record({
  up: fc.integer({ min: 0, max: 9 }).map((x) => x > 0),
  zone: fc.integer({ min: 0, max: 2 }),
  rack: fc.integer({ min: 0, max: 4 }),
  freeVcpus: fc.integer({ min: -2, max: 16 }),
  freeRamMb: fc.integer({ min: -1024, max: 16384 }),
  vcpuCap: fc.integer({ min: 1, max: 16 }),
  ramCap: fc.integer({ min: 1024, max: 16384 }),
  disk: fc.tuple(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 100 }),
    fc.integer({ min: 0, max: 100 })),
  special: fc.integer({ min: 0, max: 2 }),
  pci: fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 })),
})

function inputOf(rows: ReadonlyArray<HostRow>): { input: ScanInput; pci: PciColumn[] } {
  const n = rows.length
  const index: ScanIndex = {
    up: Uint8Array.from(rows, (r) => (r.up ? 1 : 0)),
    freeVcpus: Float64Array.from(rows, (r) => r.freeVcpus),
    freeRamMb: Float64Array.from(rows, (r) => r.freeRamMb),
    vcpuCapacity: Float64Array.from(rows, (r) => r.vcpuCap),
    ramCapacityMb: Float64Array.from(rows, (r) => r.ramCap),
    vcpuCapacityInv: Float64Array.from(rows, (r) => 1 / r.vcpuCap),
    ramCapacityInv: Float64Array.from(rows, (r) => 1 / r.ramCap),
    maxFreeDiskMb: Float64Array.from({ length: 3 * n },
      (_, k) => rows[k % n]!.disk[Math.floor(k / n)]!),
    special: Int32Array.from(rows, (r) => r.special),
    anySpecial: rows.some((r) => r.special > 0),
    anyZeroCapacity: false,
    pci: new Map(),
    changeLog: new Int32Array(changeLogCapacity),
    version: 0,
    owner: undefined,
  }
  const pci = [0, 1].map((k) => ({ key: `k${k}`, spec: [], pools: [],
    free: Int32Array.from(rows, (r) => r.pci[k]!) }))
  return {
    input: { index, rackOf: Int32Array.from(rows, (r) => r.rack),
      zoneOf: Int32Array.from(rows, (r) => r.zone), rackCount: 5, zoneCount: 3 },
    pci,
  }
}

const domain = (max: number) => fc.oneof(fc.constant(-1), fc.constant(-1), fc.constant(-2),
  fc.integer({ min: 0, max }))

const requestShape = fc.record({
  vcpus: fc.integer({ min: 0, max: 12 }),
  ramMb: fc.integer({ min: 0, max: 12288 }),
  zone: fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 2 })),
  diskMb: fc.integer({ min: 1, max: 100 }),
  diskColumn: fc.integer({ min: -1, max: 3 }),
  pciUse: fc.integer({ min: 0, max: 2 }),
  pciCounts: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
  affinityHost: domain(7), affinityRack: domain(4), affinityZone: domain(2),
  antiHosts: fc.array(fc.integer({ min: 0, max: 7 }), { maxLength: 4 }),
  antiRacks: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 2 }),
  antiZones: fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 1 }),
  sign: fc.constantFrom(1, -1, 0),
  policyWeight: fc.constantFrom(1, 0.5, 3),
  specialWeight: fc.constantFrom(0, 2, 1),
})

type RequestShape = typeof requestShape extends fc.Arbitrary<infer T> ? T : never

function requestOf(shape: RequestShape, pci: PciColumn[], hosts: number): ScanRequest {
  const { pciUse, pciCounts, antiHosts, ...rest } = shape
  return { ...rest, pci: pci.slice(0, pciUse), pciCounts: pciCounts.slice(0, pciUse),
    antiHosts: antiHosts.filter((h) => h < hosts),
    affinityHost: rest.affinityHost >= hosts ? -2 : rest.affinityHost }
}

/**
 * The general path's choice, written out naively: every host through every filter in order, the
 * resource score, the special-hardware term normalised over the candidates, the first maximum.
 */
function oracle(input: ScanInput, req: ScanRequest): number {
  const x = input.index
  const n = x.up.length
  const anti = (i: number) => req.antiHosts.includes(i) ||
    req.antiRacks.includes(input.rackOf[i]!) || req.antiZones.includes(input.zoneOf[i]!)
  const candidates: Array<{ i: number; r: number; s: number }> = []
  for (let i = 0; i < n; i++) {
    const disks = [0, 1, 2].map((k) => x.maxFreeDiskMb[k * n + i]!)
    const free = req.diskColumn === 3 ? Math.max(...disks) : disks[req.diskColumn] ?? Infinity
    const ok = x.up[i] === 1 && (req.zone === -1 || input.zoneOf[i] === req.zone) &&
      x.freeVcpus[i]! >= req.vcpus && x.freeRamMb[i]! >= req.ramMb &&
      (req.diskColumn < 0 || free >= req.diskMb) &&
      req.pci.every((c, k) => c.free[i]! >= req.pciCounts[k]!) &&
      (req.affinityHost === -1 || req.affinityHost === i) &&
      (req.affinityRack === -1 || req.affinityRack === input.rackOf[i]) &&
      (req.affinityZone === -1 || req.affinityZone === input.zoneOf[i]) && !anti(i)
    if (!ok) continue
    const r = req.sign * (2 - (x.freeVcpus[i]! - req.vcpus) * x.vcpuCapacityInv[i]! -
      (x.freeRamMb[i]! - req.ramMb) * x.ramCapacityInv[i]!)
    candidates.push({ i, r, s: -x.special[i]! })
  }
  if (candidates.length === 0) return -1
  const rs = candidates.map((c) => c.r), ss = candidates.map((c) => c.s)
  const [rMin, rMax, sMin, sMax] = [Math.min(...rs), Math.max(...rs), Math.min(...ss),
    Math.max(...ss)]
  const scores = req.specialWeight === 0 || sMax === sMin ? rs : candidates.map((c) =>
    (c.r - rMin) * (rMax === rMin ? 0 : req.policyWeight / (rMax - rMin)) +
    (c.s - sMin) * (req.specialWeight / (sMax - sMin)))
  let best = 0
  for (let k = 1; k < scores.length; k++) if (scores[k]! > scores[best]!) best = k
  return candidates[best]!.i
}

const hasWasm = scanWasmModule().ok

describe("placement scan: the reference chooses what the general path's sums choose", () => {
  const ts = referenceScan()
  const a = newScanResult()

  it("on random columns and requests", () => {
    fc.assert(fc.property(fc.array(hostRow, { minLength: 0, maxLength: 8 }), requestShape,
      (rows, shape) => {
        const { input, pci } = inputOf(rows)
        const request = requestOf(shape, pci, rows.length)
        ts.scan(input, request, a)
        expect(a.best).toBe(oracle(input, request))
      }))
  })

  it("when rounding ties a class's runner-up with its best (the exact second pass)", () => {
    const row = (fv: number, special: number): HostRow => ({ up: true, zone: 0, rack: 0,
      freeVcpus: fv, freeRamMb: 0, vcpuCap: 1, ramCap: 1, disk: [0, 0, 0], special,
      pci: [0, 0] })
    const request: ScanRequest = { vcpus: 0, ramMb: 0, zone: -1, diskMb: 1, diskColumn: -1,
      pci: [], pciCounts: [], affinityHost: -1, affinityRack: -1, affinityZone: -1,
      antiHosts: [], antiRacks: [], antiZones: [], sign: 1, policyWeight: 0.7, specialWeight: 2 }
    let ties = 0
    for (let k = 1; k < 400 && ties < 5; k++) {
      const low = 0.3 + k * 2 ** -52
      const high = low - 2 ** -54
      const { input } = inputOf([row(low, 0), row(high, 0), row(1.9 + k * 1e-9, 1)])
      const x = input.index
      const r = [0, 1, 2].map((i) => 2 - x.freeVcpus[i]! * x.vcpuCapacityInv[i]!)
      const rMin = Math.min(...r), scale = 0.7 / (Math.max(...r) - rMin)
      if (r[1]! > r[0]! && (r[0]! - rMin) * scale + 2 === (r[1]! - rMin) * scale + 2) {
        ties++
        ts.scan(input, request, a)
        expect(a.best).toBe(0)
        expect(a.best).toBe(oracle(input, request))
        if (hasWasm) {
          newScanKernel("wasm").scan(input, request, a)
          expect(a.best).toBe(0)
        }
      }
    }
    expect(ties).toBeGreaterThan(0)
  })
})

describe.skipIf(!hasWasm)("placement scan: WebAssembly equals the TypeScript reference", () => {
  const ts = referenceScan()
  const wasm = newScanKernel("wasm")
  const a = newScanResult()
  const b = newScanResult()

  it("chooses the same host and counts the same rejections", () => {
    fc.assert(fc.property(fc.array(hostRow, { minLength: 0, maxLength: 8 }), requestShape,
      (rows, shape) => {
        const { input, pci } = inputOf(rows)
        const request = requestOf(shape, pci, rows.length)
        ts.scan(input, request, a)
        wasm.scan(input, request, b)
        expect(b.best).toBe(a.best)
        expect(b.count).toBe(a.count)
        expect([...b.removed]).toEqual([...a.removed])
        const removed = a.removed.reduce((s, x) => s + x, 0)
        expect(removed + a.count).toBe(rows.length)
        expect(wasm.backend).toBe("wasm")
      }))
  })

  it("stays equal while hosts change between scans (the mirror follows the change log)", () => {
    fc.assert(fc.property(fc.array(hostRow, { minLength: 1, maxLength: 8 }), requestShape,
      fc.array(fc.tuple(fc.nat(), hostRow), { maxLength: 6 }), fc.boolean(),
      (rows, shape, edits, overrun) => {
        const { input, pci } = inputOf(rows)
        const request = requestOf(shape, pci, rows.length)
        wasm.scan(input, request, b)
        const index = input.index
        for (const [at, row] of edits) {
          const i = at % rows.length
          index.up[i] = row.up ? 1 : 0
          index.freeVcpus[i] = row.freeVcpus
          index.freeRamMb[i] = row.freeRamMb
          index.maxFreeDiskMb[rows.length + i] = row.disk[1]
          pci[0]!.free[i] = row.pci[0]
          index.changeLog[index.version % changeLogCapacity] = i
          index.version += overrun ? changeLogCapacity + 1 : 1
        }
        ts.scan(input, request, a)
        wasm.scan(input, request, b)
        expect(b.best).toBe(a.best)
        expect([...b.removed]).toEqual([...a.removed])
      }))
  })

  it("rejects a request it cannot check before the kernel runs", () => {
    const { input, pci } = inputOf([{ up: true, zone: 0, rack: 0, freeVcpus: 1, freeRamMb: 1,
      vcpuCap: 1, ramCap: 1, disk: [0, 0, 0], special: 0, pci: [0, 0] }])
    const base: ScanRequest = { vcpus: 0, ramMb: 0, zone: -1, diskMb: 0, diskColumn: -1, pci: [],
      pciCounts: [], affinityHost: -1, affinityRack: -1, affinityZone: -1, antiHosts: [],
      antiRacks: [], antiZones: [], sign: 1, policyWeight: 1, specialWeight: 0 }
    for (const k of [ts, wasm]) {
      expect(() => k.scan(input, { ...base, antiHosts: [1] }, a)).toThrow(/hosts \[1\] of 1/)
      expect(() => k.scan(input, { ...base, antiRacks: [5] }, a)).toThrow(/racks \[5\] of 5/)
      expect(() => k.scan(input, { ...base, pci: pci.slice(0, 1) }, a)).toThrow(/counts/)
      k.scan(input, base, a)
      expect(a).toMatchObject({ best: 0, count: 1 })
      expect(a.removed).toHaveLength(scanSlotCount)
    }
  })
})
