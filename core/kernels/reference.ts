/**
 * The TypeScript backend of BlockKernels: the reference every other backend is held equal to, and
 * the fallback where WebAssembly is unavailable. Written for clarity first, then for a fair speed:
 * where both images are 4-byte aligned, whole blocks are compared eight 32-bit words at a time
 * (the fastest plain TypeScript loop measured), with an early exit per block.
 */
import { diffBlockCount } from "./check.ts"
import { checkedKernels } from "./checked.ts"
import { BLOCK_SIZE_BYTES, type BlockKernels, bitmapBytes, blocksOf } from "./types.ts"
import { xxh3Halves } from "./xxh3-halves.ts"
import { xxh64RangeInto } from "./xxhash64.ts"

const WORDS_PER_BLOCK = BLOCK_SIZE_BYTES / 4

// Hash lists are written through a u32 view, low half first: that needs a little-endian host
// (every platform Node and the browsers run on); anything else must fail loudly, not silently.
if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error("core/kernels: a little-endian platform is required")
}

/** Whether block `index` of `a` and `b` differs (bytes or length within the block). */
export function blockDiffers(a: Uint8Array, b: Uint8Array, index: number): boolean {
  const start = index * BLOCK_SIZE_BYTES
  const endA = Math.max(start, Math.min(a.length, start + BLOCK_SIZE_BYTES))
  const endB = Math.max(start, Math.min(b.length, start + BLOCK_SIZE_BYTES))
  if (endA !== endB) return true
  for (let i = start; i < endA; i++) if (a[i] !== b[i]) return true
  return false
}

function wordsOf(bytes: Uint8Array): Int32Array | undefined {
  if (bytes.byteOffset % 4 !== 0) return undefined
  return new Int32Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 2)
}

/** Whether whole block `index` differs, eight words at a time (xor, or, test). */
function wordBlockDiffers(a: Int32Array, b: Int32Array, index: number): boolean {
  const start = index * WORDS_PER_BLOCK
  const end = start + WORDS_PER_BLOCK
  for (let i = start; i < end; i += 8) {
    const differences = (a[i]! ^ b[i]!) | (a[i + 1]! ^ b[i + 1]!) | (a[i + 2]! ^ b[i + 2]!) |
      (a[i + 3]! ^ b[i + 3]!) | (a[i + 4]! ^ b[i + 4]!) | (a[i + 5]! ^ b[i + 5]!) |
      (a[i + 6]! ^ b[i + 6]!) | (a[i + 7]! ^ b[i + 7]!)
    if (differences !== 0) return true
  }
  return false
}

/** The reference block diff (arguments already checked). */
function diffInto(a: Uint8Array, b: Uint8Array, out: Uint8Array): number {
  const blockCount = diffBlockCount(a.length, b.length)
  // Blocks that are whole in both images can be compared word by word.
  const wholeBoth = Math.floor(Math.min(a.length, b.length) / BLOCK_SIZE_BYTES)
  const wordsA = wordsOf(a), wordsB = wordsOf(b)
  let changed = 0
  out.fill(0, 0, bitmapBytes(blockCount))
  for (let index = 0; index < blockCount; index++) {
    const differs = wordsA !== undefined && wordsB !== undefined && index < wholeBoth
      ? wordBlockDiffers(wordsA, wordsB, index)
      : blockDiffers(a, b, index)
    if (differs) {
      out[index >>> 3] = out[index >>> 3]! | (1 << (index & 7))
      changed++
    }
  }
  return changed
}

function hashInto(image: Uint8Array, out: BigUint64Array): number {
  const blockCount = blocksOf(image.length)
  const words = new Uint32Array(out.buffer, out.byteOffset, blockCount * 2)
  for (let index = 0; index < blockCount; index++) {
    const start = index * BLOCK_SIZE_BYTES
    xxh64RangeInto(image, start, Math.min(image.length, start + BLOCK_SIZE_BYTES), words, index)
  }
  return blockCount
}

function xxh3Into(image: Uint8Array, out: BigUint64Array): number {
  const blockCount = blocksOf(image.length)
  for (let index = 0; index < blockCount; index++) {
    const start = index * BLOCK_SIZE_BYTES
    out[index] = xxh3Halves(image.subarray(start, Math.min(image.length, start + BLOCK_SIZE_BYTES)))
  }
  return blockCount
}

function hashDiffInto(a: BigUint64Array, b: BigUint64Array, out: Uint8Array): number {
  const count = Math.max(a.length, b.length)
  out.fill(0, 0, bitmapBytes(count))
  let changed = 0
  for (let index = 0; index < count; index++) {
    if (index >= a.length || index >= b.length || a[index] !== b[index]) {
      out[index >>> 3] = out[index >>> 3]! | (1 << (index & 7))
      changed++
    }
  }
  return changed
}

/** A growable pair of input buffers for `inputViews`. */
class InputArena {
  private bufferA = new Uint8Array(0)
  private bufferB = new Uint8Array(0)
  views(lenA: number, lenB: number): readonly [Uint8Array, Uint8Array] {
    if (this.bufferA.length < lenA) this.bufferA = new Uint8Array(lenA)
    if (this.bufferB.length < lenB) this.bufferB = new Uint8Array(lenB)
    return [this.bufferA.subarray(0, lenA), this.bufferB.subarray(0, lenB)]
  }
}

/** A new TypeScript-backend BlockKernels (each owns its own input buffers). */
export function referenceKernels(): BlockKernels {
  const arena = new InputArena()
  return checkedKernels("ts", {
    diffBlocksInto: diffInto,
    hashBlocksInto: hashInto,
    xxh3BlocksInto: xxh3Into,
    diffHashesInto: hashDiffInto,
    inputViews: (lenA, lenB) => arena.views(lenA, lenB),
    inputView: (len) => arena.views(len, 0)[0],
  })
}
