/**
 * xxHash64 (Yann Collet's XXH64 algorithm) in plain TypeScript, without BigInt in the hot loop:
 * each 64-bit lane is a pair of unsigned 32-bit halves. This is the reference the WebAssembly
 * kernel is held equal to; it is checked against xxHash's published test vectors and against a
 * straightforward BigInt transcription of the algorithm (test/kernels-xxhash.test.ts).
 */

const P1H = 0x9e3779b1, P1L = 0x85ebca87
const P2H = 0xc2b2ae3d, P2L = 0x27d4eb4f
const P3H = 0x165667b1, P3L = 0x9e3779f9
const P4H = 0x85ebca77, P4L = 0xc2b2ae63
const P5H = 0x27d4eb2f, P5L = 0x165667c5
const STRIPE_BYTES = 32

// The result register of the 64-bit helpers below (hi and lo halves, unsigned): returning
// through module state keeps the reference free of per-operation allocations.
let rh = 0
let rl = 0

/** rh:rl = a * b mod 2^64. */
function mul(ah: number, al: number, bh: number, bl: number): void {
  const a0 = al & 0xffff, a1 = al >>> 16, b0 = bl & 0xffff, b1 = bl >>> 16
  const p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)
  const highOfLow = p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)
  rl = (((mid & 0xffff) << 16) | (p00 & 0xffff)) >>> 0
  rh = (highOfLow + Math.imul(al, bh) + Math.imul(ah, bl)) >>> 0
}

/** rh:rl = a + b mod 2^64. */
function add(ah: number, al: number, bh: number, bl: number): void {
  const low = al + bl
  rl = low >>> 0
  rh = (ah + bh + (low > 0xffffffff ? 1 : 0)) >>> 0
}

/** rh:rl = rotl(a, r) for 0 < r < 32. */
function rotl(ah: number, al: number, r: number): void {
  rh = ((ah << r) | (al >>> (32 - r))) >>> 0
  rl = ((al << r) | (ah >>> (32 - r))) >>> 0
}

/** rh:rl = XXH64_round(acc, input) = rotl(acc + input * P2, 31) * P1. */
function round(ah: number, al: number, ih: number, il: number): void {
  mul(ih, il, P2H, P2L)
  add(ah, al, rh, rl)
  rotl(rh, rl, 31)
  mul(rh, rl, P1H, P1L)
}

/** rh:rl = (acc ^ round(0, val)) * P1 + P4. */
function mergeRound(ah: number, al: number, vh: number, vl: number): void {
  round(0, 0, vh, vl)
  mul((ah ^ rh) >>> 0, (al ^ rl) >>> 0, P1H, P1L)
  add(rh, rl, P4H, P4L)
}

function read32(bytes: Uint8Array, index: number): number {
  return (bytes[index]! | (bytes[index + 1]! << 8) | (bytes[index + 2]! << 16) |
    (bytes[index + 3]! << 24)) >>> 0
}

/** rh:rl = the four-lane accumulator state after every whole stripe of bytes[start, end). */
function stripes(bytes: Uint8Array, start: number, end: number, sh: number, sl: number): number {
  add(sh, sl, P1H, P1L); add(rh, rl, P2H, P2L)
  let v1h = rh, v1l = rl
  add(sh, sl, P2H, P2L)
  let v2h = rh, v2l = rl
  let v3h = sh, v3l = sl
  add(sh, sl, ~P1H >>> 0, ~P1L >>> 0); add(rh, rl, 0, 1)
  let v4h = rh, v4l = rl
  let p = start
  const limit = end - STRIPE_BYTES
  while (p <= limit) {
    round(v1h, v1l, read32(bytes, p + 4), read32(bytes, p)); v1h = rh; v1l = rl
    round(v2h, v2l, read32(bytes, p + 12), read32(bytes, p + 8)); v2h = rh; v2l = rl
    round(v3h, v3l, read32(bytes, p + 20), read32(bytes, p + 16)); v3h = rh; v3l = rl
    round(v4h, v4l, read32(bytes, p + 28), read32(bytes, p + 24)); v4h = rh; v4l = rl
    p += STRIPE_BYTES
  }
  rotl(v1h, v1l, 1); let hh = rh, hl = rl
  rotl(v2h, v2l, 7); add(hh, hl, rh, rl); hh = rh; hl = rl
  rotl(v3h, v3l, 12); add(hh, hl, rh, rl); hh = rh; hl = rl
  rotl(v4h, v4l, 18); add(hh, hl, rh, rl); hh = rh; hl = rl
  mergeRound(hh, hl, v1h, v1l); mergeRound(rh, rl, v2h, v2l)
  mergeRound(rh, rl, v3h, v3l); mergeRound(rh, rl, v4h, v4l)
  return p
}

/** rh:rl = xxHash64 of bytes[start, end) with seed sh:sl. */
function hashRange(bytes: Uint8Array, start: number, end: number, sh: number, sl: number): void {
  let p = start
  if (end - start >= STRIPE_BYTES) p = stripes(bytes, start, end, sh, sl)
  else add(sh, sl, P5H, P5L)
  const length = end - start
  add(rh, rl, Math.floor(length / 0x100000000) >>> 0, length >>> 0)
  let hh = rh, hl = rl
  for (; p + 8 <= end; p += 8) {
    round(0, 0, read32(bytes, p + 4), read32(bytes, p))
    rotl((hh ^ rh) >>> 0, (hl ^ rl) >>> 0, 27)
    mul(rh, rl, P1H, P1L); add(rh, rl, P4H, P4L); hh = rh; hl = rl
  }
  if (p + 4 <= end) {
    mul(0, read32(bytes, p), P1H, P1L)
    rotl((hh ^ rh) >>> 0, (hl ^ rl) >>> 0, 23)
    mul(rh, rl, P2H, P2L); add(rh, rl, P3H, P3L); hh = rh; hl = rl
    p += 4
  }
  for (; p < end; p++) {
    mul(0, bytes[p]!, P5H, P5L)
    rotl((hh ^ rh) >>> 0, (hl ^ rl) >>> 0, 11)
    mul(rh, rl, P1H, P1L); hh = rh; hl = rl
  }
  avalanche(hh, hl)
}

/** rh:rl = XXH64_avalanche(h). */
function avalanche(hh: number, hl: number): void {
  hl = (hl ^ (hh >>> 1)) >>> 0
  mul(hh, hl, P2H, P2L); hh = rh; hl = rl
  hl = (hl ^ ((hl >>> 29) | (hh << 3))) >>> 0
  hh = (hh ^ (hh >>> 29)) >>> 0
  mul(hh, hl, P3H, P3L); hh = rh; hl = rl
  rh = hh
  rl = (hl ^ hh) >>> 0
}

/** xxHash64 of `bytes` with `seed` (an unsigned 64-bit value; 0 by default). */
export function xxh64(bytes: Uint8Array, seed: bigint = 0n): bigint {
  const seedU64 = BigInt.asUintN(64, seed)
  hashRange(bytes, 0, bytes.length, Number(seedU64 >> 32n), Number(seedU64 & 0xffffffffn))
  return (BigInt(rh) << 32n) | BigInt(rl)
}

/**
 * Writes xxHash64 (seed 0) of bytes[start, end) into `words` (a little-endian u32 view of a hash
 * list) at `words[2 * entry]` (low half) and `words[2 * entry + 1]` (high half).
 */
export function xxh64RangeInto(
  bytes: Uint8Array,
  start: number,
  end: number,
  words: Uint32Array,
  entry: number,
): void {
  hashRange(bytes, start, end, 0, 0)
  words[2 * entry] = rl
  words[2 * entry + 1] = rh
}
