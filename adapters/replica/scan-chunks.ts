/**
 * One thread's part of a hash-list scan (scan.ts): the chunks it claims are read straight into
 * its hash kernel's input view, fingerprinted there and compared with the base's list, and the
 * changed blocks' bytes are copied out while the chunk is in cache. The main thread runs this
 * alone, or beside the scan worker (scan-worker.ts), each claiming chunks from one shared counter.
 * Nothing here writes the list: a part reports the new fingerprint of each block it found changed.
 */
import { readSync } from "node:fs"
import { Result } from "effect"
import {
  BLOCK_SIZE_BYTES, type BlockFingerprint, type BlockKernels, fingerprintBlocksInto,
} from "../../core/kernels/index.ts"

/** Bytes of image read and worked on at a time: 1 MiB (it stays in cache). */
export const diffChunkBytes = 1024 * 1024

/** Blocks in one whole chunk. */
const chunkBlocks = diffChunkBytes / BLOCK_SIZE_BYTES

/** Bytes of captured blocks kept per slab (one allocation per 256 changed blocks). */
const captureSlabBytes = 256 * BLOCK_SIZE_BYTES

/** The blocks of the image that differ from the base, and their bytes as the diff saw them. */
export interface ChangedBlocks {
  readonly changed: number[]
  readonly captured: ReadonlyMap<number, Uint8Array>
}

/** A block capture: the blocks kept so far, and the slabs that hold their bytes. */
export interface BlockCapture {
  readonly captured: Map<number, Uint8Array>
  /** The slabs in the order they were started (a worker transfers them). */
  readonly slabs: Array<Uint8Array<ArrayBuffer>>
  /** For each kept block in order: its slab's position in `slabs`, and its offset there. */
  readonly slabOf: number[]
  readonly offsetOf: number[]
  readonly keep: (blockIndex: number, chunk: Uint8Array, local: number) => void
}

/**
 * Copies changed blocks out of a chunk while it is in cache, into shared slabs of
 * `captureSlabBytes` (one allocation per slab, not per block), keyed by block index.
 */
export function blockCapture(): BlockCapture {
  const captured = new Map<number, Uint8Array>()
  const slabs: Array<Uint8Array<ArrayBuffer>> = [], slabOf: number[] = [], offsetOf: number[] = []
  let slab = new Uint8Array(0), slabUsed = 0
  return {
    captured, slabs, slabOf, offsetOf,
    keep: (blockIndex: number, chunk: Uint8Array, local: number): void => {
      const from = local * BLOCK_SIZE_BYTES
      const block = chunk.subarray(from, Math.min(from + BLOCK_SIZE_BYTES, chunk.length))
      if (slabUsed + block.length > slab.length) {
        slab = new Uint8Array(captureSlabBytes)
        slabs.push(slab)
        slabUsed = 0
      }
      slab.set(block, slabUsed)
      captured.set(blockIndex, slab.subarray(slabUsed, slabUsed + block.length))
      slabOf.push(slabs.length - 1)
      offsetOf.push(slabUsed)
      slabUsed += block.length
    },
  }
}

/** Claims the next chunk to scan (its number), or returns -1 once every chunk is claimed. */
export type ChunkClaim = () => number

/** A claim on `control[counterSlot]`, the chunk counter every thread of one scan shares. */
export function sharedClaim(control: Int32Array, chunkCount: number): ChunkClaim {
  return () => {
    const chunk = Atomics.add(control, counterSlot, 1)
    return chunk < chunkCount ? chunk : -1
  }
}

/**
 * The words of a scan's control array (an Int32Array over a SharedArrayBuffer): the chunk
 * counter, and whether the worker joined the scan (`joinOpen` until it joins or the main thread,
 * having claimed the last chunk, shuts it out).
 */
export const counterSlot = 0
export const joinSlot = 1
export const controlWords = 2
export const joinOpen = 0
export const joinJoined = 1
export const joinClosed = 2

/** What one thread found in the chunks it claimed, blocks ascending. */
export interface ScanPart {
  readonly changed: number[]
  /** The new fingerprint of each changed block, in the same order. */
  readonly fresh: BigUint64Array<ArrayBuffer>
  readonly capture: BlockCapture
  /** How many chunks this thread scanned. */
  readonly chunks: number
}

/** The chunks of a scan. */
export function chunkCount(sizeBytes: number): number {
  return Math.ceil(sizeBytes / diffChunkBytes)
}

/**
 * Scans the chunks `claim` hands out: each is read from `fd` into the kernel's view, its blocks
 * fingerprinted and compared with `old` (the base's list, read only), and the changed blocks
 * captured. Claims are increasing, so `changed` is ascending.
 */
export function scanClaimedChunks(fd: number, kernels: BlockKernels, fingerprint: BlockFingerprint,
  sizeBytes: number, old: BigUint64Array, claim: ChunkClaim): ScanPart {
  const old32 = new Uint32Array(old.buffer, old.byteOffset, old.length * 2)
  const fresh = new BigUint64Array(chunkBlocks)
  const fresh32 = new Uint32Array(fresh.buffer)
  const changed: number[] = [], freshOfChanged: bigint[] = []
  const capture = blockCapture()
  let chunks = 0
  for (let chunk = claim(); chunk >= 0; chunk = claim(), chunks++) {
    const start = chunk * diffChunkBytes
    const view = expectKernel(kernels.inputView(Math.min(diffChunkBytes, sizeBytes - start)))
    readAt(fd, view, start)
    const count = expectKernel(fingerprintBlocksInto(kernels, fingerprint, view, fresh))
    const firstBlock = start / BLOCK_SIZE_BYTES
    for (let local = 0; local < count; local++) {
      const at = (firstBlock + local) * 2
      if (fresh32[local * 2] === old32[at] && fresh32[local * 2 + 1] === old32[at + 1]) continue
      capture.keep(firstBlock + local, view, local)
      changed.push(firstBlock + local)
      freshOfChanged.push(fresh[local]!)
    }
  }
  return { changed, fresh: BigUint64Array.from(freshOfChanged), capture, chunks }
}

/** The success of a kernel call, or a thrown error naming its failure. */
export function expectKernel<A>(outcome: Result.Result<A, { readonly message: string }>): A {
  if (Result.isFailure(outcome)) throw new Error(`kernel call rejected: ${outcome.failure.message}`)
  return outcome.success
}

/** Reads `into.length` bytes at `position`, or throws (the image shrank). */
export function readAt(fd: number, into: Uint8Array, position: number): void {
  let done = 0
  while (done < into.length) {
    const n = readSync(fd, into, done, into.length - done, position + done)
    if (n === 0) throw new Error("image shrank: short read")
    done += n
  }
}
