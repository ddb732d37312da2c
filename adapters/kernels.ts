/**
 * The imperative side of the block kernels: the CORRAL_KERNELS environment variable that picks a
 * backend, and image files read chunk by chunk straight into the kernels' input views (no copy
 * into WebAssembly memory afterwards), for diffs and hash lists of whole disk images. On the
 * TypeScript backend, runs that native memcmp proves equal are skipped before the kernel runs.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs"
import { Result, Schema } from "effect"
import { decode } from "../core/decode.ts"
import { type BadRequest, err, invalid, NotFound, ok, type Outcome } from "../core/errors.ts"
import {
  BLOCK_SIZE_BYTES, type BlockDiff, type BlockFingerprint, type BlockKernels, bitmapBytes,
  blocksOf, fingerprintBlocksInto, type KernelPreference, type KernelSelection, MAX_IMAGE_BYTES,
  selectKernels,
} from "../core/kernels/index.ts"
import { usePlacementScan } from "../core/kernels/scan-select.ts"

/** The environment variable that forces a backend: `auto` (default), `ts` or `wasm`. */
export const KERNELS_ENV = "CORRAL_KERNELS"
/** Bytes read per chunk by the file helpers: 64 MiB. */
export const FILE_CHUNK_BYTES_DEFAULT = 64 * 1024 * 1024
/** Chunks must be a multiple of this (8 blocks), so each chunk's bitmap starts on a byte. */
export const FILE_CHUNK_ALIGN_BYTES = 8 * BLOCK_SIZE_BYTES

const Preference = Schema.Literals(["auto", "ts", "wasm"])

/** The backend preference in `env` (CORRAL_KERNELS; unset or empty means `auto`). */
export function kernelPreference(
  env: Readonly<Record<string, string | undefined>> = process.env,
): Outcome<KernelPreference, BadRequest> {
  const text = env[KERNELS_ENV]
  if (text === undefined || text === "") return ok("auto")
  return decode(Preference, text, { pathPrefix: KERNELS_ENV })
}

/**
 * BlockKernels chosen by CORRAL_KERNELS (see selectKernels for what each value does). The same
 * preference is applied to the placement scan (`usePlacementScan`).
 */
export function loadKernels(
  env: Readonly<Record<string, string | undefined>> = process.env,
): Outcome<KernelSelection, BadRequest> {
  const preference = kernelPreference(env)
  if (Result.isFailure(preference)) return err(preference.failure)
  usePlacementScan(preference.success)
  const selection = selectKernels(preference.success)
  if (Result.isSuccess(selection)) return selection
  return err(invalid(KERNELS_ENV, selection.failure.issues?.[0]?.message ?? "a usable backend"))
}

/**
 * Reads from `fd` at `positionBytes` until `view` is full or the file ends; returns the bytes
 * read. Reads go straight into `view` (give it a kernel's input view to avoid any copy).
 */
export function readFully(fd: number, view: Uint8Array, positionBytes: number): number {
  let done = 0
  while (done < view.length) {
    const n = readSync(fd, view, done, view.length - done, positionBytes + done)
    if (n === 0) break
    done += n
  }
  return done
}

function checkChunk(chunkBytes: number): BadRequest | undefined {
  if (Number.isInteger(chunkBytes) && chunkBytes > 0 && chunkBytes <= MAX_IMAGE_BYTES &&
    chunkBytes % FILE_CHUNK_ALIGN_BYTES === 0) return undefined
  return invalid("chunkBytes", `a positive multiple of ${FILE_CHUNK_ALIGN_BYTES} bytes, at most ` +
    `${MAX_IMAGE_BYTES}, got ${chunkBytes}`)
}

/** Opens `path` for reading; a missing file is a NotFound. */
function openImage(path: string): Outcome<number, NotFound> {
  try {
    return ok(openSync(path, "r"))
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT") {
      return err(new NotFound({ resource: "image file", id: path }))
    }
    throw e
  }
}

function readChunk(fd: number, view: Uint8Array, positionBytes: number, path: string): void {
  const got = readFully(fd, view, positionBytes)
  if (got !== view.length) {
    throw new Error(`${path} shrank while being read: ${got} of ${view.length} bytes at ` +
      `${positionBytes}`)
  }
}

/**
 * Called after each chunk is diffed: the chunk's first byte offset, file A's bytes of it and its
 * part of the bitmap (bit 0 = the chunk's first block). The views are valid only during the call:
 * copy what you keep (the sender keeps the changed blocks, so it never reads them again).
 */
export type ChunkVisitor = (startBytes: number, chunkA: Uint8Array, chunkBitmap: Uint8Array,
  changedCount: number) => void

/**
 * The changed-block bitmap between two image files of any size, read `chunkBytes` at a time into
 * the kernels' input views. Same rules as `BlockKernels.diffBlocks`.
 */
export function diffImageFiles(
  kernels: BlockKernels,
  pathA: string,
  pathB: string,
  chunkBytes: number = FILE_CHUNK_BYTES_DEFAULT,
  visit?: ChunkVisitor,
): Outcome<BlockDiff, BadRequest | NotFound> {
  const badChunk = checkChunk(chunkBytes)
  if (badChunk !== undefined) return err(badChunk)
  const fdA = openImage(pathA)
  if (Result.isFailure(fdA)) return err(fdA.failure)
  const fdB = openImage(pathB)
  if (Result.isFailure(fdB)) {
    closeSync(fdA.success)
    return err(fdB.failure)
  }
  try {
    return ok(diffOpenFiles(kernels, [fdA.success, pathA], [fdB.success, pathB], chunkBytes,
      visit))
  } finally {
    closeSync(fdA.success)
    closeSync(fdB.success)
  }
}

function diffOpenFiles(
  kernels: BlockKernels,
  [fdA, pathA]: readonly [number, string],
  [fdB, pathB]: readonly [number, string],
  chunkBytes: number,
  visit: ChunkVisitor | undefined,
): BlockDiff {
  const sizeA = fstatSync(fdA).size, sizeB = fstatSync(fdB).size
  const blockCount = Math.max(blocksOf(sizeA), blocksOf(sizeB))
  const bitmap = new Uint8Array(bitmapBytes(blockCount))
  let changedCount = 0
  for (let start = 0; start < Math.max(sizeA, sizeB); start += chunkBytes) {
    const lenA = Math.max(0, Math.min(chunkBytes, sizeA - start))
    const lenB = Math.max(0, Math.min(chunkBytes, sizeB - start))
    const [viewA, viewB] = expectOk(kernels.inputViews(lenA, lenB))
    readChunk(fdA, viewA, start, pathA)
    readChunk(fdB, viewB, start, pathB)
    const out = bitmap.subarray(start / BLOCK_SIZE_BYTES / 8)
    const changed = kernels.backend === "ts" ? diffSkippingEqualRuns(kernels, viewA, viewB, out)
      : expectOk(kernels.diffBlocksInto(viewA, viewB, out))
    changedCount += changed
    visit?.(start, viewA, out, changed)
  }
  return { bitmap, blockCount, changedCount }
}

/** Bytes compared natively at a time before the kernel looks: 8 blocks, one bitmap byte. */
export const EQUAL_RUN_BYTES = FILE_CHUNK_ALIGN_BYTES

/**
 * The kernel's diff of one chunk, where runs of 8 blocks that native `memcmp` (Buffer.compare)
 * proves equal are skipped: for a backend slower than memcmp (the TypeScript reference) the
 * kernel then only scans the runs that differ. Same bitmap and count as one kernel call.
 */
function diffSkippingEqualRuns(
  kernels: BlockKernels, viewA: Uint8Array, viewB: Uint8Array, out: Uint8Array,
): number {
  const both = Math.min(viewA.length, viewB.length)
  const fullRunsBytes = both - (both % EQUAL_RUN_BYTES)
  let changedCount = 0
  for (let at = 0; at < fullRunsBytes; at += EQUAL_RUN_BYTES) {
    const a = viewA.subarray(at, at + EQUAL_RUN_BYTES)
    const b = viewB.subarray(at, at + EQUAL_RUN_BYTES)
    const byte = at / EQUAL_RUN_BYTES
    if (Buffer.compare(a, b) === 0) { out[byte] = 0; continue }
    changedCount += expectOk(kernels.diffBlocksInto(a, b, out.subarray(byte, byte + 1)))
  }
  const restA = viewA.subarray(fullRunsBytes), restB = viewB.subarray(fullRunsBytes)
  if (restA.length === 0 && restB.length === 0) return changedCount
  return changedCount +
    expectOk(kernels.diffBlocksInto(restA, restB, out.subarray(fullRunsBytes / EQUAL_RUN_BYTES)))
}

/**
 * One hash per 4 KiB block of an image file of any size, read `chunkBytes` at a time: xxHash64,
 * or the `fingerprint` named.
 */
export function hashImageFile(
  kernels: BlockKernels,
  path: string,
  chunkBytes: number = FILE_CHUNK_BYTES_DEFAULT,
  fingerprint: BlockFingerprint = "xxh64",
): Outcome<BigUint64Array, BadRequest | NotFound> {
  const badChunk = checkChunk(chunkBytes)
  if (badChunk !== undefined) return err(badChunk)
  const fd = openImage(path)
  if (Result.isFailure(fd)) return err(fd.failure)
  try {
    const sizeBytes = fstatSync(fd.success).size
    const hashes = new BigUint64Array(blocksOf(sizeBytes))
    for (let start = 0; start < sizeBytes; start += chunkBytes) {
      const view = expectOk(kernels.inputView(Math.min(chunkBytes, sizeBytes - start)))
      readChunk(fd.success, view, start, path)
      expectOk(fingerprintBlocksInto(kernels, fingerprint, view,
        hashes.subarray(start / BLOCK_SIZE_BYTES)))
    }
    return ok(hashes)
  } finally {
    closeSync(fd.success)
  }
}

/** Arguments built here are in range by construction; a failure is a bug, so it throws. */
function expectOk<A>(outcome: Outcome<A, BadRequest>): A {
  if (Result.isFailure(outcome)) {
    throw new Error(`kernel call rejected: ${outcome.failure.message}`)
  }
  return outcome.success
}
