/**
 * XXH3-64 (seed 0, default secret) of inputs over 240 bytes — every whole 4 KiB block — in plain
 * TypeScript without BigInt in the hot loop: each 64-bit accumulator is a pair of 32-bit halves,
 * and each 32 × 32 → 64-bit product is exact: its low half from `Math.imul`, its high half from
 * the double-precision product (within 2^11 of the true one) corrected by the low half. The four
 * 128-bit products of the final merge are done with BigInt (once per input). This is what the
 * TypeScript backend's `xxh3BlocksInto` runs (40-80 times faster than the BigInt
 * transcription in xxh3.ts, which it is held equal to in test/kernels-xxh3.test.ts).
 */
import { XXH3_DEFAULT_SECRET, xxh3 } from "./xxh3.ts"

const TWO_32 = 4294967296
const PRIME32_1 = 0x9e3779b1
const SECRET_BYTES = 192
const STRIPE_BYTES = 64
const STRIPES_PER_BLOCK = 16
const BLOCK_BYTES = STRIPE_BYTES * STRIPES_PER_BLOCK
const LAST_STRIPE_AT = SECRET_BYTES - STRIPE_BYTES - 7
const MERGE_AT = 11
const MASK64 = (1n << 64n) - 1n
const PRIME64_1 = 0x9e3779b185ebca87n
const PRIME_MX1 = 0x165667919e3779f9n

/** The 32-bit little-endian words of the secret at byte `at` onwards (`count` of them). */
function secretWords(at: number, count: number): Int32Array {
  const words = new Int32Array(count)
  const view = new DataView(XXH3_DEFAULT_SECRET.buffer, XXH3_DEFAULT_SECRET.byteOffset)
  for (let i = 0; i < count; i++) words[i] = view.getInt32(at + 4 * i, true)
  return words
}

// The secret's words from byte 0 (stripe n reads words 2n .. 2n + 15), from the last stripe's
// offset, and from the scramble's offset.
const stripeKeys = secretWords(0, (SECRET_BYTES - 8) / 4)
const lastKeys = secretWords(LAST_STRIPE_AT, 16)
const scrambleKeys = secretWords(SECRET_BYTES - STRIPE_BYTES, 16)
const mergeKeys = Array.from({ length: 8 }, (_, i) => {
  const view = new DataView(XXH3_DEFAULT_SECRET.buffer, XXH3_DEFAULT_SECRET.byteOffset)
  return view.getBigUint64(MERGE_AT + 8 * i, true)
})

// The eight accumulators as [lo0, hi0, lo1, hi1, …], each half a signed int32.
const acc = new Int32Array(16)
// An aligned copy of an input whose bytes do not start on a 4-byte boundary.
let aligned = new Uint8Array(0)

/** The initial accumulators of the long path, as 32-bit halves. */
const initial = Int32Array.from([
  0xc2b2ae3d, 0, 0x85ebca87, 0x9e3779b1, 0x27d4eb4f, 0xc2b2ae3d, 0x9e3779f9, 0x165667b1,
  0xc2b2ae63, 0x85ebca77, 0x85ebca77, 0, 0x165667c5, 0x27d4eb2f, 0x9e3779b1, 0,
])

/**
 * Accumulates `count` stripes of `words` from word `first`, stripe n with the secret's words
 * from `keys[keyFirst + 2n]`.
 */
function stripes(words: Int32Array, first: number, count: number, keys: Int32Array,
  keyFirst: number): void {
  for (let n = 0; n < count; n++) {
    const w = first + 16 * n, k = keyFirst + 2 * n
    for (let lane = 0; lane < 8; lane++) {
      const dl = words[w + 2 * lane]!, dh = words[w + 2 * lane + 1]!
      const xl = dl ^ keys[k + 2 * lane]!, xh = dh ^ keys[k + 2 * lane + 1]!
      // lo * hi of the lane, exactly: low word by imul, high word from the double product.
      const productLo = Math.imul(xl, xh)
      const productHi = Math.round(((xl >>> 0) * (xh >>> 0) - (productLo >>> 0)) / TWO_32)
      // acc[lane] += product
      let at = 2 * lane
      let low = (acc[at]! >>> 0) + (productLo >>> 0)
      acc[at] = low
      acc[at + 1] = acc[at + 1]! + productHi + (low >= TWO_32 ? 1 : 0)
      // acc[lane ^ 1] += input lane
      at = 2 * (lane ^ 1)
      low = (acc[at]! >>> 0) + (dl >>> 0)
      acc[at] = low
      acc[at + 1] = acc[at + 1]! + dh + (low >= TWO_32 ? 1 : 0)
    }
  }
}

/** acc = (acc ^ (acc >> 47) ^ secret) * PRIME32_1, lane by lane. */
function scramble(): void {
  for (let lane = 0; lane < 8; lane++) {
    const hi = acc[2 * lane + 1]!
    const lo = acc[2 * lane]! ^ (hi >>> 15) ^ scrambleKeys[2 * lane]!
    const h = hi ^ scrambleKeys[2 * lane + 1]!
    const productLo = Math.imul(lo, PRIME32_1)
    const carry = Math.round(((lo >>> 0) * PRIME32_1 - (productLo >>> 0)) / TWO_32)
    acc[2 * lane] = productLo
    acc[2 * lane + 1] = carry + Math.imul(h, PRIME32_1)
  }
}

function lane64(index: number): bigint {
  return (BigInt(acc[2 * index + 1]! >>> 0) << 32n) | BigInt(acc[2 * index]! >>> 0)
}

/** The final merge and avalanche (BigInt: four 128-bit products per input). */
function merge(length: number): bigint {
  let result = (BigInt(length) * PRIME64_1) & MASK64
  for (let i = 0; i < 4; i++) {
    const product = (lane64(2 * i) ^ mergeKeys[2 * i]!) *
      (lane64(2 * i + 1) ^ mergeKeys[2 * i + 1]!)
    result = (result + ((product & MASK64) ^ (product >> 64n))) & MASK64
  }
  result = ((result ^ (result >> 37n)) * PRIME_MX1) & MASK64
  return result ^ (result >> 32n)
}

/** The 32-bit words of `bytes` (copied to an aligned buffer when they start unaligned). */
function wordsOf(bytes: Uint8Array): Int32Array {
  if (bytes.byteOffset % 4 === 0 && bytes.length % 4 === 0) {
    return new Int32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4)
  }
  const wordCount = Math.ceil(bytes.length / 4)
  if (aligned.length < wordCount * 4) aligned = new Uint8Array(wordCount * 4)
  aligned.set(bytes)
  return new Int32Array(aligned.buffer, 0, wordCount)
}

/**
 * XXH3-64 (seed 0, default secret) of `bytes`: the long path with 32-bit halves for more than
 * 240 bytes, the BigInt reference (xxh3.ts) for the short ones.
 */
export function xxh3Halves(bytes: Uint8Array): bigint {
  const length = bytes.length
  if (length <= 240) return xxh3(bytes)
  const words = wordsOf(bytes)
  acc.set(initial)
  const fullBlocks = Math.floor((length - 1) / BLOCK_BYTES)
  for (let b = 0; b < fullBlocks; b++) {
    stripes(words, b * BLOCK_BYTES / 4, STRIPES_PER_BLOCK, stripeKeys, 0)
    scramble()
  }
  const lastStart = fullBlocks * BLOCK_BYTES
  stripes(words, lastStart / 4, Math.floor((length - lastStart - 1) / STRIPE_BYTES), stripeKeys, 0)
  // The last stripe ends at the input's end, so it need not start on a word: read it apart.
  const tail = bytes.subarray(length - STRIPE_BYTES)
  stripes(wordsOfTail(tail), 0, 1, lastKeys, 0)
  return merge(length)
}

const tailBytes = new Uint8Array(STRIPE_BYTES)
const tailWords = new Int32Array(tailBytes.buffer)

function wordsOfTail(tail: Uint8Array): Int32Array {
  tailBytes.set(tail)
  return tailWords
}
