// XXH3-64, the block fingerprint: the BigInt reference against xxHash's published vectors, and
// the WebAssembly kernel (SIMD accumulate loop) against the reference on random blocks.
import fc from "fast-check"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import {
  type BlockKernels, referenceKernels, selectKernels, xxh3,
} from "../core/kernels/index.ts"
import { xxh3Halves } from "../core/kernels/xxh3-halves.ts"
import { MASK64, PRIME64, sanityBuffer } from "./hash-vectors.ts"

const B = 4096

function value<A>(r: Result.Result<A, { readonly message: string }>): A {
  if (Result.isFailure(r)) throw new Error(r.failure.message)
  return r.success
}

const wasm = selectKernels("wasm")
const wasmKernels: BlockKernels | null = Result.isSuccess(wasm) ? wasm.success.kernels : null

describe("xxh3 against published vectors", () => {
  // xxHash's self-test (cli/xsum_sanity_check.c, XSUM_XXH3_testdata): length, seed, hash. Each
  // length range of the algorithm, and the long path's block and stripe boundaries.
  const published: Array<[number, bigint, bigint]> = [
    [0, 0n, 0x2d06800538d394c2n], [0, PRIME64, 0xa8a6b918b2f0364an],
    [1, 0n, 0xc44bdff4074eecdbn], [1, PRIME64, 0x032be332dd766ef8n],
    [6, 0n, 0x27b56a84cd2d7325n], [6, PRIME64, 0x84589c116ab59ab9n],
    [12, 0n, 0xa713daf0dfbb77e7n], [12, PRIME64, 0xe7303e1b2336de0en],
    [24, 0n, 0xa3fe70bf9d3510ebn], [24, PRIME64, 0x850e80fc35bdd690n],
    [48, 0n, 0x397da259ecba1f11n], [48, PRIME64, 0xadc2cbaa44acc616n],
    [80, 0n, 0xbcdefbbb2c47c90an], [80, PRIME64, 0xc6dd0cb699532e73n],
    [195, 0n, 0xcd94217ee362ec3an], [195, PRIME64, 0xba68003d370cb3d9n],
    [403, 0n, 0xcdeb804d65c6dea4n], [403, PRIME64, 0x6259f6ecfd6443fdn],
    [512, 0n, 0x617e49599013cb6bn], [512, PRIME64, 0x3ce457de14c27708n],
    [2048, 0n, 0xdd59e2c3a5f038e0n], [2048, PRIME64, 0x66f81670669ababcn],
    [2099, 0n, 0xc6b9d9b3fc9ac765n], [2099, PRIME64, 0x184f316843663974n],
    [2240, 0n, 0x6e73a90539cf2948n], [2240, PRIME64, 0x757ba8487d1b5247n],
    [2367, 0n, 0xcb37aeb9e5d361edn], [2367, PRIME64, 0xd2db3415b942b42an],
  ]
  // The edges of each length range and of a 4 KiB block, seed 0, over the same buffer: computed
  // by xxHash's own xxhsum 0.8.1 (`xxhsum -H3` of the buffer's first N bytes), which reproduces
  // every published seed-0 value above.
  const fromXxhsum: Array<[number, bigint]> = [
    [3, 0x54247382a8d6b94dn], [4, 0xe5dc74bc51848a51n], [8, 0x24ccc9acaa9f65e4n],
    [9, 0x14d5001c15dd3f2bn], [16, 0x981b17d36c7498c9n], [17, 0x796f5acd3a60f862n],
    [128, 0xfcff24126754d861n], [129, 0x98f1b0a679a2ca29n], [240, 0x81c3c2b67f568ccfn],
    [241, 0xc5a639ecd2030e5en], [1024, 0xdd85c9b5c1109c5cn], [4095, 0x3044187222ab0efbn],
    [4096, 0xe91206429d1f48f9n], [4097, 0xdac80d543e339451n], [4160, 0x4f323b15321e94e1n],
    [4161, 0xefb6ccb06c0b206an],
  ]

  it.each(published)("sanity buffer of %i bytes, seed %s (published)", (length, seed, hash) => {
    expect(xxh3(sanityBuffer(length), seed)).toBe(hash)
  })

  it.each(fromXxhsum)("sanity buffer of %i bytes (xxhsum)", (length, hash) => {
    expect(xxh3(sanityBuffer(length))).toBe(hash)
  })

  it("takes seeds modulo 2^64", () => {
    const bytes = sanityBuffer(300)
    expect(xxh3(bytes, 1n << 64n)).toBe(xxh3(bytes))
    expect(xxh3(bytes, -1n)).toBe(xxh3(bytes, MASK64))
    expect(xxh3(bytes, 1n)).not.toBe(xxh3(bytes))
  })

  it.skipIf(wasmKernels === null)("the kernel gives the published values, one per block", () => {
    const kernels = wasmKernels!
    for (const [length, hash] of [...published.filter(([, seed]) => seed === 0n)
      .map(([length, , hash]) => [length, hash] as const), ...fromXxhsum]) {
      if (length > B) continue
      expect(value(kernels.xxh3Blocks(sanityBuffer(length)))).toEqual(
        length === 0 ? new BigUint64Array(0) : new BigUint64Array([hash]))
    }
    // Blocks after the first are hashed on their own (the second block of 4097 bytes is 1 byte).
    const twoBlocks = value(kernels.xxh3Blocks(sanityBuffer(B + 1)))
    expect(twoBlocks[0]).toBe(0xe91206429d1f48f9n)
    expect(twoBlocks[1]).toBe(xxh3(sanityBuffer(B + 1).subarray(B)))
  })
})

describe("xxh3 in 32-bit halves (the TypeScript backend's) against the BigInt reference", () => {
  it("agrees on random inputs of every length from 0 to three blocks, at any alignment", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 3 * B + 100 }), fc.nat(3),
      (bytes, offset) => {
        const shifted = new Uint8Array(bytes.length + offset)
        shifted.set(bytes, offset)
        expect(xxh3Halves(shifted.subarray(offset))).toBe(xxh3(bytes))
      }))
  })

  it("agrees on the published and xxhsum vectors over 240 bytes", () => {
    for (const length of [241, 403, 512, 1024, 2048, 2099, 2240, 2367, 4095, 4096, 4161]) {
      expect(xxh3Halves(sanityBuffer(length))).toBe(xxh3(sanityBuffer(length)))
    }
    expect(xxh3Halves(sanityBuffer(4096))).toBe(0xe91206429d1f48f9n)
  })

  it("gets every carry right: all-ones input, whose products and sums overflow each lane", () => {
    for (const length of [241, 4096]) {
      const ones = new Uint8Array(length).fill(0xff)
      expect(xxh3Halves(ones)).toBe(xxh3(ones))
    }
  })
})

describe("the TypeScript backend", () => {
  it("hashes each block on its own, the final one over its real length", () => {
    const image = sanityBuffer(2 * B + 300)
    expect(value(referenceKernels().xxh3Blocks(image))).toEqual(BigUint64Array.from([
      xxh3(image.subarray(0, B)), xxh3(image.subarray(B, 2 * B)), xxh3(image.subarray(2 * B)),
    ]))
  })

  it("rejects a hash list too small, naming it, and writes nothing", () => {
    const out = new BigUint64Array([7n])
    const result = referenceKernels().xxh3BlocksInto(sanityBuffer(B + 1), out)
    expect(Result.isFailure(result) && result.failure.path).toBe("out")
    expect(out[0]).toBe(7n)
  })
})

describe.skipIf(wasmKernels === null)("xxh3 kernel parity with the reference", () => {
  const kernels = wasmKernels!
  const ts = referenceKernels()
  // Sizes up to three blocks and a partial one, weighted towards the length ranges' edges.
  const size = fc.oneof(
    fc.integer({ min: 0, max: 3 * B + 300 }),
    fc.constantFrom(0, 1, 3, 4, 8, 9, 16, 17, 128, 129, 240, 241, 1024, 1025, B - 1, B, B + 1,
      2 * B, 2 * B + 240, 2 * B + 241, 3 * B),
  )

  it("equal on random blocks and block counts, whole and partial", () => {
    fc.assert(fc.property(size, fc.integer(), fc.boolean(), (length, seed, viaView) => {
      const bytes = new Uint8Array(length)
      let x = seed | 1
      for (let i = 0; i < length; i++) {
        x ^= x << 13; x ^= x >>> 17; x ^= x << 5
        bytes[i] = x & 0xff
      }
      const expected = value(ts.xxh3Blocks(bytes))
      // Through the kernel's own input view (no copy) or from a buffer elsewhere (copied in).
      const input = viaView ? value(kernels.inputView(length)) : bytes
      if (viaView) input.set(bytes)
      const out = new BigUint64Array(expected.length + 1).fill(9n)
      expect(value(kernels.xxh3BlocksInto(input, out))).toBe(expected.length)
      expect(out.subarray(0, expected.length)).toEqual(expected)
      expect(out[expected.length]).toBe(9n)
    }))
  })

  it("one changed byte anywhere changes its block's fingerprint only", () => {
    const image = sanityBuffer(3 * B)
    const before = value(kernels.xxh3Blocks(image))
    fc.assert(fc.property(fc.nat(3 * B - 1), fc.integer({ min: 1, max: 255 }), (at, flip) => {
      const changed = Uint8Array.from(image)
      changed[at] = changed[at]! ^ flip
      const after = value(kernels.xxh3Blocks(changed))
      for (let block = 0; block < 3; block++) {
        expect(after[block] === before[block]).toBe(block !== Math.floor(at / B))
      }
    }))
  })
})
