// Parity of the placement scan backends on the edges of the WebAssembly kernel's fast path: more
// hosts than one step per class (lanes merged, host counts not a multiple of 4), classes other
// than 0 and 1 (the reference's "anything else" class), free vCPUs or RAM that are not exact i32
// values (the kernel's f64 path, also when a change log edit switches a host back and forth),
// requests whose vCPUs, RAM or PCI counts are fractional, negative, NaN or beyond 2^30 or 2^31,
// disks of every kind against NaN or fractional free space and sizes,
// hosts whose score is NaN or infinite (zero capacity), and weights of 0.
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { changeLogCapacity, type PciColumn, type ScanIndex } from "../core/cluster/scan.ts"
import { referenceScan } from "../core/kernels/scan-reference.ts"
import { newScanKernel } from "../core/kernels/scan-select.ts"
import { newScanResult, type ScanInput, type ScanRequest } from "../core/kernels/scan-types.ts"
import { scanWasmModule } from "../core/kernels/scan-wasm.ts"

const hasWasm = scanWasmModule().ok

/** A free amount the kernel's i32 columns cannot hold. */
const inexact = fc.constantFrom(0.5, 7.25, 2 ** 30, -(2 ** 30), 2 ** 31 + 1)
/** A free amount: mostly small integers (ties), sometimes one the i32 columns cannot hold. */
const amount = (max: number) => fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: -2, max }) },
  { weight: 1, arbitrary: inexact },
)

const hostRow = fc.record({
  up: fc.integer({ min: 0, max: 9 }).map((x) => x > 0),
  zone: fc.integer({ min: 0, max: 1 }),
  rack: fc.integer({ min: 0, max: 2 }),
  freeVcpus: fc.integer({ min: -2, max: 8 }),
  freeRamMb: fc.integer({ min: -2, max: 64 }),
  // 1/0 is Infinity: a zero-capacity host scores NaN (0 * Infinity) or ±Infinity.
  vcpuInv: fc.oneof({ weight: 40, arbitrary: fc.constantFrom(1, 0.5, 0.25, 0.125) },
    { weight: 1, arbitrary: fc.constant(Infinity) }),
  ramInv: fc.constantFrom(1 / 64, 1 / 32, 1 / 48),
  disk: fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0, max: 4 }) },
    { weight: 1, arbitrary: fc.constantFrom(Number.NaN, 2.5, -1) }),
  special: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 2 }) },
    { weight: 1, arbitrary: fc.constant(3) }),
  pci: fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 })),
})
type HostRow = typeof hostRow extends fc.Arbitrary<infer T> ? T : never

function inputOf(rows: ReadonlyArray<HostRow>): { input: ScanInput; pci: PciColumn[] } {
  const n = rows.length
  const index: ScanIndex = {
    up: Uint8Array.from(rows, (r) => (r.up ? 1 : 0)),
    freeVcpus: Float64Array.from(rows, (r) => r.freeVcpus),
    freeRamMb: Float64Array.from(rows, (r) => r.freeRamMb),
    vcpuCapacity: Float64Array.from(rows, (r) => 1 / r.vcpuInv),
    ramCapacityMb: Float64Array.from(rows, (r) => 1 / r.ramInv),
    vcpuCapacityInv: Float64Array.from(rows, (r) => r.vcpuInv),
    ramCapacityInv: Float64Array.from(rows, (r) => r.ramInv),
    maxFreeDiskMb: Float64Array.from({ length: 3 * n }, (_, k) => rows[k % n]!.disk + (k % 3)),
    special: Int32Array.from(rows, (r) => r.special),
    anySpecial: rows.some((r) => r.special > 0),
    anyZeroCapacity: rows.some((r) => r.vcpuInv === Infinity),
    pci: new Map(),
    changeLog: new Int32Array(changeLogCapacity),
    version: 0,
    owner: undefined,
  }
  const pci = [0, 1].map((k) => ({ key: `e${k}`, spec: [], pools: [],
    free: Int32Array.from(rows, (r) => r.pci[k]!) }))
  return {
    input: { index, rackOf: Int32Array.from(rows, (r) => r.rack),
      zoneOf: Int32Array.from(rows, (r) => r.zone), rackCount: 3, zoneCount: 2 },
    pci,
  }
}

/** A requested amount: usually an integer, sometimes one the kernel must round or clamp. */
const asked = (max: number) => fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max }) },
  { weight: 1, arbitrary: fc.constantFrom(0.5, 1.5, -3, Number.NaN, 2 ** 30 - 0.5, 2 ** 30,
    2 ** 31 + 5, -(2 ** 31) - 5, -Infinity, Infinity) },
)

const requestShape = fc.record({
  vcpus: asked(6),
  ramMb: asked(48),
  zone: fc.constantFrom(-1, -1, 0, 1, -2),
  diskColumn: fc.constantFrom(-1, -1, 0, 1, 3),
  diskMb: fc.constantFrom(3, 3, 0, 2.5, Number.NaN),
  pciUse: fc.integer({ min: 0, max: 2 }),
  pciCounts: fc.tuple(asked(3), asked(3)),
  affinityHost: fc.constantFrom(-1, -1, -1, 0, 5),
  affinityRack: fc.constantFrom(-1, -1, -1, 1),
  antiHosts: fc.array(fc.nat(), { maxLength: 6 }),
  antiRacks: fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 1 }),
  // Up to three forbidden zones (of two): the kernel compares two, the wrapper marks a third.
  antiZones: fc.array(fc.integer({ min: 0, max: 1 }), { maxLength: 3 }),
  sign: fc.constantFrom(1, -1, 0),
  policyWeight: fc.constantFrom(1, 0, 3),
  specialWeight: fc.constantFrom(0, 2, 1),
})
type RequestShape = typeof requestShape extends fc.Arbitrary<infer T> ? T : never

function requestOf(shape: RequestShape, pci: PciColumn[], hosts: number): ScanRequest {
  const { pciUse, pciCounts, antiHosts, diskColumn, ...rest } = shape
  return { ...rest, diskColumn, affinityZone: -1,
    pci: pci.slice(0, pciUse), pciCounts: pciCounts.slice(0, pciUse),
    antiHosts: hosts === 0 ? [] : antiHosts.map((h) => h % hosts),
    affinityHost: rest.affinityHost >= hosts ? -2 : rest.affinityHost }
}

describe.skipIf(!hasWasm)("placement scan: WebAssembly equals the reference on the edges", () => {
  const ts = referenceScan()
  const wasm = newScanKernel("wasm")
  const a = newScanResult()
  const b = newScanResult()
  const same = () => {
    expect(b.best).toBe(a.best)
    expect(b.count).toBe(a.count)
    expect([...b.removed]).toEqual([...a.removed])
  }

  it("on up to 40 hosts, with or without an inexact column, odd requests, NaN scores", () => {
    const spoilt = fc.option(fc.tuple(fc.nat(), inexact, fc.boolean()))
    fc.assert(fc.property(fc.array(hostRow, { maxLength: 40 }), requestShape, spoilt,
      (rows, shape, spoil) => {
      if (spoil !== null && rows.length > 0) {
        const row = rows[spoil[0] % rows.length]!
        if (spoil[2]) row.freeVcpus = spoil[1]
        else row.freeRamMb = spoil[1]
      }
      const { input, pci } = inputOf(rows)
      const request = requestOf(shape, pci, rows.length)
      ts.scan(input, request, a)
      wasm.scan(input, request, b)
      same()
      expect(a.removed.reduce((s, x) => s + x, 0) + a.count).toBe(rows.length)
    }))
  })

  it("while change log edits switch hosts between exact and inexact values", () => {
    fc.assert(fc.property(fc.array(hostRow, { minLength: 1, maxLength: 24 }), requestShape,
      fc.array(fc.tuple(fc.nat(), amount(8), amount(64), fc.boolean()), { maxLength: 8 }),
      (rows, shape, edits) => {
        const { input, pci } = inputOf(rows)
        const request = requestOf(shape, pci, rows.length)
        const index = input.index
        for (const [at, fv, fr, up] of edits) {
          const i = at % rows.length
          index.freeVcpus[i] = fv
          index.freeRamMb[i] = fr
          index.up[i] = up ? 1 : 0
          index.changeLog[index.version % changeLogCapacity] = i
          index.version++
          ts.scan(input, request, a)
          wasm.scan(input, request, b)
          same()
        }
      }))
  })

  it("when rounding ties a class's runner-up with its best, on integer free amounts", () => {
    // r = 2 - 1 * inv: the inverse capacities make the runner-up one ulp from the best.
    const row = (inv: number, special: number): HostRow => ({ up: true, zone: 0, rack: 0,
      freeVcpus: 1, freeRamMb: 0, vcpuInv: inv, ramInv: 1 / 64, disk: 0, special, pci: [0, 0] })
    const request: ScanRequest = { vcpus: 0, ramMb: 0, zone: -1, diskMb: 1, diskColumn: -1,
      pci: [], pciCounts: [], affinityHost: -1, affinityRack: -1, affinityZone: -1,
      antiHosts: [], antiRacks: [], antiZones: [], sign: 1, policyWeight: 0.7, specialWeight: 2 }
    let ties = 0
    for (let k = 1; k < 400 && ties < 5; k++) {
      const low = 0.3 + k * 2 ** -52
      const high = low - 2 ** -54
      const r = [low, high, 0.1 - k * 1e-9].map((inv) => 2 - inv)
      const rMin = Math.min(...r, 1.5), scale = 0.7 / (Math.max(...r) - rMin)
      if (r[1]! > r[0]! && (r[0]! - rMin) * scale + 2 === (r[1]! - rMin) * scale + 2) {
        ties++
        // The last host of special value 3: the reference's third class, which its second
        // pass scores with the value itself.
        for (const last of [1, 3]) {
          const { input } = inputOf([row(low, 0), row(high, 0), row(0.1 - k * 1e-9, 1),
            row(low, 0), row(0.5, last)])
          ts.scan(input, request, a)
          wasm.scan(input, request, b)
          if (last === 1) expect(a.best).toBe(0)
          same()
        }
      }
    }
    expect(ties).toBeGreaterThan(0)
  })

  it("on a cluster of thousands of hosts, every class, each lane's best and runner-up", () => {
    // Hosts with few distinct scores (ties across lanes and classes) and a best that moves.
    const rows: HostRow[] = []
    for (let i = 0; i < 2003; i++) {
      rows.push({ up: i % 97 !== 5, zone: i % 2, rack: i % 3, freeVcpus: (i * 7) % 9,
        freeRamMb: (i * 13) % 65, vcpuInv: 0.125, ramInv: 1 / 64, disk: i % 5,
        special: i % 11 === 0 ? 1 : i % 29 === 0 ? 2 : 0, pci: [i % 4, (i >> 2) % 4] })
    }
    const { input, pci } = inputOf(rows)
    fc.assert(fc.property(requestShape, (shape) => {
      const request = requestOf(shape, pci, rows.length)
      ts.scan(input, request, a)
      wasm.scan(input, request, b)
      same()
    }))
  })
})
