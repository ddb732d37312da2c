// Block hash kernel: one xxHash64 (seed 0) per 4 KiB block of an image in linear memory, or one
// XXH3-64 (seed 0, default secret; assembly/xxh3.ts), the final partial block hashed over its real
// length. The TypeScript wrapper (core/kernels/wasm.ts) owns the memory, checks every length and
// places the input and output. Nothing here allocates.
// The algorithms are Yann Collet's XXH64 and XXH3; core/kernels/xxhash64.ts and
// core/kernels/xxh3.ts are the references they must equal.
import { xxh3, xxh3Block } from "./xxh3"

const BLOCK_BYTES: usize = 4096
const BLOCK_SHIFT: usize = 12
const STRIPE_BYTES: usize = 32
const P1: u64 = 0x9e3779b185ebca87
const P2: u64 = 0xc2b2ae3d27d4eb4f
const P3: u64 = 0x165667b19e3779f9
const P4: u64 = 0x85ebca77c2b2ae63
const P5: u64 = 0x27d4eb2f165667c5

/** The first byte the wrapper may use (everything below holds this module's static data). */
export function heapBase(): usize {
  return __heap_base
}

// @ts-ignore: decorator
@inline function round(acc: u64, input: u64): u64 {
  return rotl<u64>(acc + input * P2, 31) * P1
}

// @ts-ignore: decorator
@inline function mergeRound(acc: u64, lane: u64): u64 {
  return (acc ^ round(0, lane)) * P1 + P4
}

// @ts-ignore: decorator
@inline function avalanche(h: u64): u64 {
  h = (h ^ (h >> 33)) * P2
  h = (h ^ (h >> 29)) * P3
  return h ^ (h >> 32)
}

// The hash of one whole block: 128 stripes, two per iteration, no tail.
function hashWholeBlock(p: usize): u64 {
  let v1: u64 = P1 + P2
  let v2: u64 = P2
  let v3: u64 = 0
  let v4: u64 = 0 - P1
  const end = p + BLOCK_BYTES
  while (p < end) {
    v1 = round(v1, load<u64>(p, 0))
    v2 = round(v2, load<u64>(p, 8))
    v3 = round(v3, load<u64>(p, 16))
    v4 = round(v4, load<u64>(p, 24))
    v1 = round(v1, load<u64>(p, 32))
    v2 = round(v2, load<u64>(p, 40))
    v3 = round(v3, load<u64>(p, 48))
    v4 = round(v4, load<u64>(p, 56))
    p += 2 * STRIPE_BYTES
  }
  let h = rotl<u64>(v1, 1) + rotl<u64>(v2, 7) + rotl<u64>(v3, 12) + rotl<u64>(v4, 18)
  h = mergeRound(mergeRound(mergeRound(mergeRound(h, v1), v2), v3), v4)
  return avalanche(h + <u64>BLOCK_BYTES)
}

// The hash of any byteCount bytes at p (the final partial block).
function hashBytes(p: usize, byteCount: usize): u64 {
  const end = p + byteCount
  let h: u64
  if (byteCount >= STRIPE_BYTES) {
    let v1: u64 = P1 + P2
    let v2: u64 = P2
    let v3: u64 = 0
    let v4: u64 = 0 - P1
    for (; p + STRIPE_BYTES <= end; p += STRIPE_BYTES) {
      v1 = round(v1, load<u64>(p, 0))
      v2 = round(v2, load<u64>(p, 8))
      v3 = round(v3, load<u64>(p, 16))
      v4 = round(v4, load<u64>(p, 24))
    }
    h = rotl<u64>(v1, 1) + rotl<u64>(v2, 7) + rotl<u64>(v3, 12) + rotl<u64>(v4, 18)
    h = mergeRound(mergeRound(mergeRound(mergeRound(h, v1), v2), v3), v4)
  } else {
    h = P5
  }
  h += <u64>byteCount
  for (; p + 8 <= end; p += 8) h = rotl<u64>(h ^ round(0, load<u64>(p)), 27) * P1 + P4
  if (p + 4 <= end) {
    h = rotl<u64>(h ^ (<u64>load<u32>(p) * P1), 23) * P2 + P3
    p += 4
  }
  for (; p < end; p++) h = rotl<u64>(h ^ (<u64>load<u8>(p) * P5), 11) * P1
  return avalanche(h)
}

/**
 * Writes one u64 hash per block of [image, image + imageBytes) at out (8 bytes per block) and
 * returns the block count, ceil(imageBytes / 4096).
 */
export function hashBlocks(image: usize, imageBytes: usize, out: usize): u32 {
  const wholeBlocks = imageBytes >> BLOCK_SHIFT
  for (let index: usize = 0; index < wholeBlocks; index++) {
    store<u64>(out + (index << 3), hashWholeBlock(image + (index << BLOCK_SHIFT)))
  }
  const rest = imageBytes & (BLOCK_BYTES - 1)
  if (rest == 0) return <u32>wholeBlocks
  store<u64>(out + (wholeBlocks << 3), hashBytes(image + (wholeBlocks << BLOCK_SHIFT), rest))
  return <u32>wholeBlocks + 1
}

/**
 * Writes one XXH3-64 per block of [image, image + imageBytes) at out (8 bytes per block) and
 * returns the block count, ceil(imageBytes / 4096).
 */
export function xxh3Blocks(image: usize, imageBytes: usize, out: usize): u32 {
  const blockCount = (imageBytes + BLOCK_BYTES - 1) >> BLOCK_SHIFT
  for (let index: usize = 0; index < blockCount; index++) {
    const start = index << BLOCK_SHIFT
    const length = min<usize>(BLOCK_BYTES, imageBytes - start)
    const hash = length == BLOCK_BYTES ? xxh3Block(image + start) : xxh3(image + start, length)
    store<u64>(out + (index << 3), hash)
  }
  return <u32>blockCount
}
