/**
 * Volume uuids without randomness: a version-8 (custom) UUID derived from the server uuid, the
 * volume name and a sequence number the pmem state holds and advances on every volume it
 * creates. The sequence fills the last 48 bits, so two volumes of one state history never share
 * a uuid; the same state given the same request mints the same uuids (reproducible), and the
 * hash bits make uuids of different servers and names look unrelated.
 *
 *   xxxxxxxx-xxxx-8xxx-Vxxx-ssssssssssss   (x: hash bits, V: variant 8-b, s: sequence)
 */

/** The sequence runs in 48 bits. */
export const volumeSequenceMax = 2 ** 48 - 1

/** FNV-1a over the server uuid, a NUL, and the name, then a final avalanche. */
function hashOf(serverUuid: string, name: string, seed: number): number {
  let h = seed
  for (let i = 0; i < serverUuid.length; i++) {
    h = Math.imul(h ^ serverUuid.charCodeAt(i), 0x01000193)
  }
  h = Math.imul(h, 0x01000193)
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193)
  h ^= h >>> 15
  h = Math.imul(h, 0x2c1b3c6d)
  h ^= h >>> 12
  return h >>> 0
}

/** Writes the low `digits` hex digits of `value` (< 2^32) into `out` from `at`, as codes. */
function putHex(out: number[], at: number, value: number, digits: number): void {
  for (let k = 0; k < digits; k++) {
    const v = (value >>> (4 * (digits - 1 - k))) & 15
    out[at + k] = v < 10 ? 48 + v : 87 + v
  }
}

/** The uuid of the volume `name` of server `serverUuid`, created as number `sequence`. */
export function volumeUuid(serverUuid: string, name: string, sequence: number): string {
  if (!Number.isSafeInteger(sequence) || sequence < 0 || sequence > volumeSequenceMax) {
    throw new Error(`volume sequence ${sequence} outside 0..${volumeSequenceMax}`)
  }
  const a = hashOf(serverUuid, name, 0x811c9dc5)
  const b = hashOf(serverUuid, name, 0x9e3779b9)
  const out = [0, 0, 0, 0, 0, 0, 0, 0, 45, 0, 0, 0, 0, 45, 0, 0, 0, 0, 45, 0, 0, 0, 0, 45,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
  putHex(out, 0, a, 8)
  putHex(out, 9, b >>> 16, 4)
  putHex(out, 14, 0x8000 | (b & 0xfff), 4)
  putHex(out, 19, ((8 + (b >>> 30)) << 12) | ((a ^ b) & 0xfff), 4)
  putHex(out, 24, Math.floor(sequence / 2 ** 32), 4)
  putHex(out, 28, sequence >>> 0, 8)
  // One flat string rather than a rope of concatenations: uuids are read and compared often.
  return String.fromCharCode.apply(null, out)
}

/**
 * The sequence number a volume uuid carries in its last 12 hex digits (either case), or -1 when
 * `uuid` does not end that way. Lets a lookup compare numbers before comparing whole strings.
 */
export function sequenceOfUuid(uuid: string): number {
  if (uuid.length !== 36) return -1
  let value = 0
  for (let i = 24; i < 36; i++) {
    const c = uuid.charCodeAt(i)
    const digit = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87
      : c >= 65 && c <= 70 ? c - 55 : -1
    if (digit < 0) return -1
    value = value * 16 + digit
  }
  return value
}
