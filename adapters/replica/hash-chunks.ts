/**
 * One thread's share of a hash-list scan (scan.ts): the chunks it claims are read straight into
 * the hash kernel's view, hashed there and compared with the base's list, and the changed blocks'
 * bytes are copied out while the chunk is in cache. The main thread and the scan helpers
 * (scan-helpers.ts, worker threads) run this same loop on chunks claimed from one shared counter.
 * This file imports no Effect and no kernel selection, so that a helper thread starts fast.
 */
import { readSync } from "node:fs"
import { BLOCK_SIZE_BYTES } from "../../core/kernels/types.ts"

/** Bytes of image (and base) read and worked on at a time: 1 MiB (it stays in cache). */
export const diffChunkBytes = 1024 * 1024

/** Bytes of captured blocks kept per slab (one allocation per 256 changed blocks). */
const captureSlabBytes = 256 * BLOCK_SIZE_BYTES

/** The blocks of the image that differ from the base, and their bytes as the scan saw them. */
export interface ChangedBlocks {
  readonly changed: number[]
  readonly captured: ReadonlyMap<number, Uint8Array>
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

/** A block capture: the blocks kept so far, and the slabs that hold their bytes. */
export interface BlockCapture {
  readonly captured: Map<number, Uint8Array>
  readonly slabs: Uint8Array[]
  readonly keep: (blockIndex: number, chunk: Uint8Array, local: number) => void
}

/**
 * Copies changed blocks out of a chunk while it is in cache, into shared slabs of
 * `captureSlabBytes` (one allocation per slab, not per block), keyed by block index.
 */
export function blockCapture(): BlockCapture {
  const captured = new Map<number, Uint8Array>()
  const slabs: Uint8Array[] = []
  let slab = new Uint8Array(0), slabUsed = 0
  return {
    captured,
    slabs,
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
      slabUsed += block.length
    },
  }
}

/** The hash kernel as a chunk scan uses it: a view to read a chunk into, and its hashes. */
export interface ChunkHasher {
  inputView(len: number): Uint8Array
  hashBlocksInto(view: Uint8Array, out: BigUint64Array): number
}

/** Claims the next chunk to scan (its index), or returns -1 once every chunk is claimed. */
export type ChunkClaim = () => number

/** A claim on `control[0]`, the chunk counter shared by every thread of one scan. */
export function sharedClaim(control: Int32Array, chunkCount: number): ChunkClaim {
  return () => {
    const chunk = Atomics.add(control, 0, 1)
    return chunk < chunkCount ? chunk : -1
  }
}

/** Takes changed block `blockIndex`, block `local` of `chunk`, while the chunk is in view. */
export type BlockKeeper = (blockIndex: number, chunk: Uint8Array, local: number) => void

/**
 * Scans the chunks `claim` hands out: each is read into the hasher's view, hashed, and every
 * block whose hash differs from `hashes` (the base's list) is handed to `keep` (by default
 * captured) and its entry in `hashes` set to the new hash. Threads of one scan claim distinct
 * chunks, so they never write the same entries. Returns the changed blocks found here, in the
 * order found, and what was captured.
 */
export function hashScanChunks(fd: number, hasher: ChunkHasher, sizeBytes: number,
  hashes: BigUint64Array, claim: ChunkClaim,
  keep?: BlockKeeper): ChangedBlocks & BlockCapture {
  const old32 = new Uint32Array(hashes.buffer, hashes.byteOffset, hashes.length * 2)
  const chunkBlocks = diffChunkBytes / BLOCK_SIZE_BYTES
  const fresh = new BigUint64Array(chunkBlocks)
  const fresh32 = new Uint32Array(fresh.buffer)
  const changed: number[] = []
  const capture = blockCapture()
  const take = keep ?? capture.keep
  for (let chunk = claim(); chunk >= 0; chunk = claim()) {
    const start = chunk * diffChunkBytes
    if (start >= sizeBytes) throw new Error(`chunk ${chunk} past the image's end`)
    const view = hasher.inputView(Math.min(diffChunkBytes, sizeBytes - start))
    readAt(fd, view, start)
    const count = hasher.hashBlocksInto(view, fresh)
    const firstBlock = start / BLOCK_SIZE_BYTES
    for (let local = 0; local < count; local++) {
      const at = (firstBlock + local) * 2
      if (fresh32[local * 2] === old32[at] && fresh32[local * 2 + 1] === old32[at + 1]) continue
      hashes[firstBlock + local] = fresh[local]!
      take(firstBlock + local, view, local)
      changed.push(firstBlock + local)
    }
  }
  return { changed, ...capture }
}

/** A scan job for a helper thread: the image's fd, the shared counter and the shared list. */
export interface HashScanJob {
  readonly token: number
  readonly fd: number
  readonly sizeBytes: number
  readonly chunkCount: number
  /** `[0]` the chunk counter; `[slot]` this helper's join word (joinOpen, …). */
  readonly control: Int32Array
  readonly slot: number
  /** The base's hash list, on a SharedArrayBuffer. */
  readonly hashes: BigUint64Array
}

/** Join word values: the job is open, a helper joined it, or the main thread closed it. */
export const joinOpen = 0, joinJoined = 1, joinClosed = 2

/**
 * A helper's answer: ready (after start), skipped (closed before it joined), part (what it found
 * in its last few chunks, while it scans on), done (the rest; its share is complete), failed.
 */
export type HashScanReply =
  | { readonly kind: "ready" }
  | { readonly kind: "skipped"; readonly token: number }
  | { readonly kind: "failed"; readonly token: number; readonly message: string }
  | {
    readonly kind: "done" | "part"; readonly token: number; readonly changed: number[]
    /** (block index, slab number, byte offset, length) per captured block. */
    readonly where: Int32Array
    readonly slabs: ArrayBuffer[]
  }

/** Chunks a helper scans between two `part` replies (4 MiB). */
export const chunksPerPart = 4

/** A share, or part of one, as a helper posts it (the slabs are transferred, not copied). */
export function doneReply(token: number, found: ChangedBlocks & BlockCapture,
  kind: "done" | "part" = "done"): Extract<HashScanReply, { kind: "done" | "part" }> {
  const slabNumber = new Map(found.slabs.map((s, i) => [s.buffer, i]))
  const where = new Int32Array(found.captured.size * 4)
  let at = 0
  for (const [index, view] of found.captured) {
    where.set([index, slabNumber.get(view.buffer as ArrayBuffer)!, view.byteOffset, view.length],
      at)
    at += 4
  }
  return { kind, token, changed: found.changed, where,
    slabs: found.slabs.map((s) => s.buffer as ArrayBuffer) }
}

/** The captured blocks of a `done` or `part` reply, as views of its slabs. */
export function capturedOf(reply: Extract<HashScanReply, { kind: "done" | "part" }>):
  Map<number, Uint8Array> {
  const captured = new Map<number, Uint8Array>()
  for (let at = 0; at < reply.where.length; at += 4) {
    const w = reply.where
    captured.set(w[at]!, new Uint8Array(reply.slabs[w[at + 1]!]!, w[at + 2]!, w[at + 3]!))
  }
  return captured
}
