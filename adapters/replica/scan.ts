/**
 * How the master finds the blocks changed since the base, chunk by chunk in the kernels' memory,
 * keeping their bytes as it saw them: by diffing the image against the base, or (WebAssembly) by
 * hashing the image against the base's hash list, on the main thread alone or with the scan
 * worker (scan-worker.ts) taking chunks beside it on the second core. (Reading the next chunk on
 * the thread pool into a second kernel instance while this one is worked on was tried: at load
 * 3-4 on 2 cores the cycle got slower, 150-167 ms against 109-117 ms; a worker that both reads and
 * hashes its own chunks pays one message per scan instead of a hop per chunk.)
 */
import { closeSync, fstatSync, openSync } from "node:fs"
import { Result } from "effect"
import {
  BLOCK_SIZE_BYTES, type BlockFingerprint, type BlockKernels, blocksOf, changedBlocks,
} from "../../core/kernels/index.ts"
import { hashImageFile } from "../kernels.ts"
import { readHashList } from "./hashlist.ts"
import { imagePaths } from "./images.ts"
import {
  blockCapture, type ChangedBlocks, type ChunkClaim, chunkCount, controlWords, counterSlot,
  diffChunkBytes, expectKernel, joinOpen, joinSlot, readAt, type ScanPart, scanClaimedChunks,
  sharedClaim,
} from "./scan-chunks.ts"
import type { ScanWorker, WorkerPart } from "./scan-worker.ts"

export { type ChangedBlocks, diffChunkBytes, expectKernel, readAt } from "./scan-chunks.ts"

/**
 * The fingerprint of the hash list the sender keeps and scans by: XXH3-64, whose WebAssembly
 * kernel runs its accumulate loop on SIMD lanes (xxHash64's runs four scalar lanes).
 */
export const listFingerprint: BlockFingerprint = "xxh3"

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
  /** How many of the image's chunks the scan worker scanned (0: the main thread alone). */
  readonly workerChunks: number
}

/**
 * The blocks of the image whose hash differs from the base's hash list (`id.hashes` at
 * `generation` holding `fingerprint`s, rebuilt from the base when absent, stale or of another
 * fingerprint): only the image is read, chunk by chunk straight into the hash kernel's view,
 * hashed there, and the changed blocks copied out while the chunk is in cache. The returned list
 * holds the new hash at every changed block.
 */
export function changedSinceHashes(masterDir: string, imageId: string,
  kernels: BlockKernels, generation: number, sizeBytes: number,
  fingerprint: BlockFingerprint = listFingerprint): ChangedByHash {
  const { imagePath, hashes } = baseList(masterDir, imageId, kernels, generation, sizeBytes,
    fingerprint)
  const fd = openSync(imagePath, "r")
  try {
    return merged(hashes, sizeBytes, scanClaimedChunks(fd, kernels, fingerprint, sizeBytes, hashes,
      everyChunk(chunkCount(sizeBytes))), null)
  } finally { closeSync(fd) }
}

/** Images of fewer chunks than this are scanned on the main thread alone (16 MiB). */
export const scanWorkerChunksMin = 16

/** How a shared scan is run (the defaults are the sender's). */
export interface SharedScanOptions {
  /** Fewer chunks than this: the main thread alone (default `scanWorkerChunksMin`). */
  readonly chunksMin?: number
  /**
   * How long the main thread waits for the worker to join before it claims a chunk (default 0:
   * never; tests set it so the worker takes part even in a scan of a few chunks).
   */
  readonly joinWaitMs?: number
}

/**
 * `changedSinceHashes` with `worker` (when it has loaded, the kernels are WebAssembly and the
 * image has at least `chunksMin` chunks) claiming chunks beside the main thread: the same changed
 * blocks, the same captured bytes, the same list. The worker reads a shared copy of the base's
 * list and reports the new fingerprints of what it found; the list is patched once both are
 * done. A worker that fails or dies during the scan is not trusted with any chunk: the main
 * thread scans the whole image again.
 */
export async function changedSinceHashesShared(masterDir: string, imageId: string,
  kernels: BlockKernels, generation: number, sizeBytes: number, fingerprint: BlockFingerprint,
  worker: ScanWorker | null, options: SharedScanOptions = {}): Promise<ChangedByHash> {
  const chunks = chunkCount(sizeBytes)
  if (worker === null || !worker.usable || kernels.backend !== "wasm" ||
    chunks < (options.chunksMin ?? scanWorkerChunksMin)) {
    return changedSinceHashes(masterDir, imageId, kernels, generation, sizeBytes, fingerprint)
  }
  const { imagePath, hashes } = baseList(masterDir, imageId, kernels, generation, sizeBytes,
    fingerprint)
  const control = new Int32Array(new SharedArrayBuffer(controlWords * 4))
  const old = new BigUint64Array(new SharedArrayBuffer(hashes.byteLength))
  old.set(hashes)
  const fd = openSync(imagePath, "r")
  try {
    const offer = worker.offer({ fd, sizeBytes, chunkCount: chunks, fingerprint, old, control })
    if ((options.joinWaitMs ?? 0) > 0) Atomics.wait(control, joinSlot, joinOpen, options.joinWaitMs)
    let mine: ScanPart
    try {
      mine = scanClaimedChunks(fd, kernels, fingerprint, sizeBytes, hashes,
        sharedClaim(control, chunks))
    } catch (e) {
      // Stop the worker claiming, and let it finish its chunk before the file is closed.
      Atomics.store(control, counterSlot, chunks)
      await offer.close().catch(() => null)
      throw e
    }
    let theirs: WorkerPart | null
    try {
      theirs = await offer.close()
    } catch {
      return merged(hashes, sizeBytes, scanClaimedChunks(fd, kernels, fingerprint, sizeBytes,
        hashes, everyChunk(chunks)), null)
    }
    return merged(hashes, sizeBytes, mine, theirs)
  } finally { closeSync(fd) }
}

/** Chunks 0 .. count-1 in order, for a scan on one thread. */
function everyChunk(count: number): ChunkClaim {
  let next = 0
  return () => next < count ? next++ : -1
}

/** The image's path and the base's list (read, or rebuilt from the base). */
function baseList(masterDir: string, imageId: string, kernels: BlockKernels, generation: number,
  sizeBytes: number, fingerprint: BlockFingerprint): {
    readonly imagePath: string; readonly hashes: BigUint64Array } {
  const p = imagePaths(masterDir, imageId)
  const blockCount = blocksOf(sizeBytes)
  const hashes = readHashList(p.hashes, generation, blockCount, fingerprint) ??
    baseHashes(kernels, p.base, fingerprint)
  if (hashes.length !== blockCount) throw new Error(`${p.base}: not ${sizeBytes} bytes`)
  return { imagePath: p.image, hashes }
}

/**
 * The scan's result from the main thread's part and the worker's (if it joined): the list
 * patched with every changed block's new fingerprint, the changed blocks ascending, and their
 * captured bytes (the worker's read from its transferred slabs, not copied).
 */
function merged(hashes: BigUint64Array, sizeBytes: number, mine: ScanPart,
  theirs: WorkerPart | null): ChangedByHash {
  const captured = mine.capture.captured
  mine.changed.forEach((block, i) => { hashes[block] = mine.fresh[i]! })
  if (theirs === null) return { changed: mine.changed, captured, hashes, workerChunks: 0 }
  theirs.changed.forEach((block, i) => {
    hashes[block] = theirs.fresh[i]!
    const slab = theirs.slabs[theirs.slabOf[i]!]!, at = theirs.offsetOf[i]!
    const length = Math.min(BLOCK_SIZE_BYTES, sizeBytes - block * BLOCK_SIZE_BYTES)
    captured.set(block, slab.subarray(at, at + length))
  })
  return { changed: mergeAscending(mine.changed, theirs.changed), captured, hashes,
    workerChunks: theirs.chunks }
}

/** Two ascending lists of distinct blocks as one ascending list. */
function mergeAscending(a: ReadonlyArray<number>, b: ReadonlyArray<number>): number[] {
  const out: number[] = []
  let i = 0, j = 0
  while (i < a.length && j < b.length) out.push(a[i]! < b[j]! ? a[i++]! : b[j++]!)
  while (i < a.length) out.push(a[i++]!)
  while (j < b.length) out.push(b[j++]!)
  return out
}

function baseHashes(kernels: BlockKernels, basePath: string,
  fingerprint: BlockFingerprint): BigUint64Array {
  const hashed = hashImageFile(kernels, basePath, undefined, fingerprint)
  if (Result.isFailure(hashed)) throw new Error(hashed.failure.message)
  return hashed.success
}

