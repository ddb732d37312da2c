// Block kernels: the rules every backend follows (table-driven), checked on each backend in turn.
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import type { BadRequest } from "../core/errors.ts"
import {
  type BlockKernels, BLOCK_SIZE_BYTES, changedBlocks, countChanged, isChanged, MAX_IMAGE_BYTES,
  referenceKernels, selectKernels, xxh64,
} from "../core/kernels/index.ts"

const KiB = 1024
const B = BLOCK_SIZE_BYTES

function wasmKernels(): BlockKernels {
  const selection = selectKernels("wasm")
  if (Result.isFailure(selection)) throw new Error(selection.failure.message)
  return selection.success.kernels
}

const backends: Array<[string, () => BlockKernels]> = [
  ["ts", referenceKernels],
  ["wasm", wasmKernels],
]

function filled(lengthBytes: number, seed = 1): Uint8Array {
  const bytes = new Uint8Array(lengthBytes)
  for (let i = 0; i < lengthBytes; i++) bytes[i] = (i * 31 + seed * 7 + (i >>> 12)) & 0xff
  return bytes
}

function withChanges(base: Uint8Array, offsets: ReadonlyArray<number>, length = base.length) {
  const copy = new Uint8Array(length)
  copy.set(base.subarray(0, Math.min(length, base.length)))
  for (const o of offsets) copy[o] = copy[o]! ^ 0x5a
  return copy
}

function value<A>(r: Result.Result<A, { message: string }>): A {
  if (Result.isFailure(r)) throw new Error(r.failure.message)
  return r.success
}

function failure<A>(r: Result.Result<A, { _tag: string; path?: string; message: string }>) {
  if (Result.isSuccess(r)) throw new Error("expected a BadRequest")
  return r.failure
}

describe.each(backends)("%s backend", (_name, make) => {
  const kernels = make()
  const base = filled(10 * B + 100)

  // [what, a, b, changed block indices, block count]
  const diffRules: Array<[string, Uint8Array, Uint8Array, number[], number]> = [
    ["two empty images", new Uint8Array(0), new Uint8Array(0), [], 0],
    ["equal images", base, base.slice(), [], 11],
    ["one byte changed in the middle", base, withChanges(base, [3 * B + 17]), [3], 11],
    ["first and last byte of a block", base, withChanges(base, [2 * B, 5 * B - 1]), [2, 4], 11],
    ["a change in the partial final block", base, withChanges(base, [10 * B + 99]), [10], 11],
    ["an empty image against data", new Uint8Array(0), base, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
      11],
    ["a shorter image: missing blocks changed", base.subarray(0, 4 * B), base, [4, 5, 6, 7, 8, 9,
      10], 11],
    ["same block count, different tail length", base.subarray(0, 10 * B + 50), base, [10], 11],
    ["one partial block, equal", filled(100), filled(100), [], 1],
    ["one partial block, one byte differs", filled(100), withChanges(filled(100), [0]), [0], 1],
    ["one byte against nothing", filled(1), new Uint8Array(0), [0], 1],
    ["every block changed", filled(4 * B, 1), filled(4 * B, 2), [0, 1, 2, 3], 4],
    ["exactly whole blocks, equal", filled(8 * B), filled(8 * B), [], 8],
    ["a zero byte extension is still a change", base, withChanges(base, [], base.length + 1), [10],
      11],
  ]

  it.each(diffRules)("diffBlocks: %s", (_what, a, b, expected, blockCount) => {
    const diff = value(kernels.diffBlocks(a, b))
    expect(diff.blockCount).toBe(blockCount)
    expect(changedBlocks(diff.bitmap, diff.blockCount)).toEqual(expected)
    expect(diff.changedCount).toBe(expected.length)
    expect(diff.bitmap.length).toBe(Math.ceil(blockCount / 8))
    const swapped = value(kernels.diffBlocks(b, a))
    expect(swapped).toEqual(diff)
  })

  it("diffBlocksInto writes the bitmap, clears padding bits and leaves bytes beyond alone", () => {
    const out = new Uint8Array(4).fill(0xff)
    const changed = value(kernels.diffBlocksInto(base, withChanges(base, [9 * B]), out))
    expect(changed).toBe(1)
    expect([...out]).toEqual([0, 0b10, 0xff, 0xff])
  })

  it("diffBlocksInto with an unaligned view of a larger buffer", () => {
    const backing = new Uint8Array(3 * B + 3)
    backing.set(filled(3 * B), 3)
    const a = backing.subarray(3)
    const b = withChanges(filled(3 * B), [B + 1])
    const out = new Uint8Array(1)
    expect(value(kernels.diffBlocksInto(a, b, out))).toBe(1)
    expect(isChanged(out, 1)).toBe(true)
  })

  it("hashBlocks: one xxHash64 per block, the partial last block over its real length", () => {
    const image = filled(2 * B + 10)
    const hashes = value(kernels.hashBlocks(image))
    expect([...hashes]).toEqual([
      xxh64(image.subarray(0, B)), xxh64(image.subarray(B, 2 * B)), xxh64(image.subarray(2 * B)),
    ])
    expect(value(kernels.hashBlocks(new Uint8Array(0))).length).toBe(0)
    expect(value(kernels.hashBlocks(new Uint8Array(B)))[0]).toBe(xxh64(new Uint8Array(B)))
  })

  it("hashBlocksInto writes only the image's entries", () => {
    const out = new BigUint64Array(4).fill(7n)
    expect(value(kernels.hashBlocksInto(filled(B + 1), out))).toBe(2)
    expect(out[2]).toBe(7n)
    expect(out[1]).toBe(xxh64(filled(B + 1).subarray(B)))
  })

  const hashRules: Array<[string, bigint[], bigint[], number[]]> = [
    ["two empty lists", [], [], []],
    ["equal lists", [1n, 2n, 3n], [1n, 2n, 3n], []],
    ["one entry differs", [1n, 2n, 3n], [1n, 9n, 3n], [1]],
    ["a longer list: extra entries differ", [1n, 2n], [1n, 2n, 3n, 4n], [2, 3]],
    ["high bits only", [1n << 63n, 5n], [0n, 5n], [0]],
    ["nine entries, the ninth differs", Array(9).fill(4n), [...Array(8).fill(4n), 5n], [8]],
  ]

  it.each(hashRules)("diffHashes: %s", (_what, a, b, expected) => {
    const diff = value(kernels.diffHashes(BigUint64Array.from(a), BigUint64Array.from(b)))
    expect(changedBlocks(diff.bitmap, diff.blockCount)).toEqual(expected)
    expect(diff.blockCount).toBe(Math.max(a.length, b.length))
    expect(diff.changedCount).toBe(expected.length)
  })

  it("a hash-list diff finds the same blocks as the image diff", () => {
    const other = withChanges(base, [0, 7 * B + 5, 10 * B + 1])
    const byHash = value(kernels.diffHashes(value(kernels.hashBlocks(base)),
      value(kernels.hashBlocks(other))))
    const byBytes = value(kernels.diffBlocks(base, other))
    expect(byHash).toEqual(byBytes)
    expect(changedBlocks(byBytes.bitmap, byBytes.blockCount)).toEqual([0, 7, 10])
  })

  it("inputViews: data read straight into the views diffs and hashes like plain arrays", () => {
    const other = withChanges(base, [6 * B])
    const [viewA, viewB] = value(kernels.inputViews(base.length, other.length))
    expect(viewA.length).toBe(base.length)
    viewA.set(base)
    viewB.set(other)
    const diff = value(kernels.diffBlocks(viewA, viewB))
    expect(changedBlocks(diff.bitmap, diff.blockCount)).toEqual([6])
    const only = value(kernels.inputView(other.length))
    only.set(other)
    expect(value(kernels.hashBlocks(only))).toEqual(value(referenceKernels().hashBlocks(other)))
  })

  it("inputViews passed swapped, twice the same, or as subarrays still diff correctly", () => {
    const a = filled(5 * B + 7, 1)
    const b = withChanges(a, [B, 4 * B + 3], 3 * B)
    const expected = value(referenceKernels().diffBlocks(a, b))
    const fill = () => {
      const views = value(kernels.inputViews(a.length, b.length))
      views[0].set(a)
      views[1].set(b)
      return views
    }
    let [viewA, viewB] = fill()
    expect(value(kernels.diffBlocks(viewB, viewA))).toEqual(value(referenceKernels()
      .diffBlocks(b, a)));
    [viewA, viewB] = fill()
    expect(value(kernels.diffBlocks(viewA, viewA)).changedCount).toBe(0);
    [viewA, viewB] = fill()
    expect(value(kernels.diffBlocks(viewA.subarray(0, 3 * B), viewB)))
      .toEqual(value(referenceKernels().diffBlocks(a.subarray(0, 3 * B), b)));
    [viewA, viewB] = fill()
    expect(value(kernels.diffBlocks(viewA, viewB))).toEqual(expected)
  })

  it("images larger than the kernel's initial memory, one after another", () => {
    for (const lengthBytes of [64 * KiB + 1, 300 * KiB, 1 * KiB, 700 * KiB + 5]) {
      const a = filled(lengthBytes, 3)
      const b = withChanges(a, [lengthBytes - 1, 0])
      const diff = value(kernels.diffBlocks(a, b))
      const last = Math.ceil(lengthBytes / B) - 1
      expect(changedBlocks(diff.bitmap, diff.blockCount)).toEqual(last === 0 ? [0] : [0, last])
      expect(value(kernels.hashBlocks(b))).toEqual(value(referenceKernels().hashBlocks(b)))
    }
  })

  // [what, call, path]
  const errorRules: Array<[string, () => Result.Result<unknown, BadRequest>, string]> = [
    ["a bitmap too small", () => kernels.diffBlocksInto(filled(9 * B), filled(9 * B),
      new Uint8Array(1)), "out"],
    ["a hash list too small", () => kernels.hashBlocksInto(filled(2 * B + 1),
      new BigUint64Array(2)), "out"],
    ["a hash-diff bitmap too small", () => kernels.diffHashesInto(new BigUint64Array(9),
      new BigUint64Array(1), new Uint8Array(1)), "out"],
    ["an input view beyond the bound", () => kernels.inputViews(MAX_IMAGE_BYTES + 1, 0), "lenA"],
    ["a negative input view", () => kernels.inputViews(0, -1), "lenB"],
    ["a fractional input view", () => kernels.inputViews(1.5, 0), "lenA"],
  ]

  it.each(errorRules)("BadRequest: %s", (_what, call, path) => {
    const problem = failure(call())
    expect(problem._tag).toBe("BadRequest")
    expect(problem.path).toBe(path)
  })

  it("an error writes nothing", () => {
    const out = new Uint8Array(1).fill(0xaa)
    failure(kernels.diffBlocksInto(filled(9 * B), filled(9 * B, 2), out))
    expect(out[0]).toBe(0xaa)
  })
})

describe("bitmap helpers", () => {
  const rules: Array<[number[], number, number[]]> = [
    [[], 0, []],
    [[0b1], 1, [0]],
    [[0b1000_0001, 0b1], 9, [0, 7, 8]],
    [[0xff, 0xff], 10, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]],
    [[0, 0b100], 16, [10]],
  ]
  it.each(rules)("%j over %i blocks", (bytes, blockCount, expected) => {
    const bitmap = Uint8Array.from(bytes)
    expect(changedBlocks(bitmap, blockCount)).toEqual(expected)
    expect(countChanged(bitmap, blockCount)).toBe(expected.length)
    for (const i of expected) expect(isChanged(bitmap, i)).toBe(true)
  })
})
