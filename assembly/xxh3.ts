// XXH3-64 (Yann Collet's XXH3, seed 0, default 192-byte secret) of one block: the block
// fingerprint of assembly/blockhash.kernel.ts. Inputs over 240 bytes take the long path, whose
// accumulate loop runs on v128 lanes (`xxh3Block`, every whole 4 KiB block, keeps the
// accumulators in locals throughout; `long`, a final partial block, in ACC between blocks of
// stripes); shorter ones (only a final partial block can be that short) take the scalar paths of
// the specification.
// core/kernels/xxh3.ts is the reference it must equal. Nothing here allocates.

const PRIME32_1: u64 = 0x9e3779b1
const PRIME32_2: u64 = 0x85ebca77
const PRIME32_3: u64 = 0xc2b2ae3d
const PRIME64_1: u64 = 0x9e3779b185ebca87
const PRIME64_2: u64 = 0xc2b2ae3d27d4eb4f
const PRIME64_3: u64 = 0x165667b19e3779f9
const PRIME64_4: u64 = 0x85ebca77c2b2ae63
const PRIME64_5: u64 = 0x27d4eb2f165667c5
const PRIME_MX1: u64 = 0x165667919e3779f9
const PRIME_MX2: u64 = 0x9fb21c651e98df25

const SECRET_BYTES: usize = 192
const STRIPE_BYTES: usize = 64
const STRIPES_PER_BLOCK: usize = 16 // (SECRET_BYTES - STRIPE_BYTES) / 8
const BLOCK_BYTES: usize = 1024 // STRIPE_BYTES * STRIPES_PER_BLOCK
const SCRAMBLE_AT: usize = 128 // SECRET_BYTES - STRIPE_BYTES
const LAST_STRIPE_AT: usize = 121 // SECRET_BYTES - STRIPE_BYTES - 7
const MERGE_AT: usize = 11

// The default secret, as xxHash's specification lists it.
const SECRET: usize = memory.data<u8>([
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
], 16)

// The accumulators of the long path between calls of its helpers: eight u64 lanes as four v128
// of products (P) and four of input sums (D). D holds acc[i] += input lane i, not i ^ 1: the
// lane swap the specification makes every stripe is made once, when the two are combined.
const ACC: usize = memory.data(8 * 16, 16)

// @ts-ignore: decorator
@inline function mulFold64(a: u64, b: u64): u64 {
  const aLo = a & 0xffffffff, aHi = a >> 32, bLo = b & 0xffffffff, bHi = b >> 32
  const ll = aLo * bLo, lh = aLo * bHi, hl = aHi * bLo, hh = aHi * bHi
  const cross = (ll >> 32) + (hl & 0xffffffff) + lh
  const upper = (hl >> 32) + (cross >> 32) + hh
  const lower = (cross << 32) | (ll & 0xffffffff)
  return lower ^ upper
}

// @ts-ignore: decorator
@inline function avalancheXxh64(h: u64): u64 {
  h = (h ^ (h >> 33)) * PRIME64_2
  h = (h ^ (h >> 29)) * PRIME64_3
  return h ^ (h >> 32)
}

// @ts-ignore: decorator
@inline function avalanche(h: u64): u64 {
  h = (h ^ (h >> 37)) * PRIME_MX1
  return h ^ (h >> 32)
}

function upTo16(p: usize, length: usize): u64 {
  if (length == 0) return avalancheXxh64(load<u64>(SECRET, 56) ^ load<u64>(SECRET, 64))
  if (length <= 3) {
    const combined = <u64>load<u8>(p + length - 1) | (<u64>length << 8) |
      (<u64>load<u8>(p) << 16) | (<u64>load<u8>(p + (length >> 1)) << 24)
    return avalancheXxh64(<u64>(load<u32>(SECRET) ^ load<u32>(SECRET, 4)) ^ combined)
  }
  if (length <= 8) {
    const combined = <u64>load<u32>(p + length - 4) | (<u64>load<u32>(p) << 32)
    let v = (load<u64>(SECRET, 8) ^ load<u64>(SECRET, 16)) ^ combined
    v = v ^ rotl<u64>(v, 49) ^ rotl<u64>(v, 24)
    v *= PRIME_MX2
    v = v ^ ((v >> 35) + <u64>length)
    v *= PRIME_MX2
    return v ^ (v >> 28)
  }
  const low = (load<u64>(SECRET, 24) ^ load<u64>(SECRET, 32)) ^ load<u64>(p)
  const high = (load<u64>(SECRET, 40) ^ load<u64>(SECRET, 48)) ^ load<u64>(p + length - 8)
  return avalanche(<u64>length + bswap<u64>(low) + high + mulFold64(low, high))
}

// @ts-ignore: decorator
@inline function mixStep(p: usize, secretAt: usize): u64 {
  return mulFold64(load<u64>(p) ^ load<u64>(SECRET + secretAt),
    load<u64>(p, 8) ^ load<u64>(SECRET + secretAt, 8))
}

function upTo240(p: usize, length: usize): u64 {
  let acc = <u64>length * PRIME64_1
  if (length <= 128) {
    let i = <isize>(((length - 1) >> 5) + 1) - 1
    for (; i >= 0; i--) {
      const at = <usize>i
      acc += mixStep(p + 16 * at, 32 * at)
      acc += mixStep(p + length - 16 * at - 16, 32 * at + 16)
    }
    return avalanche(acc)
  }
  const chunks = length >> 4
  for (let i: usize = 0; i < 8; i++) acc += mixStep(p + 16 * i, 16 * i)
  acc = avalanche(acc)
  for (let i: usize = 8; i < chunks; i++) acc += mixStep(p + 16 * i, 16 * (i - 8) + 3)
  acc += mixStep(p + length - 16, 119)
  return avalanche(acc)
}

// Runs `count` stripes from p with the secret from s (8 bytes further per stripe) on the
// accumulators in ACC. Per 32 bytes: xor with the secret, gather the low and high 32-bit
// halves of four lanes with two shuffles, and two widening multiplies give the four products.
function stripes(p: usize, s: usize, count: usize): void {
  let p0 = v128.load(ACC, 0), p1 = v128.load(ACC, 16)
  let p2 = v128.load(ACC, 32), p3 = v128.load(ACC, 48)
  let d0 = v128.load(ACC, 64), d1 = v128.load(ACC, 80)
  let d2 = v128.load(ACC, 96), d3 = v128.load(ACC, 112)
  const end = p + count * STRIPE_BYTES
  while (p < end) {
    const in0 = v128.load(p, 0), in1 = v128.load(p, 16)
    const in2 = v128.load(p, 32), in3 = v128.load(p, 48)
    const x0 = v128.xor(in0, v128.load(s, 0)), x1 = v128.xor(in1, v128.load(s, 16))
    const x2 = v128.xor(in2, v128.load(s, 32)), x3 = v128.xor(in3, v128.load(s, 48))
    const lo01 = i32x4.shuffle(x0, x1, 0, 2, 4, 6), hi01 = i32x4.shuffle(x0, x1, 1, 3, 5, 7)
    const lo23 = i32x4.shuffle(x2, x3, 0, 2, 4, 6), hi23 = i32x4.shuffle(x2, x3, 1, 3, 5, 7)
    p0 = i64x2.add(p0, i64x2.extmul_low_i32x4_u(lo01, hi01))
    p1 = i64x2.add(p1, i64x2.extmul_high_i32x4_u(lo01, hi01))
    p2 = i64x2.add(p2, i64x2.extmul_low_i32x4_u(lo23, hi23))
    p3 = i64x2.add(p3, i64x2.extmul_high_i32x4_u(lo23, hi23))
    d0 = i64x2.add(d0, in0); d1 = i64x2.add(d1, in1)
    d2 = i64x2.add(d2, in2); d3 = i64x2.add(d3, in3)
    p += STRIPE_BYTES
    s += 8
  }
  v128.store(ACC, p0, 0); v128.store(ACC, p1, 16)
  v128.store(ACC, p2, 32); v128.store(ACC, p3, 48)
  v128.store(ACC, d0, 64); v128.store(ACC, d1, 80)
  v128.store(ACC, d2, 96); v128.store(ACC, d3, 112)
}

// Folds the input sums into the products (swapping each pair of lanes: acc[i ^ 1] += input
// lane i) and clears them; on return ACC[0..64) holds the specification's accumulators.
// @ts-ignore: decorator
@inline function combine(): void {
  for (let at: usize = 0; at < 64; at += 16) {
    const sums = v128.load(ACC + at, 64)
    v128.store(ACC + at, i64x2.add(v128.load(ACC + at), i64x2.shuffle(sums, sums, 1, 0)))
    v128.store(ACC + at, i64x2.splat(0), 64)
  }
}

function scramble(): void {
  combine()
  const prime = i64x2.splat(PRIME32_1)
  for (let at: usize = 0; at < 64; at += 16) {
    let a = v128.load(ACC + at)
    a = v128.xor(v128.xor(a, i64x2.shr_u(a, 47)), v128.load(SECRET + SCRAMBLE_AT + at))
    v128.store(ACC + at, i64x2.mul(a, prime))
  }
}

// The long path (length > 240).
function long(p: usize, length: usize): u64 {
  store<u64>(ACC, PRIME32_3, 0); store<u64>(ACC, PRIME64_1, 8)
  store<u64>(ACC, PRIME64_2, 16); store<u64>(ACC, PRIME64_3, 24)
  store<u64>(ACC, PRIME64_4, 32); store<u64>(ACC, PRIME32_2, 40)
  store<u64>(ACC, PRIME64_5, 48); store<u64>(ACC, PRIME32_1, 56)
  for (let at: usize = 64; at < 128; at += 16) v128.store(ACC + at, i64x2.splat(0))
  const fullBlocks = (length - 1) / BLOCK_BYTES
  for (let b: usize = 0; b < fullBlocks; b++) {
    stripes(p + b * BLOCK_BYTES, SECRET, STRIPES_PER_BLOCK)
    scramble()
  }
  const lastStart = fullBlocks * BLOCK_BYTES
  stripes(p + lastStart, SECRET, (length - lastStart - 1) / STRIPE_BYTES)
  stripes(p + length - STRIPE_BYTES, SECRET + LAST_STRIPE_AT, 1)
  combine()
  let result = <u64>length * PRIME64_1
  for (let i: usize = 0; i < 4; i++) {
    result += mulFold64(load<u64>(ACC + 16 * i) ^ load<u64>(SECRET + MERGE_AT + 16 * i),
      load<u64>(ACC + 16 * i, 8) ^ load<u64>(SECRET + MERGE_AT + 16 * i, 8))
  }
  return avalanche(result)
}

/** XXH3-64 (seed 0, default secret) of the `length` bytes at p. */
export function xxh3(p: usize, length: usize): u64 {
  if (length <= 16) return upTo16(p, length)
  if (length <= 240) return upTo240(p, length)
  return long(p, length)
}

// @ts-ignore: decorator
@inline function scrambleLane(a: v128, key: v128, prime: v128): v128 {
  return i64x2.mul(v128.xor(v128.xor(a, i64x2.shr_u(a, 47)), key), prime)
}

// @ts-ignore: decorator
@inline function mergeLanes(a: v128, at: usize): u64 {
  return mulFold64(i64x2.extract_lane(a, 0) ^ load<u64>(SECRET + MERGE_AT + at),
    i64x2.extract_lane(a, 1) ^ load<u64>(SECRET + MERGE_AT + at, 8))
}

/**
 * XXH3-64 (seed 0, default secret) of the 4096 bytes at p: the long path of `xxh3` for a whole
 * block, with every accumulator in a local for all 64 stripes (no ACC round trips between
 * blocks of stripes: about 7% faster on this machine's 2 cores).
 */
export function xxh3Block(p: usize): u64 {
  let p0 = i64x2(<i64>PRIME32_3, <i64>PRIME64_1), p1 = i64x2(<i64>PRIME64_2, <i64>PRIME64_3)
  let p2 = i64x2(<i64>PRIME64_4, <i64>PRIME32_2), p3 = i64x2(<i64>PRIME64_5, <i64>PRIME32_1)
  const zero = i64x2.splat(0)
  let d0 = zero, d1 = zero, d2 = zero, d3 = zero
  const prime = i64x2.splat(PRIME32_1)
  for (let b: usize = 0; b < 4; b++) {
    let s = SECRET
    for (let n: usize = 0; n < STRIPES_PER_BLOCK; n++) {
      // The last stripe of the input (the 16th of the last block) takes its own secret offset.
      if (b == 3 && n == STRIPES_PER_BLOCK - 1) s = SECRET + LAST_STRIPE_AT
      const in0 = v128.load(p, 0), in1 = v128.load(p, 16)
      const in2 = v128.load(p, 32), in3 = v128.load(p, 48)
      const x0 = v128.xor(in0, v128.load(s, 0)), x1 = v128.xor(in1, v128.load(s, 16))
      const x2 = v128.xor(in2, v128.load(s, 32)), x3 = v128.xor(in3, v128.load(s, 48))
      const lo01 = i32x4.shuffle(x0, x1, 0, 2, 4, 6), hi01 = i32x4.shuffle(x0, x1, 1, 3, 5, 7)
      const lo23 = i32x4.shuffle(x2, x3, 0, 2, 4, 6), hi23 = i32x4.shuffle(x2, x3, 1, 3, 5, 7)
      p0 = i64x2.add(p0, i64x2.extmul_low_i32x4_u(lo01, hi01))
      p1 = i64x2.add(p1, i64x2.extmul_high_i32x4_u(lo01, hi01))
      p2 = i64x2.add(p2, i64x2.extmul_low_i32x4_u(lo23, hi23))
      p3 = i64x2.add(p3, i64x2.extmul_high_i32x4_u(lo23, hi23))
      d0 = i64x2.add(d0, in0); d1 = i64x2.add(d1, in1)
      d2 = i64x2.add(d2, in2); d3 = i64x2.add(d3, in3)
      p += STRIPE_BYTES
      s += 8
    }
    // The input sums into the products, each pair of lanes swapped (acc[i ^ 1] += input[i]).
    p0 = i64x2.add(p0, i64x2.shuffle(d0, d0, 1, 0))
    p1 = i64x2.add(p1, i64x2.shuffle(d1, d1, 1, 0))
    p2 = i64x2.add(p2, i64x2.shuffle(d2, d2, 1, 0))
    p3 = i64x2.add(p3, i64x2.shuffle(d3, d3, 1, 0))
    d0 = zero; d1 = zero; d2 = zero; d3 = zero
    if (b < 3) {
      p0 = scrambleLane(p0, v128.load(SECRET + SCRAMBLE_AT, 0), prime)
      p1 = scrambleLane(p1, v128.load(SECRET + SCRAMBLE_AT, 16), prime)
      p2 = scrambleLane(p2, v128.load(SECRET + SCRAMBLE_AT, 32), prime)
      p3 = scrambleLane(p3, v128.load(SECRET + SCRAMBLE_AT, 48), prime)
    }
  }
  const result = <u64>4096 * PRIME64_1 + mergeLanes(p0, 0) + mergeLanes(p1, 16) +
    mergeLanes(p2, 32) + mergeLanes(p3, 48)
  return avalanche(result)
}
