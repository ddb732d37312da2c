/**
 * xxHash64 (Yann Collet's XXH64 algorithm) in plain TypeScript, without BigInt in the hot loop:
 * each 64-bit value is a pair of 32-bit halves. This is the reference the WebAssembly
 * kernel is held equal to; it is checked against xxHash's published test vectors and against a
 * straightforward BigInt transcription of the algorithm (test/kernels-xxhash.test.ts).
 */

const P1H = 0x9e3779b1 | 0, P1L = 0x85ebca87 | 0
const P2H = 0xc2b2ae3d | 0, P2L = 0x27d4eb4f | 0
const P3H = 0x165667b1 | 0, P3L = 0x9e3779f9 | 0
const P4H = 0x85ebca77 | 0, P4L = 0xc2b2ae63 | 0
const P5H = 0x27d4eb2f | 0, P5L = 0x165667c5 | 0
const STRIPE_BYTES = 32

// The result register of the 64-bit helpers below (hi and lo halves). Halves are kept as signed
// int32 (`| 0`) everywhere: V8 stores those in module slots without boxing, where an unsigned
// value of 2^31 or more would allocate a heap number on every write.
let rh = 0
let rl = 0

/** rh:rl = a * b mod 2^64. */
function mul(ah: number, al: number, bh: number, bl: number): void {
  const a0 = al & 0xffff, a1 = al >>> 16, b0 = bl & 0xffff, b1 = bl >>> 16
  const p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)
  const highOfLow = p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)
  rl = ((mid & 0xffff) << 16) | (p00 & 0xffff)
  rh = (highOfLow + Math.imul(al, bh) + Math.imul(ah, bl)) | 0
}

/** rh:rl = a + b mod 2^64. */
function add(ah: number, al: number, bh: number, bl: number): void {
  const low = (al >>> 0) + (bl >>> 0)
  rl = low | 0
  rh = (ah + bh + (low > 0xffffffff ? 1 : 0)) | 0
}

/** rh:rl = rotl(a, r) for 0 < r < 32. */
function rotl(ah: number, al: number, r: number): void {
  rh = (ah << r) | (al >>> (32 - r))
  rl = (al << r) | (ah >>> (32 - r))
}

const P2L0 = P2L & 0xffff, P2L1 = P2L >>> 16
const P1L0 = P1L & 0xffff, P1L1 = P1L >>> 16

/**
 * rh:rl = XXH64_round(acc, input) = rotl(acc + input * P2, 31) * P1, written out flat (no calls)
 * because it is the hot loop: V8 does not inline the helpers above into a loop this size.
 */
function round(ah: number, al: number, ih: number, il: number): void {
  let a0 = il & 0xffff, a1 = il >>> 16
  let p00 = a0 * P2L0, p01 = a0 * P2L1, p10 = a1 * P2L0
  let mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)
  const xl = ((mid & 0xffff) << 16) | (p00 & 0xffff)
  const xh = (a1 * P2L1 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16) + Math.imul(il, P2H) +
    Math.imul(ih, P2L)) | 0
  const low = (al >>> 0) + (xl >>> 0)
  const yl = low | 0
  const yh = (ah + xh + (low > 0xffffffff ? 1 : 0)) | 0
  const zh = (yh << 31) | (yl >>> 1)
  const zl = (yl << 31) | (yh >>> 1)
  a0 = zl & 0xffff; a1 = zl >>> 16
  p00 = a0 * P1L0; p01 = a0 * P1L1; p10 = a1 * P1L0
  mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)
  rl = ((mid & 0xffff) << 16) | (p00 & 0xffff)
  rh = (a1 * P1L1 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16) + Math.imul(zl, P1H) +
    Math.imul(zh, P1L)) | 0
}

/** rh:rl = (acc ^ round(0, val)) * P1 + P4. */
function mergeRound(ah: number, al: number, vh: number, vl: number): void {
  round(0, 0, vh, vl)
  mul(ah ^ rh, al ^ rl, P1H, P1L)
  add(rh, rl, P4H, P4L)
}

function read32(bytes: Uint8Array, index: number): number {
  return bytes[index]! | (bytes[index + 1]! << 8) | (bytes[index + 2]! << 16) |
    (bytes[index + 3]! << 24)
}

// The four accumulator lanes of the stripe loop, as [hi0, lo0, hi1, lo1, …].
const lanes = new Int32Array(8)

/**
 * Runs XXH64_round over every whole stripe of bytes[start, end) on `lanes` and returns where the
 * stripes stop. The round is written out flat in one loop over the lanes: this is the hot loop,
 * and V8 neither inlines helper calls into it nor keeps module variables unboxed cheaply.
 */
function stripeLoop(bytes: Uint8Array, start: number, end: number): number {
  let p = start
  for (; p + STRIPE_BYTES <= end; p += STRIPE_BYTES) {
    for (let lane = 0; lane < 4; lane++) {
      const at = p + 8 * lane
      const il = read32(bytes, at), ih = read32(bytes, at + 4)
      const ah = lanes[2 * lane]!, al = lanes[2 * lane + 1]!
      let a0 = il & 0xffff, a1 = il >>> 16
      let p00 = a0 * P2L0, p01 = a0 * P2L1, p10 = a1 * P2L0
      let mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)
      const xl = ((mid & 0xffff) << 16) | (p00 & 0xffff)
      const xh = (a1 * P2L1 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16) + Math.imul(il, P2H) +
        Math.imul(ih, P2L)) | 0
      const low = (al >>> 0) + (xl >>> 0)
      const yl = low | 0
      const yh = (ah + xh + (low > 0xffffffff ? 1 : 0)) | 0
      const zh = (yh << 31) | (yl >>> 1)
      const zl = (yl << 31) | (yh >>> 1)
      a0 = zl & 0xffff; a1 = zl >>> 16
      p00 = a0 * P1L0; p01 = a0 * P1L1; p10 = a1 * P1L0
      mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)
      lanes[2 * lane + 1] = ((mid & 0xffff) << 16) | (p00 & 0xffff)
      lanes[2 * lane] = a1 * P1L1 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16) +
        Math.imul(zl, P1H) + Math.imul(zh, P1L)
    }
  }
  return p
}

/** rh:rl = the merged four-lane state after every whole stripe of bytes[start, end). */
function stripes(bytes: Uint8Array, start: number, end: number, sh: number, sl: number): number {
  add(sh, sl, P1H, P1L); add(rh, rl, P2H, P2L)
  lanes[0] = rh; lanes[1] = rl
  add(sh, sl, P2H, P2L)
  lanes[2] = rh; lanes[3] = rl
  lanes[4] = sh; lanes[5] = sl
  add(sh, sl, ~P1H, ~P1L); add(rh, rl, 0, 1)
  lanes[6] = rh; lanes[7] = rl
  const p = stripeLoop(bytes, start, end)
  const v1h = lanes[0]!, v1l = lanes[1]!, v2h = lanes[2]!, v2l = lanes[3]!
  const v3h = lanes[4]!, v3l = lanes[5]!, v4h = lanes[6]!, v4l = lanes[7]!
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
  add(rh, rl, Math.floor(length / 0x100000000) | 0, length | 0)
  let hh = rh, hl = rl
  for (; p + 8 <= end; p += 8) {
    round(0, 0, read32(bytes, p + 4), read32(bytes, p))
    rotl(hh ^ rh, hl ^ rl, 27)
    mul(rh, rl, P1H, P1L); add(rh, rl, P4H, P4L); hh = rh; hl = rl
  }
  if (p + 4 <= end) {
    mul(0, read32(bytes, p), P1H, P1L)
    rotl(hh ^ rh, hl ^ rl, 23)
    mul(rh, rl, P2H, P2L); add(rh, rl, P3H, P3L); hh = rh; hl = rl
    p += 4
  }
  for (; p < end; p++) {
    mul(0, bytes[p]!, P5H, P5L)
    rotl(hh ^ rh, hl ^ rl, 11)
    mul(rh, rl, P1H, P1L); hh = rh; hl = rl
  }
  avalanche(hh, hl)
}

/** rh:rl = XXH64_avalanche(h). */
function avalanche(hh: number, hl: number): void {
  hl ^= hh >>> 1
  mul(hh, hl, P2H, P2L); hh = rh; hl = rl
  hl ^= (hl >>> 29) | (hh << 3)
  hh ^= hh >>> 29
  mul(hh, hl, P3H, P3L); hh = rh; hl = rl
  rh = hh
  rl = hl ^ hh
}

/** xxHash64 of `bytes` with `seed` (an unsigned 64-bit value; 0 by default). */
export function xxh64(bytes: Uint8Array, seed: bigint = 0n): bigint {
  const seedU64 = BigInt.asUintN(64, seed)
  hashRange(bytes, 0, bytes.length, Number(seedU64 >> 32n) | 0, Number(seedU64 & 0xffffffffn) | 0)
  return (BigInt(rh >>> 0) << 32n) | BigInt(rl >>> 0)
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
