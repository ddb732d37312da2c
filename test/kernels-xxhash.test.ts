// xxHash64 reference: xxHash's published sanity vectors, a few well-known strings, and a property
// that holds the 32-bit-halves implementation equal to a direct BigInt transcription of XXH64.
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { xxh64 } from "../core/kernels/index.ts"
import { MASK64, PRIME32, sanityBuffer } from "./hash-vectors.ts"

const P1 = 0x9e3779b185ebca87n, P2 = 0xc2b2ae3d27d4eb4fn, P3 = 0x165667b19e3779f9n
const P4 = 0x85ebca77c2b2ae63n, P5 = 0x27d4eb2f165667c5n

// XXH64 as the specification states it, one BigInt operation per step: slow and obviously right.
const rotl = (x: bigint, r: bigint) => ((x << r) | (x >> (64n - r))) & MASK64
const mulMod = (a: bigint, b: bigint) => (a * b) & MASK64
const round = (acc: bigint, input: bigint) => mulMod(rotl((acc + input * P2) & MASK64, 31n), P1)
const merge = (acc: bigint, v: bigint) => ((((acc ^ round(0n, v)) * P1) & MASK64) + P4) & MASK64

function readLe(bytes: Uint8Array, at: number, count: number): bigint {
  let v = 0n
  for (let i = count - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[at + i]!)
  return v
}

function specXxh64(bytes: Uint8Array, seed: bigint): bigint {
  let p = 0
  let h: bigint
  if (bytes.length >= 32) {
    const v = [(seed + P1 + P2) & MASK64, (seed + P2) & MASK64, seed, (seed - P1) & MASK64]
    for (; p + 32 <= bytes.length; p += 32) {
      for (let lane = 0; lane < 4; lane++) v[lane] = round(v[lane]!, readLe(bytes, p + 8 * lane, 8))
    }
    h = (rotl(v[0]!, 1n) + rotl(v[1]!, 7n) + rotl(v[2]!, 12n) + rotl(v[3]!, 18n)) & MASK64
    for (const lane of v) h = merge(h, lane)
  } else h = (seed + P5) & MASK64
  h = (h + BigInt(bytes.length)) & MASK64
  for (; p + 8 <= bytes.length; p += 8) {
    h = (mulMod(rotl(h ^ round(0n, readLe(bytes, p, 8)), 27n), P1) + P4) & MASK64
  }
  if (p + 4 <= bytes.length) {
    h = (mulMod(rotl(h ^ mulMod(readLe(bytes, p, 4), P1), 23n), P2) + P3) & MASK64
    p += 4
  }
  for (; p < bytes.length; p++) h = mulMod(rotl(h ^ mulMod(BigInt(bytes[p]!), P5), 11n), P1)
  h = mulMod(h ^ (h >> 33n), P2)
  h = mulMod(h ^ (h >> 29n), P3)
  return h ^ (h >> 32n)
}

describe("xxh64 against published vectors", () => {
  // xxHash's own self-test (cli/xsum_sanity_check.c, XSUM_XXH64_testdata): length, seed, hash.
  const sanity: Array<[number, bigint, bigint]> = [
    [0, 0n, 0xef46db3751d8e999n],
    [0, PRIME32, 0xac75fda2929b17efn],
    [1, 0n, 0xe934a84adb052768n],
    [1, PRIME32, 0x5014607643a9b4c3n],
    [4, 0n, 0x9136a0dca57457een],
    [14, 0n, 0x8282dcc4994e35c8n],
    [14, PRIME32, 0xc3bd6bf63deb6df0n],
    [222, 0n, 0xb641ae8cb691c174n],
    [222, PRIME32, 0x20cb8ab7ae10c14an],
  ]
  it.each(sanity)("sanity buffer of %i bytes, seed %s", (lengthBytes, seed, expected) => {
    expect(xxh64(sanityBuffer(lengthBytes), seed)).toBe(expected)
    expect(specXxh64(sanityBuffer(lengthBytes), seed)).toBe(expected)
  })

  const strings: Array<[string, bigint]> = [
    ["", 0xef46db3751d8e999n],
    ["a", 0xd24ec4f1a98c6e5bn],
    ["abc", 0x44bc2cf5ad770999n],
    ["Nobody inspects the spammish repetition", 0xfbcea83c8a378bf1n],
  ]
  it.each(strings)("the string %j", (text, expected) => {
    expect(xxh64(new TextEncoder().encode(text))).toBe(expected)
  })

  it("takes seeds modulo 2^64", () => {
    const bytes = sanityBuffer(40)
    expect(xxh64(bytes, -1n)).toBe(specXxh64(bytes, MASK64))
    expect(xxh64(bytes, 1n << 64n)).toBe(xxh64(bytes, 0n))
  })
})

describe("xxh64 against the BigInt specification", () => {
  it("agrees on random inputs and seeds, every tail length", () => {
    fc.assert(fc.property(
      fc.uint8Array({ maxLength: 80 }), fc.bigInt({ min: 0n, max: MASK64 }),
      (bytes, seed) => xxh64(bytes, seed) === specXxh64(bytes, seed),
    ))
  })

  it("agrees on a whole block and on block-sized lengths around it", () => {
    for (const lengthBytes of [4064, 4095, 4096, 4097]) {
      const bytes = sanityBuffer(lengthBytes)
      expect(xxh64(bytes)).toBe(specXxh64(bytes, 0n))
    }
  })
})
