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
  BLOCK_SIZE_BYTES, type BlockFingerprint, type BlockKernels, blocksOf, changedBlocks,
  fingerprintBlocksInto,
} from "../../core/kernels/index.ts"
import { hashImageFile, readFully } from "../kernels.ts"
import { readHashList } from "./hashlist.ts"
import { imagePaths } from "./images.ts"

/**
 * The fingerprint of the hash list the sender keeps and scans by: XXH3-64, whose WebAssembly
 * kernel runs its accumulate loop on SIMD lanes (xxHash64's runs four scalar lanes).
 */
export const listFingerprint: BlockFingerprint = "xxh3"

/** Bytes of image and base read and diffed at a time: 1 MiB (both chunks stay in cache). */
export const diffChunkBytes = 1024 * 1024

/** Bytes of captured blocks kept per slab (one allocation per 256 changed blocks). */
const captureSlabBytes = 256 * BLOCK_SIZE_BYTES

/** The blocks of the image that differ from the base, and their bytes as the diff saw them. */
export interface ChangedBlocks {
  readonly changed: number[]
  readonly captured: ReadonlyMap<number, Uint8Array>
}

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

/**
 * Copies changed blocks out of a chunk while it is in cache, into shared slabs of
 * `captureSlabBytes` (one allocation per slab, not per block), keyed by block index.
 */
function blockCapture() {
  const captured = new Map<number, Uint8Array>()
  let slab = new Uint8Array(0), slabUsed = 0
  return {
    captured,
    keep: (blockIndex: number, chunk: Uint8Array, local: number): void => {
      const from = local * BLOCK_SIZE_BYTES
      const block = chunk.subarray(from, Math.min(from + BLOCK_SIZE_BYTES, chunk.length))
      if (slabUsed + block.length > slab.length) {
        slab = new Uint8Array(captureSlabBytes)
        slabUsed = 0
      }
      slab.set(block, slabUsed)
      captured.set(blockIndex, slab.subarray(slabUsed, slabUsed + block.length))
      slabUsed += block.length
    },
  }
}

/** The changed blocks, and the base's hash list as it will be once they are shipped. */
export interface ChangedByHash extends ChangedBlocks {
  readonly hashes: BigUint64Array
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
  const p = imagePaths(masterDir, imageId)
  const blockCount = blocksOf(sizeBytes)
  const hashes = readHashList(p.hashes, generation, blockCount, fingerprint) ??
    baseHashes(kernels, p.base, fingerprint)
  if (hashes.length !== blockCount) throw new Error(`${p.base}: not ${sizeBytes} bytes`)
  const old32 = new Uint32Array(hashes.buffer, hashes.byteOffset, blockCount * 2)
  const chunkBlocks = diffChunkBytes / BLOCK_SIZE_BYTES
  const fresh = new BigUint64Array(chunkBlocks)
  const fresh32 = new Uint32Array(fresh.buffer)
  const changed: number[] = []
  const capture = blockCapture()
  const fd = openSync(p.image, "r")
  try {
    for (let start = 0; start < sizeBytes; start += diffChunkBytes) {
      const view = expectKernel(kernels.inputView(Math.min(diffChunkBytes, sizeBytes - start)))
      readAt(fd, view, start)
      const count = expectKernel(fingerprintBlocksInto(kernels, fingerprint, view, fresh))
      const firstBlock = start / BLOCK_SIZE_BYTES
      for (let local = 0; local < count; local++) {
        const at = (firstBlock + local) * 2
        if (fresh32[local * 2] === old32[at] && fresh32[local * 2 + 1] === old32[at + 1]) continue
        hashes[firstBlock + local] = fresh[local]!
        capture.keep(firstBlock + local, view, local)
        changed.push(firstBlock + local)
      }
    }
  } finally { closeSync(fd) }
  return { changed, captured: capture.captured, hashes }
}

function baseHashes(kernels: BlockKernels, basePath: string,
  fingerprint: BlockFingerprint): BigUint64Array {
  const hashed = hashImageFile(kernels, basePath, undefined, fingerprint)
  if (Result.isFailure(hashed)) throw new Error(hashed.failure.message)
  return hashed.success
}

export function expectKernel<A>(outcome: Result.Result<A, { readonly message: string }>): A {
  if (Result.isFailure(outcome)) throw new Error(`kernel call rejected: ${outcome.failure.message}`)
  return outcome.success
}

/** Reads `into.length` bytes at `position`, or throws (the image shrank). */
export function readAt(fd: number, into: Uint8Array, position: number): void {
  if (readFully(fd, into, position) !== into.length) throw new Error("image shrank: short read")
}
