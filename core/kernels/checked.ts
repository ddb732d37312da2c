/**
 * Builds a BlockKernels from a backend's unchecked operations: every argument check (shared by all
 * backends, see check.ts) happens here, before the backend sees the call, so backends reject
 * exactly the same calls and an error never leaves a partial write behind.
 */
import { type BadRequest, err, ok, type Outcome } from "../errors.ts"
import {
  checkBitmapOut, checkHashList, checkHashOut, checkImage, checkImageLength, diffBlockCount,
} from "./check.ts"
import {
  type BlockDiff, type BlockKernels, type KernelBackend, bitmapBytes, blocksOf,
} from "./types.ts"

/** A backend's operations on arguments already checked; each returns what its doc says. */
export interface UncheckedKernels {
  /** Writes the bitmap, returns the changed count. */
  readonly diffBlocksInto: (a: Uint8Array, b: Uint8Array, out: Uint8Array) => number
  /** Writes one xxHash64 per block, returns the block count. */
  readonly hashBlocksInto: (image: Uint8Array, out: BigUint64Array) => number
  /** Writes one XXH3-64 per block, returns the block count. */
  readonly xxh3BlocksInto: (image: Uint8Array, out: BigUint64Array) => number
  /** Writes the bitmap of differing entries, returns how many differ. */
  readonly diffHashesInto: (a: BigUint64Array, b: BigUint64Array, out: Uint8Array) => number
  /** Views for a diff's two inputs. */
  readonly inputViews: (lenA: number, lenB: number) => readonly [Uint8Array, Uint8Array]
  /** A view for a hash's input. */
  readonly inputView: (len: number) => Uint8Array
}

/** The BlockKernels of `backend`, checking every argument before `unchecked` runs. */
export function checkedKernels(backend: KernelBackend, unchecked: UncheckedKernels): BlockKernels {
  const xxh64 = checkedHashes((image, out) => unchecked.hashBlocksInto(image, out))
  const xxh3 = checkedHashes((image, out) => unchecked.xxh3BlocksInto(image, out))
  return {
    backend,
    diffBlocksInto: (a, b, out) => {
      const problem = checkImage("a", a) ?? checkImage("b", b) ??
        checkBitmapOut("out", out, diffBlockCount(a.length, b.length))
      return problem === undefined ? ok(unchecked.diffBlocksInto(a, b, out)) : err(problem)
    },
    diffBlocks: (a, b) => {
      const problem = checkImage("a", a) ?? checkImage("b", b)
      if (problem !== undefined) return err(problem)
      const blockCount = diffBlockCount(a.length, b.length)
      return ok(withBitmap(blockCount, (out) => unchecked.diffBlocksInto(a, b, out)))
    },
    hashBlocksInto: xxh64.into,
    hashBlocks: xxh64.fresh,
    xxh3BlocksInto: xxh3.into,
    xxh3Blocks: xxh3.fresh,
    diffHashesInto: (a, b, out) => {
      const problem = checkHashList("a", a) ?? checkHashList("b", b) ??
        checkBitmapOut("out", out, Math.max(a.length, b.length))
      return problem === undefined ? ok(unchecked.diffHashesInto(a, b, out)) : err(problem)
    },
    diffHashes: (a, b) => {
      const problem = checkHashList("a", a) ?? checkHashList("b", b)
      if (problem !== undefined) return err(problem)
      const count = Math.max(a.length, b.length)
      return ok(withBitmap(count, (out) => unchecked.diffHashesInto(a, b, out)))
    },
    inputViews: (lenA, lenB): Outcome<readonly [Uint8Array, Uint8Array], BadRequest> => {
      const problem = checkImageLength("lenA", lenA) ?? checkImageLength("lenB", lenB)
      return problem === undefined ? ok(unchecked.inputViews(lenA, lenB)) : err(problem)
    },
    inputView: (len) => {
      const problem = checkImageLength("len", len)
      return problem === undefined ? ok(unchecked.inputView(len)) : err(problem)
    },
  }
}

/** A per-block hash checked: into the caller's list, and into a fresh one. */
function checkedHashes(hashInto: (image: Uint8Array, out: BigUint64Array) => number) {
  return {
    into: (image: Uint8Array, out: BigUint64Array): Outcome<number, BadRequest> => {
      const problem = checkImage("image", image) ??
        checkHashOut("out", out, blocksOf(image.length))
      return problem === undefined ? ok(hashInto(image, out)) : err(problem)
    },
    fresh: (image: Uint8Array): Outcome<BigUint64Array, BadRequest> => {
      const problem = checkImage("image", image)
      if (problem !== undefined) return err(problem)
      const out = new BigUint64Array(blocksOf(image.length))
      hashInto(image, out)
      return ok(out)
    },
  }
}

function withBitmap(blockCount: number, fill: (out: Uint8Array) => number): BlockDiff {
  const bitmap = new Uint8Array(bitmapBytes(blockCount))
  const changedCount = fill(bitmap)
  return { bitmap, blockCount, changedCount }
}
