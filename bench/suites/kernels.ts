/**
 * Suite `kernels`: block diff and block hash throughput on 256 MiB images already in memory, every
 * ratio measured side by side in this run.
 * - Block diff: the WebAssembly SIMD kernel against whole-buffer `Buffer.equals` (native memcmp,
 *   the practical limit; target ≥ 0.9×) and against the TypeScript reference (target ≥ 3×), on
 *   two equal images (every byte must be read; the worst case for a diff).
 * - Block hash: xxHash64 per 4 KiB block in WebAssembly (target ≥ 3 GB/s), and the reference.
 * GB/s counts bytes of one image per second (1 GB = 10^9 bytes).
 */
import { Result } from "effect"
import { type BlockKernels, referenceKernels, selectKernels } from "../../core/kernels/index.ts"
import { Bench, type BenchRecord, hz, record, runBench } from "../lib.ts"

const SUITE = "kernels"
const IMAGE_BYTES = 256 * 1024 * 1024
const GB = 1e9

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

async function diffRecords(kernels: BlockKernels): Promise<BenchRecord[]> {
  const [a, b] = value(kernels.inputViews(IMAGE_BYTES, IMAGE_BYTES))
  fillNoise(a, 0x9e3779b9)
  b.set(a)
  const bufferA = Buffer.from(a.buffer, a.byteOffset, a.length)
  const bufferB = Buffer.from(b.buffer, b.byteOffset, b.length)
  const reference = referenceKernels()
  const bitmap = new Uint8Array(IMAGE_BYTES / 4096 / 8)
  let sink = 0
  const bench = new Bench({ name: "block diff", time: 1500, iterations: 12, warmupIterations: 3 })
  bench.add("wasm", () => { sink += value(kernels.diffBlocksInto(a, b, bitmap)) })
  bench.add("Buffer.equals", () => { sink += bufferA.equals(bufferB) ? 0 : 1 })
  bench.add("ts", () => { sink += value(reference.diffBlocksInto(a, b, bitmap)) })
  const [wasmTask, equalsTask, tsTask] = await runBench(bench)
  if (sink !== 0) throw new Error("equal images reported changed blocks")
  const wasmGb = gbPerS(hz(wasmTask!)), equalsGb = gbPerS(hz(equalsTask!))
  const tsGb = gbPerS(hz(tsTask!))
  return [
    record(SUITE, "block diff 256 MiB: wasm SIMD", wasmGb, "GB/s", "higher"),
    record(SUITE, "block diff 256 MiB: Buffer.equals (memcmp)", equalsGb, "GB/s", "higher"),
    record(SUITE, "block diff 256 MiB: ts reference", tsGb, "GB/s", "higher"),
    record(SUITE, "block diff: wasm / Buffer.equals", wasmGb / equalsGb, "x", "higher", 0.9),
    record(SUITE, "block diff: wasm / ts reference", wasmGb / tsGb, "x", "higher", 3),
  ]
}

async function hashRecords(kernels: BlockKernels): Promise<BenchRecord[]> {
  const image = value(kernels.inputView(IMAGE_BYTES))
  fillNoise(image, 0x85ebca6b)
  const reference = referenceKernels()
  const hashes = new BigUint64Array(IMAGE_BYTES / 4096)
  const fast = new Bench({ name: "block hash", time: 1500, iterations: 12, warmupIterations: 3 })
  fast.add("wasm", () => { value(kernels.hashBlocksInto(image, hashes)) })
  const slow = new Bench({ name: "block hash ts", time: 0, iterations: 3, warmupIterations: 1 })
  slow.add("ts", () => { value(reference.hashBlocksInto(image, hashes)) })
  const [wasmTask] = await runBench(fast)
  const [tsTask] = await runBench(slow)
  const wasmGb = gbPerS(hz(wasmTask!)), tsGb = gbPerS(hz(tsTask!))
  return [
    record(SUITE, "block hash 256 MiB: wasm xxHash64", wasmGb, "GB/s", "higher", 3),
    record(SUITE, "block hash 256 MiB: ts reference", tsGb, "GB/s", "higher"),
    record(SUITE, "block hash: wasm / ts reference", wasmGb / tsGb, "x", "higher"),
  ]
}

/** Runs the suite (see the module comment). */
export async function run(): Promise<BenchRecord[]> {
  const kernels = wasm()
  return [...(await diffRecords(kernels)), ...(await hashRecords(kernels))]
}
