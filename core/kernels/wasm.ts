/**
 * The WebAssembly backend of BlockKernels: one wrapper per kernel module (block diff, block hash),
 * each owning its instance's linear memory. Inputs are placed at fixed offsets above the module's
 * static data; an input that already lies there (a view from `inputViews`/`inputView`, filled by
 * an adapter) is not copied. Memory grows only when a call needs more, and the views over it are
 * remade only then. No buffer is allocated per call (only the small subarray that hands results
 * back); lengths are checked before any kernel runs (checked.ts), since release builds of the
 * kernels carry no asserts.
 */
import { diffBlockCount } from "./check.ts"
import { checkedKernels } from "./checked.ts"
import { bitmapBytes, type BlockKernels, blocksOf } from "./types.ts"
import {
  alignUp, exportedFunction, instantiate, LinearMemory, memoryOf, regionBase,
} from "./wasm-runtime.ts"

type DiffFunction = (a: number, aCount: number, b: number, bCount: number, out: number) => number
type HashFunction = (image: number, imageBytes: number, out: number) => number

const HASH_BYTES = 8

/**
 * What to copy into linear memory at `offset` for `view`: nothing when it already lies there, a
 * snapshot when it lies elsewhere in the same memory (placing the other input could overwrite it,
 * and growing detaches it), else the view itself.
 */
function staged<T extends Uint8Array | BigUint64Array>(
  memory: LinearMemory,
  view: T,
  offset: number,
): T | undefined {
  if (view.length === 0 || memory.holdsAt(view, offset)) return undefined
  return memory.holds(view) ? (view.slice() as T) : view
}

function assertCount(what: string, count: number, max: number): number {
  if (!Number.isInteger(count) || count < 0 || count > max) {
    throw new Error(`${what} kernel returned ${count}, outside [0, ${max}]`)
  }
  return count
}

/** The block diff kernel (images or hash lists → bitmap) and the memory it owns. */
export class DiffKernel {
  private readonly memory: LinearMemory
  private readonly diffBlocksFn: DiffFunction
  private readonly diffHashesFn: DiffFunction

  constructor(module: object) {
    const exports = instantiate(module)
    this.memory = new LinearMemory(memoryOf(exports), regionBase(exports))
    this.diffBlocksFn = exportedFunction<DiffFunction>(exports, "diffBlocks")
    this.diffHashesFn = exportedFunction<DiffFunction>(exports, "diffHashes")
  }

  /** Views where a diff of images of `lenA` and `lenB` bytes finds its inputs. */
  inputViews(lenA: number, lenB: number): readonly [Uint8Array, Uint8Array] {
    const offsetA = this.memory.base
    const offsetB = offsetA + alignUp(lenA)
    const outOffset = offsetB + alignUp(lenB)
    this.memory.reserve(outOffset + bitmapBytes(diffBlockCount(lenA, lenB)))
    const bytes = this.memory.bytes
    return [bytes.subarray(offsetA, offsetA + lenA), bytes.subarray(offsetB, offsetB + lenB)]
  }

  /** The changed-block bitmap of `a` and `b` into `out`; returns the changed count. */
  diffBlocksInto(a: Uint8Array, b: Uint8Array, out: Uint8Array): number {
    const lenA = a.length, lenB = b.length
    const blockCount = diffBlockCount(lenA, lenB)
    const offsetA = this.memory.base
    const offsetB = offsetA + alignUp(lenA)
    const outOffset = offsetB + alignUp(lenB)
    const outBytes = bitmapBytes(blockCount)
    const copyA = staged(this.memory, a, offsetA)
    const copyB = staged(this.memory, b, offsetB)
    this.memory.reserve(outOffset + outBytes)
    if (copyA !== undefined) this.memory.bytes.set(copyA, offsetA)
    if (copyB !== undefined) this.memory.bytes.set(copyB, offsetB)
    const changed = this.diffBlocksFn(offsetA, lenA, offsetB, lenB, outOffset)
    out.set(this.memory.bytes.subarray(outOffset, outOffset + outBytes))
    return assertCount("diffBlocks", changed, blockCount)
  }

  /** The bitmap of differing entries of hash lists `a` and `b` into `out`; returns the count. */
  diffHashesInto(a: BigUint64Array, b: BigUint64Array, out: Uint8Array): number {
    const count = Math.max(a.length, b.length)
    const offsetA = this.memory.base
    const offsetB = offsetA + alignUp(a.length * HASH_BYTES)
    const outOffset = offsetB + alignUp(b.length * HASH_BYTES)
    const outBytes = bitmapBytes(count)
    const copyA = staged(this.memory, a, offsetA)
    const copyB = staged(this.memory, b, offsetB)
    this.memory.reserve(outOffset + outBytes)
    if (copyA !== undefined) this.memory.words.set(copyA, offsetA / HASH_BYTES)
    if (copyB !== undefined) this.memory.words.set(copyB, offsetB / HASH_BYTES)
    const changed = this.diffHashesFn(offsetA, a.length, offsetB, b.length, outOffset)
    out.set(this.memory.bytes.subarray(outOffset, outOffset + outBytes))
    return assertCount("diffHashes", changed, count)
  }
}

/**
 * The block hash kernel (image → one xxHash64, or one XXH3-64, per block) and the memory it owns
 * (both hashes share the input view).
 */
export class HashKernel {
  private readonly memory: LinearMemory
  private readonly hashBlocksFn: HashFunction
  private readonly xxh3BlocksFn: HashFunction

  constructor(module: object) {
    const exports = instantiate(module)
    this.memory = new LinearMemory(memoryOf(exports), regionBase(exports))
    this.hashBlocksFn = exportedFunction<HashFunction>(exports, "hashBlocks")
    this.xxh3BlocksFn = exportedFunction<HashFunction>(exports, "xxh3Blocks")
  }

  /** The view where a hash of an image of `len` bytes finds its input. */
  inputView(len: number): Uint8Array {
    const offset = this.memory.base
    this.memory.reserve(offset + alignUp(len) + blocksOf(len) * HASH_BYTES)
    return this.memory.bytes.subarray(offset, offset + len)
  }

  /** One xxHash64 per block of `image` into `out`; returns the block count. */
  hashBlocksInto(image: Uint8Array, out: BigUint64Array): number {
    return this.run(this.hashBlocksFn, "hashBlocks", image, out)
  }

  /** One XXH3-64 per block of `image` into `out`; returns the block count. */
  xxh3BlocksInto(image: Uint8Array, out: BigUint64Array): number {
    return this.run(this.xxh3BlocksFn, "xxh3Blocks", image, out)
  }

  private run(kernel: HashFunction, name: string, image: Uint8Array, out: BigUint64Array): number {
    const len = image.length
    const blockCount = blocksOf(len)
    const offset = this.memory.base
    const outOffset = offset + alignUp(len)
    const copy = staged(this.memory, image, offset)
    this.memory.reserve(outOffset + blockCount * HASH_BYTES)
    if (copy !== undefined) this.memory.bytes.set(copy, offset)
    const written = kernel(offset, len, outOffset)
    if (written !== blockCount) throw new Error(`${name} wrote ${written} of ${blockCount}`)
    const first = outOffset / HASH_BYTES
    out.set(this.memory.words.subarray(first, first + blockCount))
    return blockCount
  }
}

/** A new WebAssembly-backend BlockKernels over compiled diff and hash modules. */
export function wasmKernels(diffModule: object, hashModule: object): BlockKernels {
  const diff = new DiffKernel(diffModule)
  const hash = new HashKernel(hashModule)
  return checkedKernels("wasm", {
    diffBlocksInto: (a, b, out) => diff.diffBlocksInto(a, b, out),
    hashBlocksInto: (image, out) => hash.hashBlocksInto(image, out),
    xxh3BlocksInto: (image, out) => hash.xxh3BlocksInto(image, out),
    diffHashesInto: (a, b, out) => diff.diffHashesInto(a, b, out),
    inputViews: (lenA, lenB) => diff.inputViews(lenA, lenB),
    inputView: (len) => hash.inputView(len),
  })
}
