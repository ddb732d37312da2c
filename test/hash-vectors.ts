// The input xxHash's own sanity check hashes (its XSUM_fillTestBuffer), shared by the xxHash64 and
// XXH3-64 tests so both check the published vectors against the same bytes.

export const MASK64 = (1n << 64n) - 1n
export const PRIME32 = 2654435761n
export const PRIME64 = 11400714785074694797n

/** The first `lengthBytes` bytes of xxHash's sanity buffer. */
export function sanityBuffer(lengthBytes: number): Uint8Array {
  const bytes = new Uint8Array(lengthBytes)
  let generator = PRIME32
  for (let i = 0; i < lengthBytes; i++) {
    bytes[i] = Number(generator >> 56n)
    generator = (generator * PRIME64) & MASK64
  }
  return bytes
}
