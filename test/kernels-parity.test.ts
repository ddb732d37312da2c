// Parity properties: the WebAssembly backend and the TypeScript reference return the same bitmaps,
// counts and hashes on the same random inputs, and both agree with a naive oracle written here.
import { Result } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  BLOCK_SIZE_BYTES, type BlockKernels, referenceKernels, selectKernels, xxh64,
} from "../core/kernels/index.ts"

const B = BLOCK_SIZE_BYTES
const INITIAL_MEMORY_BYTES = 65536

function wasmKernels(): BlockKernels {
  const selection = selectKernels("wasm")
  if (Result.isFailure(selection)) throw new Error(selection.failure.message)
  return selection.success.kernels
}

function value<A>(r: Result.Result<A, { message: string }>): A {
  if (Result.isFailure(r)) throw new Error(r.failure.message)
  return r.success
}

/** `lengthBytes` of xorshift32 noise from `seed`, generated a 32-bit word at a time. */
function noise(lengthBytes: number, seed: number): Uint8Array {
  const words = new Uint32Array(Math.ceil(lengthBytes / 4))
  let x = (seed | 1) >>> 0
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5
    words[i] = x
  }
  return new Uint8Array(words.buffer, 0, lengthBytes)
}

/** The oracle: block i changed iff the two slices of block i differ as byte strings. */
function naiveChanged(a: Uint8Array, b: Uint8Array): number[] {
  const blockCount = Math.ceil(Math.max(a.length, b.length) / B)
  const changed: number[] = []
  for (let i = 0; i < blockCount; i++) {
    const sa = a.subarray(i * B, (i + 1) * B), sb = b.subarray(i * B, (i + 1) * B)
    if (sa.length !== sb.length || sa.some((v, k) => v !== sb[k])) changed.push(i)
  }
  return changed
}

function bitsOf(bitmap: Uint8Array, count: number): number[] {
  const set: number[] = []
  for (let i = 0; i < count; i++) if ((bitmap[i >>> 3]! >>> (i & 7)) & 1) set.push(i)
  return set
}

type Kind = "some" | "none" | "all" | "resized"

/** Image pairs of the shapes that matter: empty, partial, all/none changed, other lengths. */
const imagePair = fc.record({
  kind: fc.constantFrom<Kind>("some", "none", "all", "resized"),
  lengthBytes: fc.oneof(
    fc.integer({ min: 0, max: B }),
    fc.integer({ min: 0, max: 4 * B + 64 }),
    fc.constantFrom(0, 1, B - 1, B, B + 1, 2 * B, 3 * B),
  ),
  deltaBytes: fc.integer({ min: -2 * B, max: 2 * B }),
  changes: fc.array(fc.record({ at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }), {
    maxLength: 6,
  }),
  seed: fc.integer(),
}).map(({ kind, lengthBytes, deltaBytes, changes, seed }) => {
  const a = noise(lengthBytes, seed)
  if (kind === "none") return { a, b: a.slice() }
  if (kind === "all") return { a, b: noise(lengthBytes, seed ^ 0x5bd1e995) }
  const lengthB = kind === "resized" ? Math.max(0, lengthBytes + deltaBytes) : lengthBytes
  const b = new Uint8Array(lengthB)
  b.set(a.subarray(0, Math.min(lengthB, lengthBytes)))
  for (const { at, mask } of changes) if (lengthB > 0) b[at % lengthB] = b[at % lengthB]! ^ mask
  return { a, b }
})

describe("block kernels: WebAssembly and reference agree", () => {
  const ts = referenceKernels()
  const wasm = wasmKernels()

  it("diffBlocks equals the reference and the naive oracle", () => {
    fc.assert(fc.property(imagePair, fc.boolean(), ({ a, b }, viaViews) => {
      const expected = value(ts.diffBlocks(a, b))
      let inputs = [a, b] as const
      if (viaViews) {
        const views = value(wasm.inputViews(a.length, b.length))
        views[0].set(a)
        views[1].set(b)
        inputs = views
      }
      const actual = value(wasm.diffBlocks(inputs[0], inputs[1]))
      expect(actual).toEqual(expected)
      expect(bitsOf(actual.bitmap, actual.blockCount)).toEqual(naiveChanged(a, b))
    }))
  })

  it("hashBlocks equals the reference and xxh64 of each block", () => {
    fc.assert(fc.property(imagePair, fc.boolean(), ({ b }, viaView) => {
      let input = b
      if (viaView) {
        input = value(wasm.inputView(b.length))
        input.set(b)
      }
      const actual = value(wasm.hashBlocks(input))
      expect(actual).toEqual(value(ts.hashBlocks(b)))
      const blockCount = Math.ceil(b.length / B)
      expect(actual.length).toBe(blockCount)
      if (blockCount > 0) {
        const last = blockCount - 1
        expect(actual[last]).toBe(xxh64(b.subarray(last * B)))
      }
    }))
  })

  it("diffHashes equals the reference, and hash lists find the blocks the bytes do", () => {
    const hashList = fc.array(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), { maxLength: 40 })
    fc.assert(fc.property(hashList, hashList, fc.boolean(), (x, y, shareHead) => {
      const a = BigUint64Array.from(x)
      const b = BigUint64Array.from(shareHead ? [...x.slice(0, y.length >> 1), ...y] : y)
      expect(value(wasm.diffHashes(a, b))).toEqual(value(ts.diffHashes(a, b)))
    }))
    fc.assert(fc.property(imagePair, ({ a, b }) => {
      const byHash = value(wasm.diffHashes(value(wasm.hashBlocks(a)), value(wasm.hashBlocks(b))))
      expect(byHash).toEqual(value(ts.diffBlocks(a, b)))
    }))
  })

  it("a fresh kernel object keeps agreeing while its memory grows past the initial size", () => {
    const size = fc.oneof(
      fc.integer({ min: 0, max: 2 * B }),
      fc.integer({ min: INITIAL_MEMORY_BYTES - 2 * B, max: INITIAL_MEMORY_BYTES + 2 * B }),
    )
    fc.assert(fc.property(fc.array(fc.tuple(size, size, fc.integer()), { minLength: 1,
      maxLength: 3 }), (calls) => {
      const fresh = wasmKernels()
      for (const [lengthA, lengthB, seed] of calls) {
        const a = noise(lengthA, seed)
        const b = new Uint8Array(lengthB)
        b.set(a.subarray(0, lengthB))
        if (lengthB > 0) b[lengthB - 1] = b[lengthB - 1]! ^ 1
        expect(value(fresh.diffBlocks(a, b))).toEqual(value(ts.diffBlocks(a, b)))
        expect(value(fresh.hashBlocks(b))).toEqual(value(ts.hashBlocks(b)))
      }
    }))
  })
})
