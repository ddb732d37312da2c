/**
 * The block kernels' contract, shared by every backend (TypeScript reference, WebAssembly).
 *
 * An image is a byte array cut into 4 KiB blocks; the final block may be partial. A *bitmap*
 * has one bit per block, least significant bit first: block `i` is bit `i & 7` of byte `i >>> 3`.
 * Bits past the last block in the final byte are written as 0.
 */
import type { BadRequest, Outcome } from "../errors.ts"

/** Bytes per block: the unit of change tracking and hashing. */
export const BLOCK_SIZE_BYTES = 4096
/** log2 of BLOCK_SIZE_BYTES. */
export const BLOCK_SHIFT = 12
/**
 * The largest image (or image chunk) one call accepts: 1 GiB. Whole disks larger than this are
 * processed chunk by chunk: with chunks that are a multiple of 8 blocks (32 KiB), chunk `k`'s
 * bitmap is `out.subarray(k * chunkBlocks / 8)` and its hashes `out.subarray(k * chunkBlocks)`.
 */
export const MAX_IMAGE_BYTES = 1 << 30
/** The most blocks one call handles (MAX_IMAGE_BYTES / BLOCK_SIZE_BYTES). */
export const MAX_BLOCKS = MAX_IMAGE_BYTES / BLOCK_SIZE_BYTES

/** The backends that implement BlockKernels. */
export type KernelBackend = "ts" | "wasm"

/** A changed-block bitmap with its size and the number of bits set. */
export interface BlockDiff {
  /** One bit per block (see the module comment for the layout); `bitmapBytes(blockCount)` long. */
  readonly bitmap: Uint8Array
  /** How many blocks the bitmap covers. */
  readonly blockCount: number
  /** How many of them changed (bits set). */
  readonly changedCount: number
}

/**
 * Block diff and block hash over images in memory. Every backend returns exactly the same results
 * for the same inputs (a parity property test holds them equal). Each `…Into` variant writes into
 * a caller's buffer and allocates nothing on the WebAssembly backend; a length that does not fit
 * is a BadRequest naming the argument, and then nothing has been written.
 */
export interface BlockKernels {
  /** Which implementation this is. */
  readonly backend: KernelBackend

  /**
   * Changed-block bitmap between two images: block `i` is set iff the bytes of block `i` differ
   * (a block present in only one image, or shorter in one, counts as changed). Covers
   * `max(blocksOf(a.length), blocksOf(b.length))` blocks; returns how many changed.
   */
  diffBlocksInto(a: Uint8Array, b: Uint8Array, out: Uint8Array): Outcome<number, BadRequest>
  /** `diffBlocksInto` with a freshly allocated bitmap. */
  diffBlocks(a: Uint8Array, b: Uint8Array): Outcome<BlockDiff, BadRequest>

  /**
   * One xxHash64 (seed 0) per block of `image`, the final partial block hashed over its real
   * length, written to `out[0 .. blocksOf(image.length))`; returns the block count.
   */
  hashBlocksInto(image: Uint8Array, out: BigUint64Array): Outcome<number, BadRequest>
  /** `hashBlocksInto` with a freshly allocated hash list. */
  hashBlocks(image: Uint8Array): Outcome<BigUint64Array, BadRequest>

  /**
   * One XXH3-64 (seed 0, default secret) per block of `image`, on the same terms as
   * `hashBlocksInto`: the cheaper block fingerprint where SIMD runs (the WebAssembly kernel
   * runs its accumulate loop on v128 lanes; the TypeScript backend uses 32-bit halves).
   */
  xxh3BlocksInto(image: Uint8Array, out: BigUint64Array): Outcome<number, BadRequest>
  /** `xxh3BlocksInto` with a freshly allocated hash list. */
  xxh3Blocks(image: Uint8Array): Outcome<BigUint64Array, BadRequest>

  /**
   * Bitmap of differing entries between two block-hash lists (for images on different hosts):
   * entry `i` is set iff `a[i] !== b[i]` or it exists in only one list. Covers
   * `max(a.length, b.length)` entries; returns how many differ.
   */
  diffHashesInto(a: BigUint64Array, b: BigUint64Array, out: Uint8Array): Outcome<number, BadRequest>
  /** `diffHashesInto` with a freshly allocated bitmap. */
  diffHashes(a: BigUint64Array, b: BigUint64Array): Outcome<BlockDiff, BadRequest>

  /**
   * Two writable views, `lenA` and `lenB` bytes long, owned by this kernel object, for a block
   * diff. An adapter reads image data straight into them (e.g. `fs.readSync(fd, views[0])`) and
   * passes them to `diffBlocksInto`/`diffBlocks`, which then copy nothing. On the WebAssembly
   * backend they are views of linear memory. They stay valid until the next call on this object
   * that is not given exactly these views (such a call may move or grow the memory they view).
   */
  inputViews(lenA: number, lenB: number): Outcome<readonly [Uint8Array, Uint8Array], BadRequest>

  /**
   * One writable view of `len` bytes for a block hash, on the same terms as `inputViews`: fill
   * it, pass it to `hashBlocksInto`/`hashBlocks`, and nothing is copied.
   */
  inputView(len: number): Outcome<Uint8Array, BadRequest>
}

/**
 * The per-block hashes BlockKernels computes: `xxh64` (xxHash64, `hashBlocksInto`) or `xxh3`
 * (XXH3-64, `xxh3BlocksInto`). A stored hash list records which one it holds.
 */
export type BlockFingerprint = "xxh64" | "xxh3"

/** The fingerprints, in the order of their codes in a stored hash list (xxh64 = 0). */
export const BLOCK_FINGERPRINTS: ReadonlyArray<BlockFingerprint> = ["xxh64", "xxh3"]

/** `kernels.hashBlocksInto` or `kernels.xxh3BlocksInto`, as `fingerprint` names. */
export function fingerprintBlocksInto(kernels: BlockKernels, fingerprint: BlockFingerprint,
  image: Uint8Array, out: BigUint64Array): Outcome<number, BadRequest> {
  return fingerprint === "xxh3" ? kernels.xxh3BlocksInto(image, out)
    : kernels.hashBlocksInto(image, out)
}

/** Blocks in an image of `lengthBytes` bytes (the last one may be partial). */
export function blocksOf(lengthBytes: number): number {
  return Math.ceil(lengthBytes / BLOCK_SIZE_BYTES)
}

/** Bytes in a bitmap of `blockCount` bits. */
export function bitmapBytes(blockCount: number): number {
  return Math.ceil(blockCount / 8)
}

/** Whether block `index` is set in `bitmap`. */
export function isChanged(bitmap: Uint8Array, index: number): boolean {
  return ((bitmap[index >>> 3]! >>> (index & 7)) & 1) === 1
}

/** The number of bits set among the first `blockCount` bits of `bitmap`. */
export function countChanged(bitmap: Uint8Array, blockCount: number): number {
  const fullBytes = blockCount >>> 3
  let count = 0
  for (let i = 0; i < fullBytes; i++) count += popcount8(bitmap[i]!)
  const restBits = blockCount & 7
  if (restBits > 0) count += popcount8(bitmap[fullBytes]! & ((1 << restBits) - 1))
  return count
}

/** The indices of the set bits among the first `blockCount` bits, ascending. */
export function changedBlocks(bitmap: Uint8Array, blockCount: number): number[] {
  const indices: number[] = []
  const byteCount = bitmapBytes(blockCount)
  for (let byte = 0; byte < byteCount; byte++) {
    let bits = bitmap[byte]!
    while (bits !== 0) {
      const bit = 31 - Math.clz32(bits & -bits)
      const index = byte * 8 + bit
      if (index < blockCount) indices.push(index)
      bits &= bits - 1
    }
  }
  return indices
}

function popcount8(byte: number): number {
  let v = byte - ((byte >>> 1) & 0x55)
  v = (v & 0x33) + ((v >>> 2) & 0x33)
  return (v + (v >>> 4)) & 0x0f
}
