// Block diff kernel: two images (or two block-hash lists) in linear memory -> a bitmap of the
// 4 KiB blocks (entries) that differ. Bit i is bit (i & 7) of byte (i >> 3); padding bits of the
// final byte are written as 0. The TypeScript wrapper (core/kernels/wasm.ts) owns the memory:
// it places the inputs and the output, grows memory, and checks every length before calling.
// Nothing here allocates.

const BLOCK_BYTES: usize = 4096
const BLOCK_SHIFT: usize = 12
// Bytes compared between two early-exit checks inside a block (8 vector pairs).
const CHUNK_BYTES: usize = 128

/** The first byte the wrapper may use (everything below holds this module's static data). */
export function heapBase(): usize {
  return __heap_base
}

// Whether the whole 4 KiB blocks at a and b differ: xor the vectors, or them together, and test
// any lane per 128-byte chunk (so a changed block usually stops early). Two accumulators of four
// vector pairs each measured fastest under V8 (wider chunks spill or reorder worse).
// @ts-ignore: decorator
@inline function wholeBlockDiffers(a: usize, b: usize): bool {
  for (let offset: usize = 0; offset < BLOCK_BYTES; offset += CHUNK_BYTES) {
    const p = a + offset
    const q = b + offset
    let x0 = v128.xor(v128.load(p, 0), v128.load(q, 0))
    let x1 = v128.xor(v128.load(p, 16), v128.load(q, 16))
    x0 = v128.or(x0, v128.xor(v128.load(p, 32), v128.load(q, 32)))
    x1 = v128.or(x1, v128.xor(v128.load(p, 48), v128.load(q, 48)))
    x0 = v128.or(x0, v128.xor(v128.load(p, 64), v128.load(q, 64)))
    x1 = v128.or(x1, v128.xor(v128.load(p, 80), v128.load(q, 80)))
    x0 = v128.or(x0, v128.xor(v128.load(p, 96), v128.load(q, 96)))
    x1 = v128.or(x1, v128.xor(v128.load(p, 112), v128.load(q, 112)))
    if (v128.any_true(v128.or(x0, x1))) return true
  }
  return false
}

// Whether byteCount bytes at a and b differ (any length; used for partial blocks).
function bytesDiffer(a: usize, b: usize, byteCount: usize): bool {
  let i: usize = 0
  for (; i + 16 <= byteCount; i += 16) {
    if (v128.any_true(v128.xor(v128.load(a + i), v128.load(b + i)))) return true
  }
  for (; i < byteCount; i++) {
    if (load<u8>(a + i) != load<u8>(b + i)) return true
  }
  return false
}

// Bytes of an image of imageBytes that fall in the block starting at start (0 past its end).
// @ts-ignore: decorator
@inline function bytesInBlock(imageBytes: usize, start: usize): usize {
  if (start >= imageBytes) return 0
  const rest = imageBytes - start
  return rest < BLOCK_BYTES ? rest : BLOCK_BYTES
}

// Whether block index differs when at least one image does not hold it whole.
function edgeBlockDiffers(a: usize, aBytes: usize, b: usize, bBytes: usize, index: usize): bool {
  const start = index << BLOCK_SHIFT
  const inA = bytesInBlock(aBytes, start)
  if (inA != bytesInBlock(bBytes, start)) return true
  return bytesDiffer(a + start, b + start, inA)
}

/**
 * Writes the changed-block bitmap of images [a, a + aBytes) and [b, b + bBytes) at out and
 * returns the number of changed blocks. The bitmap covers max(ceil(aBytes/4096),
 * ceil(bBytes/4096)) blocks; a block that is partial or missing in one image only is changed.
 */
export function diffBlocks(a: usize, aBytes: usize, b: usize, bBytes: usize, out: usize): u32 {
  const blocksA = (aBytes + BLOCK_BYTES - 1) >> BLOCK_SHIFT
  const blocksB = (bBytes + BLOCK_BYTES - 1) >> BLOCK_SHIFT
  const blockCount = blocksA > blocksB ? blocksA : blocksB
  const shorter = aBytes < bBytes ? aBytes : bBytes
  const wholeInBoth = shorter >> BLOCK_SHIFT
  let changedCount: u32 = 0
  let bits: u32 = 0
  for (let index: usize = 0; index < blockCount; index++) {
    const offset = index << BLOCK_SHIFT
    const changed = index < wholeInBoth
      ? wholeBlockDiffers(a + offset, b + offset)
      : edgeBlockDiffers(a, aBytes, b, bBytes, index)
    bits |= (<u32>changed) << <u32>(index & 7)
    changedCount += <u32>changed
    if ((index & 7) == 7) {
      store<u8>(out + (index >> 3), bits)
      bits = 0
    }
  }
  if ((blockCount & 7) != 0) store<u8>(out + (blockCount >> 3), bits)
  return changedCount
}

/**
 * Writes the bitmap of differing entries between hash lists [a, a + 8 * aCount) and
 * [b, b + 8 * bCount) (u64 entries) at out and returns how many differ. Entries present in one
 * list only differ.
 */
export function diffHashes(a: usize, aCount: usize, b: usize, bCount: usize, out: usize): u32 {
  const count = aCount > bCount ? aCount : bCount
  const common = aCount < bCount ? aCount : bCount
  let changedCount: u32 = 0
  let bits: u32 = 0
  for (let index: usize = 0; index < count; index++) {
    const changed = index >= common || load<u64>(a + (index << 3)) != load<u64>(b + (index << 3))
    bits |= (<u32>changed) << <u32>(index & 7)
    changedCount += <u32>changed
    if ((index & 7) == 7) {
      store<u8>(out + (index >> 3), bits)
      bits = 0
    }
  }
  if ((count & 7) != 0) store<u8>(out + (count >> 3), bits)
  return changedCount
}
