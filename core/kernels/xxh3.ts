/**
 * XXH3-64 (Yann Collet's XXH3, 64-bit output, default 192-byte secret) in TypeScript with BigInt,
 * transcribed from xxHash's specification (doc/xxhash_spec.md): every input length (0-16, 17-128,
 * 129-240 and > 240 bytes) and any seed. Written to be obviously right, not fast (about 3,000
 * BigInt operations per 4 KiB block): it is the oracle the WebAssembly block fingerprint
 * (assembly/xxh3.ts) and the 32-bit-halves one (xxh3-halves.ts, the TypeScript backend's) are
 * held equal to, and the latter's path for inputs of 240 bytes or less.
 * Checked against xxHash's published sanity vectors in test/kernels-xxh3.test.ts.
 */

const MASK64 = (1n << 64n) - 1n
const MASK32 = 0xffffffffn

const PRIME32_1 = 0x9e3779b1n
const PRIME32_2 = 0x85ebca77n
const PRIME32_3 = 0xc2b2ae3dn
const PRIME64_1 = 0x9e3779b185ebca87n
const PRIME64_2 = 0xc2b2ae3d27d4eb4fn
const PRIME64_3 = 0x165667b19e3779f9n
const PRIME64_4 = 0x85ebca77c2b2ae63n
const PRIME64_5 = 0x27d4eb2f165667c5n
const PRIME_MX1 = 0x165667919e3779f9n
const PRIME_MX2 = 0x9fb21c651e98df25n

/** XXH3's default secret (192 bytes), as the specification lists it. */
export const XXH3_DEFAULT_SECRET: Readonly<Uint8Array> = Uint8Array.from([
  0xb8, 0xfe, 0x6c, 0x39, 0x23, 0xa4, 0x4b, 0xbe, 0x7c, 0x01, 0x81, 0x2c, 0xf7, 0x21, 0xad, 0x1c,
  0xde, 0xd4, 0x6d, 0xe9, 0x83, 0x90, 0x97, 0xdb, 0x72, 0x40, 0xa4, 0xa4, 0xb7, 0xb3, 0x67, 0x1f,
  0xcb, 0x79, 0xe6, 0x4e, 0xcc, 0xc0, 0xe5, 0x78, 0x82, 0x5a, 0xd0, 0x7d, 0xcc, 0xff, 0x72, 0x21,
  0xb8, 0x08, 0x46, 0x74, 0xf7, 0x43, 0x24, 0x8e, 0xe0, 0x35, 0x90, 0xe6, 0x81, 0x3a, 0x26, 0x4c,
  0x3c, 0x28, 0x52, 0xbb, 0x91, 0xc3, 0x00, 0xcb, 0x88, 0xd0, 0x65, 0x8b, 0x1b, 0x53, 0x2e, 0xa3,
  0x71, 0x64, 0x48, 0x97, 0xa2, 0x0d, 0xf9, 0x4e, 0x38, 0x19, 0xef, 0x46, 0xa9, 0xde, 0xac, 0xd8,
  0xa8, 0xfa, 0x76, 0x3f, 0xe3, 0x9c, 0x34, 0x3f, 0xf9, 0xdc, 0xbb, 0xc7, 0xc7, 0x0b, 0x4f, 0x1d,
  0x8a, 0x51, 0xe0, 0x4b, 0xcd, 0xb4, 0x59, 0x31, 0xc8, 0x9f, 0x7e, 0xc9, 0xd9, 0x78, 0x73, 0x64,
  0xea, 0xc5, 0xac, 0x83, 0x34, 0xd3, 0xeb, 0xc3, 0xc5, 0x81, 0xa0, 0xff, 0xfa, 0x13, 0x63, 0xeb,
  0x17, 0x0d, 0xdd, 0x51, 0xb7, 0xf0, 0xda, 0x49, 0xd3, 0x16, 0x55, 0x26, 0x29, 0xd4, 0x68, 0x9e,
  0x2b, 0x16, 0xbe, 0x58, 0x7d, 0x47, 0xa1, 0xfc, 0x8f, 0xf8, 0xb8, 0xd1, 0x7a, 0xd0, 0x31, 0xce,
  0x45, 0xcb, 0x3a, 0x8f, 0x95, 0x16, 0x04, 0x28, 0xaf, 0xd7, 0xfb, 0xca, 0xbb, 0x4b, 0x40, 0x7e,
])

const SECRET_BYTES = 192
const STRIPE_BYTES = 64
const STRIPES_PER_BLOCK = (SECRET_BYTES - STRIPE_BYTES) / 8
const BLOCK_BYTES = STRIPE_BYTES * STRIPES_PER_BLOCK

const u64 = (x: bigint): bigint => x & MASK64

function readLe(bytes: Uint8Array, at: number, count: number): bigint {
  let v = 0n
  for (let i = count - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[at + i]!)
  return v
}

const rotl64 = (x: bigint, r: bigint): bigint => u64((x << r) | (x >> (64n - r)))

function bswap(x: bigint, bytes: number): bigint {
  let v = 0n
  for (let i = 0; i < bytes; i++) v = (v << 8n) | ((x >> BigInt(8 * i)) & 0xffn)
  return v
}

/** (a * b) as a 128-bit product, its low half xor its high half. */
function mulFold64(a: bigint, b: bigint): bigint {
  const product = a * b
  return u64(product) ^ (product >> 64n)
}

function avalancheXxh64(h: bigint): bigint {
  h = u64((h ^ (h >> 33n)) * PRIME64_2)
  h = u64((h ^ (h >> 29n)) * PRIME64_3)
  return h ^ (h >> 32n)
}

function avalanche(h: bigint): bigint {
  h = u64((h ^ (h >> 37n)) * PRIME_MX1)
  return h ^ (h >> 32n)
}

function upTo16(input: Uint8Array, secret: Uint8Array, seed: bigint): bigint {
  const length = input.length
  if (length === 0) return avalancheXxh64(seed ^ readLe(secret, 56, 8) ^ readLe(secret, 64, 8))
  if (length <= 3) {
    const combined = BigInt(input[length - 1]!) | (BigInt(length) << 8n) |
      (BigInt(input[0]!) << 16n) | (BigInt(input[length >> 1]!) << 24n)
    const flip = readLe(secret, 0, 4) ^ readLe(secret, 4, 4)
    return avalancheXxh64(u64(flip + seed) ^ combined)
  }
  if (length <= 8) {
    const modifiedSeed = seed ^ (bswap(seed & MASK32, 4) << 32n)
    const combined = readLe(input, length - 4, 4) | (readLe(input, 0, 4) << 32n)
    const flip = readLe(secret, 8, 8) ^ readLe(secret, 16, 8)
    let v = u64(flip - modifiedSeed) ^ combined
    v = v ^ rotl64(v, 49n) ^ rotl64(v, 24n)
    v = u64(v * PRIME_MX2)
    v = v ^ u64((v >> 35n) + BigInt(length))
    v = u64(v * PRIME_MX2)
    return v ^ (v >> 28n)
  }
  const low = u64((readLe(secret, 24, 8) ^ readLe(secret, 32, 8)) + seed) ^ readLe(input, 0, 8)
  const high = u64((readLe(secret, 40, 8) ^ readLe(secret, 48, 8)) - seed) ^
    readLe(input, length - 8, 8)
  return avalanche(u64(BigInt(length) + bswap(low, 8) + high + mulFold64(low, high)))
}

function mixStep(input: Uint8Array, at: number, secret: Uint8Array, secretAt: number,
  seed: bigint): bigint {
  return mulFold64(readLe(input, at, 8) ^ u64(readLe(secret, secretAt, 8) + seed),
    readLe(input, at + 8, 8) ^ u64(readLe(secret, secretAt + 8, 8) - seed))
}

function upTo240(input: Uint8Array, secret: Uint8Array, seed: bigint): bigint {
  const length = input.length
  let acc = u64(BigInt(length) * PRIME64_1)
  if (length <= 128) {
    const rounds = ((length - 1) >> 5) + 1
    for (let i = rounds - 1; i >= 0; i--) {
      acc = u64(acc + mixStep(input, 16 * i, secret, 32 * i, seed))
      acc = u64(acc + mixStep(input, length - 16 * i - 16, secret, 32 * i + 16, seed))
    }
    return avalanche(acc)
  }
  const chunks = length >> 4
  for (let i = 0; i < 8; i++) acc = u64(acc + mixStep(input, 16 * i, secret, 16 * i, seed))
  acc = avalanche(acc)
  for (let i = 8; i < chunks; i++) {
    acc = u64(acc + mixStep(input, 16 * i, secret, 16 * (i - 8) + 3, seed))
  }
  acc = u64(acc + mixStep(input, length - 16, secret, 119, seed))
  return avalanche(acc)
}

function accumulate(acc: bigint[], input: Uint8Array, at: number, secret: Uint8Array,
  secretAt: number): void {
  for (let i = 0; i < 8; i++) {
    const lane = readLe(input, at + 8 * i, 8)
    const value = lane ^ readLe(secret, secretAt + 8 * i, 8)
    acc[i ^ 1] = u64(acc[i ^ 1]! + lane)
    acc[i] = u64(acc[i]! + (value & MASK32) * (value >> 32n))
  }
}

function scramble(acc: bigint[], secret: Uint8Array): void {
  for (let i = 0; i < 8; i++) {
    const a = acc[i]! ^ (acc[i]! >> 47n) ^ readLe(secret, SECRET_BYTES - STRIPE_BYTES + 8 * i, 8)
    acc[i] = u64(a * PRIME32_1)
  }
}

function long(input: Uint8Array, secret: Uint8Array): bigint {
  const length = input.length
  const acc = [PRIME32_3, PRIME64_1, PRIME64_2, PRIME64_3, PRIME64_4, PRIME32_2, PRIME64_5,
    PRIME32_1]
  const fullBlocks = Math.floor((length - 1) / BLOCK_BYTES)
  for (let b = 0; b < fullBlocks; b++) {
    for (let n = 0; n < STRIPES_PER_BLOCK; n++) {
      accumulate(acc, input, b * BLOCK_BYTES + n * STRIPE_BYTES, secret, n * 8)
    }
    scramble(acc, secret)
  }
  const lastStart = fullBlocks * BLOCK_BYTES
  const lastStripes = Math.floor((length - lastStart - 1) / STRIPE_BYTES)
  for (let n = 0; n < lastStripes; n++) {
    accumulate(acc, input, lastStart + n * STRIPE_BYTES, secret, n * 8)
  }
  accumulate(acc, input, length - STRIPE_BYTES, secret, SECRET_BYTES - STRIPE_BYTES - 7)
  let result = u64(BigInt(length) * PRIME64_1)
  for (let i = 0; i < 4; i++) {
    result = u64(result + mulFold64(acc[2 * i]! ^ readLe(secret, 11 + 16 * i, 8),
      acc[2 * i + 1]! ^ readLe(secret, 19 + 16 * i, 8)))
  }
  return avalanche(result)
}

/** The secret a seeded hash of more than 240 bytes uses (the default one when `seed` is 0). */
function derivedSecret(seed: bigint): Uint8Array {
  if (seed === 0n) return XXH3_DEFAULT_SECRET as Uint8Array
  const secret = new Uint8Array(SECRET_BYTES)
  const view = new DataView(secret.buffer)
  for (let i = 0; i < SECRET_BYTES / 16; i++) {
    view.setBigUint64(16 * i, u64(readLe(XXH3_DEFAULT_SECRET, 16 * i, 8) + seed), true)
    view.setBigUint64(16 * i + 8, u64(readLe(XXH3_DEFAULT_SECRET, 16 * i + 8, 8) - seed), true)
  }
  return secret
}

/** XXH3-64 of `bytes` with `seed` (unsigned 64-bit; 0 by default) and the default secret. */
export function xxh3(bytes: Uint8Array, seed: bigint = 0n): bigint {
  const seedU64 = BigInt.asUintN(64, seed)
  const secret = XXH3_DEFAULT_SECRET as Uint8Array
  if (bytes.length <= 16) return upTo16(bytes, secret, seedU64)
  if (bytes.length <= 240) return upTo240(bytes, secret, seedU64)
  return long(bytes, derivedSecret(seedU64))
}
