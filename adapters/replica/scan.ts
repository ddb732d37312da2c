/**
 * How the master finds the blocks changed since the base, chunk by chunk in the kernels' memory,
 * keeping their bytes as it saw them: by diffing the image against the base, or (WebAssembly) by
 * hashing the image against the base's hash list. (Reading the next chunk on the thread pool into
 * a second kernel instance while this one is worked on was tried: at load 3-4 on 2 cores the
 * cycle got slower, 150-167 ms against 109-117 ms, so the reads stay synchronous.)
 */
import { closeSync, fstatSync, openSync } from "node:fs"
import { Result } from "effect"
import {
  BLOCK_SIZE_BYTES, type BlockKernels, blocksOf, changedBlocks,
} from "../../core/kernels/index.ts"
import { hashImageFile } from "../kernels.ts"
import {
  blockCapture, type BlockKeeper, type ChangedBlocks, type ChunkHasher, diffChunkBytes,
  hashScanChunks, readAt, sharedClaim,
} from "./hash-chunks.ts"
import { readHashList } from "./hashlist.ts"
import { imagePaths } from "./images.ts"
import { readyScanHelpers, type ScanHelper, startScanHelpers } from "./scan-helpers.ts"

export { type ChangedBlocks, diffChunkBytes, readAt } from "./hash-chunks.ts"

/** Bytes `memcmp` compares before a kernel looks (8 blocks: one bitmap byte). */
const equalRunBytes = 8 * BLOCK_SIZE_BYTES

/**
 * The blocks of the image that differ from the base: both files are read chunk by chunk straight
 * into the kernels' input views (no copy on the WebAssembly backend) and diffed while the chunk
 * is in cache; the changed blocks are copied out of the chunk then, so they are never read again.
 * On the TypeScript backend, runs of 8 blocks that native `memcmp` proves equal are
 * skipped before the kernel looks (as `diffImageFiles` does).
 */
export function changedSinceBase(masterDir: string, imageId: string,
  kernels: BlockKernels, sizeBytes: number): ChangedBlocks {
  const p = imagePaths(masterDir, imageId)
  const capture = blockCapture()
  const changed: number[] = []
  const bits = new Uint8Array(diffChunkBytes / equalRunBytes)
  const imageFd = openSync(p.image, "r")
  let baseFd = -1
  try {
    baseFd = openSync(p.base, "r")
    if (fstatSync(baseFd).size !== sizeBytes) throw new Error(`${p.base}: not ${sizeBytes} bytes`)
    for (let start = 0; start < sizeBytes; start += diffChunkBytes) {
      const length = Math.min(diffChunkBytes, sizeBytes - start)
      const [image, base] = expectKernel(kernels.inputViews(length, length))
      readAt(imageFd, image, start)
      readAt(baseFd, base, start)
      diffChunk(kernels, image, base, bits)
      const firstBlock = start / BLOCK_SIZE_BYTES
      for (const local of changedBlocks(bits, blocksOf(image.length))) {
        capture.keep(firstBlock + local, image, local)
        changed.push(firstBlock + local)
      }
    }
  } finally {
    closeSync(imageFd)
    if (baseFd >= 0) closeSync(baseFd)
  }
  return { changed, captured: capture.captured }
}

/**
 * The changed-block bits of one chunk into `bits`: one kernel call on its input views (no copy),
 * or, on the TypeScript backend, the kernel only on the runs of 8 blocks `memcmp` finds unequal.
 */
function diffChunk(kernels: BlockKernels, image: Uint8Array, base: Uint8Array,
  bits: Uint8Array): void {
  if (kernels.backend !== "ts") {
    expectKernel(kernels.diffBlocksInto(image, base, bits))
    return
  }
  for (let run = 0; run * equalRunBytes < image.length; run++) {
    const from = run * equalRunBytes, to = Math.min(from + equalRunBytes, image.length)
    const a = image.subarray(from, to), b = base.subarray(from, to)
    if (Buffer.compare(a, b) === 0) bits[run] = 0
    else expectKernel(kernels.diffBlocksInto(a, b, bits.subarray(run, run + 1)))
  }
}

/** The changed blocks, and the base's hash list as it will be once they are shipped. */
export interface ChangedByHash extends ChangedBlocks {
  readonly hashes: BigUint64Array
}

/** How a hash scan shares its chunks: with these helpers, and whether this thread takes any. */
export interface ScanSharing {
  readonly helpers: ReadonlyArray<ScanHelper>
  /** False only in tests: the helpers scan every chunk (this thread waits for them). */
  readonly mainThreadScans: boolean
}

/** Chunks this thread scans between two turns of the event loop (16 MiB: a few ms). */
const chunksPerTurn = 16

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

/**
 * The blocks of the image whose hash differs from the base's hash list (`id.hashes` at
 * `generation`, rebuilt from the base when absent or stale): only the image is read, in 1 MiB
 * chunks straight into a hash kernel's view, hashed there, and the changed blocks copied out
 * while the chunk is in cache. The chunks are shared between this thread and the scan helpers
 * (worker threads, each with its own kernel instance; started after a process's first scan)
 * through one counter; a helper not ready when this thread runs out of chunks is left out.
 * This thread lets the event loop turn every `chunksPerTurn` chunks (so frames handed to a
 * socket by `keep` leave while it scans), and hands its changed blocks to `keep` when given
 * (they are then not in `captured`). The returned list holds the new hash at every changed
 * block; `changed` is ascending.
 */
export async function changedSinceHashes(masterDir: string, imageId: string,
  kernels: BlockKernels, generation: number, sizeBytes: number,
  sharing: ScanSharing = { helpers: readyScanHelpers(), mainThreadScans: true },
  keep?: BlockKeeper,
): Promise<ChangedByHash> {
  const p = imagePaths(masterDir, imageId)
  const blockCount = blocksOf(sizeBytes)
  const listed = readHashList(p.hashes, generation, blockCount) ?? baseHashes(kernels, p.base)
  if (listed.length !== blockCount) throw new Error(`${p.base}: not ${sizeBytes} bytes`)
  const hashes = new BigUint64Array(new SharedArrayBuffer(listed.byteLength))
  hashes.set(listed)
  const chunkCount = Math.ceil(sizeBytes / diffChunkBytes)
  const control = new Int32Array(new SharedArrayBuffer(4 * (1 + sharing.helpers.length)))
  const fd = openSync(p.image, "r")
  // Helpers' blocks found while the scan runs: to `keep` at once (else kept with the share).
  const early: ChangedBlocks[] = []
  const onPart = (part: ChangedBlocks): void => {
    if (keep === undefined) { early.push(part); return }
    for (const [index, bytes] of part.captured) keep(index, bytes, 0)
    early.push({ changed: part.changed, captured: new Map() })
  }
  const offers = sharing.helpers.map((helper, i) =>
    helper.offer({ fd, sizeBytes, chunkCount, control, slot: 1 + i, hashes }, onPart))
  // A helper that joined is awaited (it finishes the chunks it claimed) before the fd closes.
  let shares: Array<Promise<ChangedBlocks | null>> | null = null
  try {
    const hasher: ChunkHasher = {
      inputView: (len) => expectKernel(kernels.inputView(len)),
      hashBlocksInto: (view, out) => expectKernel(kernels.hashBlocksInto(view, out)),
    }
    const claim = sharedClaim(control, chunkCount)
    const own: ChangedBlocks[] = []
    for (let exhausted = !sharing.mainThreadScans; !exhausted; await nextTurn()) {
      let left = chunksPerTurn
      own.push(hashScanChunks(fd, hasher, sizeBytes, hashes, () => {
        if (left-- === 0) return -1
        const chunk = claim()
        exhausted = chunk < 0
        return chunk
      }, keep))
    }
    shares = offers.map((o) => sharing.mainThreadScans ? o.close() : o.reply)
    const rest = (await Promise.all(shares)).filter((s) => s !== null)
    const parts = [...own, ...early, ...rest]
    if (Atomics.load(control, 0) < chunkCount) throw new Error("hash scan: chunks left unscanned")
    return merged(parts, hashes)
  } finally {
    await Promise.allSettled(shares ?? offers.map((o) => o.close()))
    closeSync(fd)
    startScanHelpers() // for the next scans (see scan-helpers.ts)
  }
}

/** One scan's shares as one result, `changed` ascending. */
function merged(parts: ReadonlyArray<ChangedBlocks>, hashes: BigUint64Array): ChangedByHash {
  const captured = new Map<number, Uint8Array>()
  const changed: number[] = []
  for (const part of parts) {
    for (const index of part.changed) changed.push(index)
    for (const [index, bytes] of part.captured) captured.set(index, bytes)
  }
  return { changed: changed.sort((a, b) => a - b), captured, hashes }
}

function baseHashes(kernels: BlockKernels, basePath: string): BigUint64Array {
  const hashed = hashImageFile(kernels, basePath)
  if (Result.isFailure(hashed)) throw new Error(hashed.failure.message)
  return hashed.success
}

export function expectKernel<A>(outcome: Result.Result<A, { readonly message: string }>): A {
  if (Result.isFailure(outcome)) throw new Error(`kernel call rejected: ${outcome.failure.message}`)
  return outcome.success
}
