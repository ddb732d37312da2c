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

function fnv1a(text: string, seed: number): number {
  let h = seed >>> 0
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  // A final avalanche so nearby inputs differ in every hex digit.
  h ^= h >>> 15
  h = Math.imul(h, 0x2c1b3c6d)
  h ^= h >>> 12
  return h >>> 0
}

const hex = (value: number, digits: number): string =>
  value.toString(16).padStart(digits, "0").slice(-digits)

/** The uuid of the volume `name` of server `serverUuid`, created as number `sequence`. */
export function volumeUuid(serverUuid: string, name: string, sequence: number): string {
  if (!Number.isSafeInteger(sequence) || sequence < 0 || sequence > volumeSequenceMax) {
    throw new Error(`volume sequence ${sequence} outside 0..${volumeSequenceMax}`)
  }
  const text = `${serverUuid}\u0000${name}`
  const a = fnv1a(text, 0x811c9dc5)
  const b = fnv1a(text, 0x9e3779b9)
  const variant = 8 + (b >>> 30)
  return `${hex(a, 8)}-${hex(b >>> 16, 4)}-8${hex(b & 0xfff, 3)}-` +
    `${variant.toString(16)}${hex((a ^ b) & 0xfff, 3)}-${hex(sequence, 12)}`
}
