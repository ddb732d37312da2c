/**
 * Argument checks shared by every backend, so that both reject exactly the same calls with the
 * same BadRequest. Each returns the error, or undefined when the argument fits (no allocation on
 * the good path).
 */
import { type BadRequest, invalid } from "../errors.ts"
import { bitmapBytes, blocksOf, MAX_BLOCKS, MAX_IMAGE_BYTES } from "./types.ts"

/** An image (or chunk) must be at most MAX_IMAGE_BYTES long. */
export function checkImage(path: string, image: Uint8Array): BadRequest | undefined {
  return checkImageLength(path, image.length)
}

/** A requested image length must be an integer in [0, MAX_IMAGE_BYTES]. */
export function checkImageLength(path: string, lengthBytes: number): BadRequest | undefined {
  if (Number.isInteger(lengthBytes) && lengthBytes >= 0 && lengthBytes <= MAX_IMAGE_BYTES) {
    return undefined
  }
  return invalid(path, `an image length in bytes from 0 to ${MAX_IMAGE_BYTES} (1 GiB); ` +
    `larger images are processed chunk by chunk, got ${lengthBytes}`)
}

/** A hash list must have at most MAX_BLOCKS entries. */
export function checkHashList(path: string, hashes: BigUint64Array): BadRequest | undefined {
  if (hashes.length <= MAX_BLOCKS) return undefined
  return invalid(path, `a block-hash list of at most ${MAX_BLOCKS} entries, got ${hashes.length}`)
}

/** A bitmap output must hold at least `blockCount` bits. */
export function checkBitmapOut(
  path: string,
  out: Uint8Array,
  blockCount: number,
): BadRequest | undefined {
  const needBytes = bitmapBytes(blockCount)
  if (out.length >= needBytes) return undefined
  return invalid(path, `a bitmap of at least ${needBytes} bytes for ${blockCount} blocks, ` +
    `got ${out.length}`)
}

/** A hash output must hold at least one entry per block. */
export function checkHashOut(
  path: string,
  out: BigUint64Array,
  blockCount: number,
): BadRequest | undefined {
  if (out.length >= blockCount) return undefined
  return invalid(path, `a hash list of at least ${blockCount} entries, got ${out.length}`)
}

/** Blocks covered by a diff of images `a` and `b`. */
export function diffBlockCount(lengthA: number, lengthB: number): number {
  return Math.max(blocksOf(lengthA), blocksOf(lengthB))
}
