/**
 * Suite `kernels`: block diff and block hash throughput on 256 MiB images already in memory, every
 * ratio measured side by side in this run.
 * - Block diff: the WebAssembly SIMD kernel against whole-buffer `Buffer.equals` (native memcmp,
 *   the practical limit; target ≥ 0.9×) and against the TypeScript reference (target ≥ 3×), on
 *   two equal images (every byte must be read; the worst case for a diff).
 * - Block hash: xxHash64 per 4 KiB block in WebAssembly (target ≥ 3 GB/s), and the reference;
 *   XXH3-64 per block in WebAssembly (the replication hash list's fingerprint) on the same buffer
 *   in the same run, and the TypeScript backend's (32-bit halves).
 * GB/s counts bytes of one image per second (1 GB = 10^9 bytes). Each figure is given twice:
 * by wall clock (tinybench's mean throughput, the figure the targets are about) and by the
 * process's CPU time over the same calls, which a machine shared with other work disturbs less.
 * - Placement scan at 5,000 hosts (the placement benchmark's cluster after 10,000 placements, the
 *   next 200 requests of its sequence, under pack as the benchmark places them and under spread):
 *   the WebAssembly scan against the TypeScript reference, target ≥ 3×, rounds interleaved so
 *   both see the same machine.
 * The 1-minute load average at the start is recorded to show how shared the machine was.
 */
import { loadavg } from "node:os"
import { Result } from "effect"
import { type BlockKernels, referenceKernels, selectKernels } from "../../core/kernels/index.ts"
import { createCluster } from "../../core/cluster/index.ts"
import { referenceScan } from "../../core/kernels/scan-reference.ts"
import { newScanKernel } from "../../core/kernels/scan-select.ts"
import { newScanResult, type ScanKernel, type ScanRequest } from "../../core/kernels/scan-types.ts"
import { scanInputOf, scanRequestOf } from "../../core/placement/fast.ts"
import { defaultWeights, schedule } from "../../core/placement/index.ts"
import { inventory, requests, withGroups } from "../placement/speed.ts"
import { Bench, type BenchRecord, hz, record, runBench } from "../lib.ts"

const SUITE = "kernels"
const IMAGE_BYTES = 256 * 1024 * 1024
const GB = 1e9
/** Calls per task before measuring (lets V8 tier the kernels up to its optimising compiler). */
const WARMUP = 3

function wasm(): BlockKernels {
  const selection = selectKernels("wasm")
  if (Result.isFailure(selection)) throw new Error(selection.failure.message)
  return selection.success.kernels
}

function value<A>(r: Result.Result<A, { message: string }>): A {
  if (Result.isFailure(r)) throw new Error(r.failure.message)
  return r.success
}

/** Fills `bytes` with xorshift32 noise (deterministic, incompressible for a memcmp). */
function fillNoise(bytes: Uint8Array, seed: number): void {
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 2)
  let x = seed >>> 0 || 1
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5
    words[i] = x >>> 0
  }
}

const gbPerS = (opsPerS: number) => (opsPerS * IMAGE_BYTES) / GB

/** A task body that also accumulates the process CPU time it used, after `skipCalls` calls. */
class CpuMeter {
  private micros = 0
  private calls = 0
  private skipped = 0
  constructor(private readonly skipCalls: number) {}
  wrap(fn: () => void): () => void {
    return () => {
      const start = process.cpuUsage()
      fn()
      const used = process.cpuUsage(start)
      if (this.skipped < this.skipCalls) {
        this.skipped++
        return
      }
      this.micros += used.user + used.system
      this.calls++
    }
  }
  /** Image GB per CPU second over the calls measured (warm-up calls skipped). */
  gbPerCpuS(): number {
    if (this.calls === 0) throw new Error("no measured calls")
    return (this.calls * IMAGE_BYTES) / GB / (this.micros / 1e6)
  }
}

/** The wall-clock and CPU-time records of one measured case (the same target for both). */
function figures(name: string, wallGb: number, cpuGb: number, target?: number): BenchRecord[] {
  return [
    record(SUITE, name, wallGb, "GB/s", "higher", target),
    record(SUITE, `${name} (CPU time)`, cpuGb, "GB/s", "higher", target),
  ]
}

async function diffRecords(kernels: BlockKernels): Promise<BenchRecord[]> {
  const [a, b] = value(kernels.inputViews(IMAGE_BYTES, IMAGE_BYTES))
  fillNoise(a, 0x9e3779b9)
  b.set(a)
  const bufferA = Buffer.from(a.buffer, a.byteOffset, a.length)
  const bufferB = Buffer.from(b.buffer, b.byteOffset, b.length)
  const reference = referenceKernels()
  const bitmap = new Uint8Array(IMAGE_BYTES / 4096 / 8)
  const cpu = {
    wasm: new CpuMeter(WARMUP), equals: new CpuMeter(WARMUP), ts: new CpuMeter(WARMUP),
  }
  let sink = 0
  const bench = new Bench({ name: "block diff", time: 1500, iterations: 12,
    warmupIterations: WARMUP })
  bench.add("wasm", cpu.wasm.wrap(() => { sink += value(kernels.diffBlocksInto(a, b, bitmap)) }))
  bench.add("Buffer.equals", cpu.equals.wrap(() => { sink += bufferA.equals(bufferB) ? 0 : 1 }))
  bench.add("ts", cpu.ts.wrap(() => { sink += value(reference.diffBlocksInto(a, b, bitmap)) }))
  const [wasmTask, equalsTask, tsTask] = await runBench(bench)
  if (sink !== 0) throw new Error("equal images reported changed blocks")
  const wall = {
    wasm: gbPerS(hz(wasmTask!)), equals: gbPerS(hz(equalsTask!)), ts: gbPerS(hz(tsTask!)),
  }
  const cpuGb = {
    wasm: cpu.wasm.gbPerCpuS(), equals: cpu.equals.gbPerCpuS(), ts: cpu.ts.gbPerCpuS(),
  }
  return [
    ...figures("block diff 256 MiB: wasm SIMD", wall.wasm, cpuGb.wasm),
    ...figures("block diff 256 MiB: Buffer.equals (memcmp)", wall.equals, cpuGb.equals),
    ...figures("block diff 256 MiB: ts reference", wall.ts, cpuGb.ts),
    record(SUITE, "block diff: wasm / Buffer.equals", wall.wasm / wall.equals, "x", "higher", 0.9),
    record(SUITE, "block diff: wasm / Buffer.equals (CPU time)", cpuGb.wasm / cpuGb.equals, "x",
      "higher", 0.9),
    record(SUITE, "block diff: wasm / ts reference", wall.wasm / wall.ts, "x", "higher", 3),
    record(SUITE, "block diff: wasm / ts reference (CPU time)", cpuGb.wasm / cpuGb.ts, "x",
      "higher", 3),
  ]
}

async function hashRecords(kernels: BlockKernels): Promise<BenchRecord[]> {
  const image = value(kernels.inputView(IMAGE_BYTES))
  fillNoise(image, 0x85ebca6b)
  const reference = referenceKernels()
  const hashes = new BigUint64Array(IMAGE_BYTES / 4096)
  const cpu = { wasm: new CpuMeter(WARMUP), xxh3: new CpuMeter(WARMUP), ts: new CpuMeter(1) }
  const fast = new Bench({ name: "block hash", time: 1500, iterations: 12,
    warmupIterations: WARMUP })
  fast.add("wasm", cpu.wasm.wrap(() => { value(kernels.hashBlocksInto(image, hashes)) }))
  fast.add("wasm xxh3", cpu.xxh3.wrap(() => { value(kernels.xxh3BlocksInto(image, hashes)) }))
  const slow = new Bench({ name: "block hash ts", time: 0, iterations: 3, warmupIterations: 1 })
  slow.add("ts", cpu.ts.wrap(() => { value(reference.hashBlocksInto(image, hashes)) }))
  const tsXxh3 = new Bench({ name: "block hash ts xxh3", time: 0, iterations: 3,
    warmupIterations: 1 })
  tsXxh3.add("ts xxh3", () => { value(reference.xxh3BlocksInto(image, hashes)) })
  const [wasmTask, xxh3Task] = await runBench(fast)
  const [tsTask] = await runBench(slow)
  const [tsXxh3Task] = await runBench(tsXxh3)
  const wall = { wasm: gbPerS(hz(wasmTask!)), xxh3: gbPerS(hz(xxh3Task!)), ts: gbPerS(hz(tsTask!)) }
  const cpuGb = { wasm: cpu.wasm.gbPerCpuS(), xxh3: cpu.xxh3.gbPerCpuS(), ts: cpu.ts.gbPerCpuS() }
  return [
    ...figures("block hash 256 MiB: wasm xxHash64", wall.wasm, cpuGb.wasm, 3),
    ...figures("block hash 256 MiB: ts reference", wall.ts, cpuGb.ts),
    record(SUITE, "block hash: wasm / ts reference", wall.wasm / wall.ts, "x", "higher"),
    ...figures("block hash 256 MiB: wasm XXH3-64 (SIMD), same buffer", wall.xxh3, cpuGb.xxh3, 3),
    record(SUITE, "block hash: wasm XXH3-64 / wasm xxHash64", wall.xxh3 / wall.wasm, "x",
      "higher"),
    record(SUITE, "block hash: wasm XXH3-64 / wasm xxHash64 (CPU time)", cpuGb.xxh3 / cpuGb.wasm,
      "x", "higher"),
    record(SUITE, "block hash 256 MiB: ts XXH3-64 (32-bit halves)", gbPerS(hz(tsXxh3Task!)),
      "GB/s", "higher"),
  ]
}

/**
 * Scans per second of each backend over the same requests, rounds interleaved: the requests as
 * the placement benchmark makes them (pack), and the same requests under spread (where many
 * empty hosts tie for the best score).
 */
export function scanRecords(): BenchRecord[] {
  const reqs = requests()
  let state = withGroups(createCluster(inventory()))
  for (let k = 0; k < 10_000; k++) {
    const r = schedule(state, { servers: [reqs[k]!] })
    if (Result.isSuccess(r)) state = r.success.state
  }
  const input = scanInputOf(state)
  const scans = { pack: [] as ScanRequest[], spread: [] as ScanRequest[] }
  for (let k = 10_000; k < 10_200; k++) {
    const server = { ...reqs[k]!, name: reqs[k]!.uuid }
    for (const policy of ["pack", "spread"] as const) {
      const q = scanRequestOf(state, server, policy, defaultWeights)
      if (q !== undefined) scans[policy].push(q)
    }
  }
  const kernels = { ts: referenceScan(), wasm: newScanKernel("wasm") }
  if (kernels.wasm.backend !== "wasm") throw new Error("the WebAssembly scan is not available")
  const out = newScanResult()
  const pass = (k: ScanKernel, list: ReadonlyArray<ScanRequest>) => {
    let sink = 0
    for (const q of list) { k.scan(input, q, out); sink += out.best + out.count }
    return sink
  }
  const records: BenchRecord[] = []
  for (const policy of ["pack", "spread"] as const) {
    const list = scans[policy]
    if (pass(kernels.ts, list) !== pass(kernels.wasm, list)) {
      throw new Error(`the scan backends disagree (${policy})`)
    }
    const wallMs = { ts: 0, wasm: 0 }
    const cpuUs = { ts: 0, wasm: 0 }
    const rounds = 40
    for (let round = 0; round < rounds; round++) {
      for (const name of ["ts", "wasm"] as const) {
        const c = process.cpuUsage()
        const t = performance.now()
        pass(kernels[name], list)
        wallMs[name] += performance.now() - t
        const used = process.cpuUsage(c)
        cpuUs[name] += used.user + used.system
      }
    }
    const perS = (ms: number) => (rounds * list.length) / (ms / 1000)
    const tag = policy === "pack" ? "" : " (spread)"
    records.push(
      record(SUITE, `placement scan 5,000 hosts${tag}: wasm`, perS(wallMs.wasm), "scans/s",
        "higher"),
      record(SUITE, `placement scan 5,000 hosts${tag}: ts reference`, perS(wallMs.ts), "scans/s",
        "higher"),
      record(SUITE, `placement scan${tag}: wasm / ts reference`, wallMs.ts / wallMs.wasm, "x",
        "higher", 3),
      record(SUITE, `placement scan${tag}: wasm / ts reference (CPU time)`, cpuUs.ts / cpuUs.wasm,
        "x", "higher", 3),
    )
  }
  return records
}

/** Runs the suite (see the module comment). */
export async function run(): Promise<BenchRecord[]> {
  const load = record(SUITE, "machine load average (1 min) at start", loadavg()[0]!, "load",
    "lower")
  const kernels = wasm()
  return [load, ...scanRecords(), ...(await diffRecords(kernels)),
    ...(await hashRecords(kernels))]
}
