/**
 * The block diff the replication data path needs, behind one interface so the backend is a
 * parameter (this TypeScript reference now; the kernels' WebAssembly backend when it is wired).
 *
 * A bitmap has one bit per block, least significant bit first within each byte; the image's
 * final block may be partial.
 */

/** Largest image the data path handles in one piece (4 GiB): a bound on every buffer. */
export const imageSizeBytesMax = 4 * 1024 ** 3
/** The block size of the replica stream. */
export const blockSizeBytesDefault = 4096

/** A changed-block bitmap backend. */
export interface BlockDiffBackend {
  readonly name: string
  /**
   * Bitmap of the blocks where `a` and `b` differ. Both must have the same length;
   * `blockSizeBytes` is a positive multiple of 4.
   */
  readonly changedBlocks: (a: Uint8Array, b: Uint8Array, blockSizeBytes: number) => Uint8Array
}

/** Number of blocks an image of `sizeBytes` has (the last may be partial). */
export function blockCountOf(sizeBytes: number, blockSizeBytes: number): number {
  return Math.ceil(sizeBytes / blockSizeBytes)
}

function checkArgs(a: Uint8Array, b: Uint8Array, blockSizeBytes: number): void {
  if (a.length !== b.length) throw new Error(`diff of unequal lengths ${a.length}/${b.length}`)
  if (a.length > imageSizeBytesMax) throw new Error("image larger than imageSizeBytesMax")
  if (!Number.isInteger(blockSizeBytes) || blockSizeBytes <= 0 || blockSizeBytes % 4 !== 0) {
    throw new Error(`block size ${blockSizeBytes} is not a positive multiple of 4`)
  }
}

function blockDiffers(a: Uint8Array, b: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (a[i] !== b[i]) return true
  return false
}

function wordsDiffer(a: Int32Array, b: Int32Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (a[i] !== b[i]) return true
  return false
}

/** The plain TypeScript reference: compares 32-bit words, stopping at a block's first change. */
export const typescriptDiff: BlockDiffBackend = {
  name: "typescript",
  changedBlocks(a, b, blockSizeBytes) {
    checkArgs(a, b, blockSizeBytes)
    const blockCount = blockCountOf(a.length, blockSizeBytes)
    const bitmap = new Uint8Array(Math.ceil(blockCount / 8))
    const aligned = a.byteOffset % 4 === 0 && b.byteOffset % 4 === 0
    const wordCount = aligned ? a.length >>> 2 : 0
    const wa = new Int32Array(a.buffer, a.byteOffset, wordCount)
    const wb = new Int32Array(b.buffer, b.byteOffset, wordCount)
    const wordsPerBlock = blockSizeBytes >>> 2
    for (let block = 0; block < blockCount; block++) {
      const start = block * blockSizeBytes
      const end = Math.min(start + blockSizeBytes, a.length)
      let differs: boolean
      if (end - start === blockSizeBytes && aligned) {
        const w = block * wordsPerBlock
        differs = wordsDiffer(wa, wb, w, w + wordsPerBlock)
      } else {
        differs = blockDiffers(a, b, start, end)
      }
      if (differs) bitmap[block >>> 3]! |= 1 << (block & 7)
    }
    return bitmap
  },
}

/** The indices of the set bits of `bitmap`, ascending, below `blockCount`. */
export function bitmapIndices(bitmap: Uint8Array, blockCount: number): number[] {
  if (bitmap.length * 8 < blockCount) throw new Error("bitmap shorter than blockCount")
  const out: number[] = []
  for (let byte = 0; byte < bitmap.length; byte++) {
    const bits = bitmap[byte]!
    if (bits === 0) continue
    for (let bit = 0; bit < 8; bit++) {
      const index = byte * 8 + bit
      if ((bits & (1 << bit)) !== 0 && index < blockCount) out.push(index)
    }
  }
  return out
}

/** A bitmap of `blockCount` blocks with the given indices set. */
export function bitmapOf(indices: ReadonlyArray<number>, blockCount: number): Uint8Array {
  const bitmap = new Uint8Array(Math.ceil(blockCount / 8))
  for (const index of indices) {
    if (!Number.isInteger(index) || index < 0 || index >= blockCount) {
      throw new Error(`block index ${index} outside 0..${blockCount - 1}`)
    }
    bitmap[index >>> 3]! |= 1 << (index & 7)
  }
  return bitmap
}

/** The union of two bitmaps of the same length. */
export function bitmapUnion(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length !== b.length) throw new Error("bitmaps of unequal lengths")
  const out = new Uint8Array(a.length)
  for (let i = 0; i < a.length; i++) out[i] = a[i]! | b[i]!
  return out
}
