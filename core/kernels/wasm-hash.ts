/**
 * The WebAssembly block hash kernel's wrapper (image → one xxHash64 per block) and the memory it
 * owns, apart from wasm.ts so that a worker thread can drive the kernel without loading the rest
 * of the kernels (no Effect): it imports only the WebAssembly runtime and type-only contracts.
 */
import { blocksOf } from "./types.ts"
import {
  alignUp, exportedFunction, instantiate, LinearMemory, memoryOf, regionBase,
} from "./wasm-runtime.ts"

type HashFunction = (image: number, imageBytes: number, out: number) => number

/** Bytes per hash in linear memory. */
export const HASH_BYTES = 8

/**
 * What to copy into linear memory at `offset` for `view`: nothing when it already lies there, a
 * snapshot when it lies elsewhere in the same memory (placing the other input could overwrite it,
 * and growing detaches it), else the view itself.
 */
export function staged<T extends Uint8Array | BigUint64Array>(
  memory: LinearMemory,
  view: T,
  offset: number,
): T | undefined {
  if (view.length === 0 || memory.holdsAt(view, offset)) return undefined
  return memory.holds(view) ? (view.slice() as T) : view
}

/** The block hash kernel (image → one xxHash64 per block) and the memory it owns. */
export class HashKernel {
  private readonly memory: LinearMemory
  private readonly hashBlocksFn: HashFunction

  constructor(module: object) {
    const exports = instantiate(module)
    this.memory = new LinearMemory(memoryOf(exports), regionBase(exports))
    this.hashBlocksFn = exportedFunction<HashFunction>(exports, "hashBlocks")
  }

  /** The view where a hash of an image of `len` bytes finds its input. */
  inputView(len: number): Uint8Array {
    const offset = this.memory.base
    this.memory.reserve(offset + alignUp(len) + blocksOf(len) * HASH_BYTES)
    return this.memory.bytes.subarray(offset, offset + len)
  }

  /** One hash per block of `image` into `out`; returns the block count. */
  hashBlocksInto(image: Uint8Array, out: BigUint64Array): number {
    const len = image.length
    const blockCount = blocksOf(len)
    const offset = this.memory.base
    const outOffset = offset + alignUp(len)
    const copy = staged(this.memory, image, offset)
    this.memory.reserve(outOffset + blockCount * HASH_BYTES)
    if (copy !== undefined) this.memory.bytes.set(copy, offset)
    const written = this.hashBlocksFn(offset, len, outOffset)
    if (written !== blockCount) throw new Error(`hashBlocks wrote ${written} of ${blockCount}`)
    const first = outOffset / HASH_BYTES
    out.set(this.memory.words.subarray(first, first + blockCount))
    return blockCount
  }
}
