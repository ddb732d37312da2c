/**
 * The master's block-hash list, `id.hashes`: one fingerprint (XXH3-64 as the sender writes it;
 * xxHash64 in lists of earlier versions) per 4 KiB block of `id.base` as of the generation the
 * metadata claims, so that a cycle reads and hashes only the image instead of reading and
 * comparing both the image and the base.
 *
 * It is a cache, never a record: written after the metadata claims its generation, without a
 * flush, through a temporary file and a rename. A list that is missing, torn (short, bad magic,
 * bad CRC-32), of another generation, of another block count or holding another fingerprint
 * reads as absent, and the cycle then rebuilds it from the base. Blocks where the base may run
 * ahead of the generation (those of an unacknowledged cycle, `id.pending`) are shipped by every
 * cycle until one is acknowledged, whatever the list says; the list is patched with the hash of
 * every block a cycle ships, so after an ACK it equals the base block for block. Only the
 * WebAssembly backend keeps a list (sender.ts says why).
 *
 *   header (20 bytes): magic "CRH1", generation, block count, body CRC-32, fingerprint code
 *                      (0 xxHash64 — the field was 0 in earlier versions —, 1 XXH3-64; the
 *                      index in BLOCK_FINGERPRINTS) — big-endian u32
 *   body: block count × u64 hash, little-endian
 */
import { closeSync, existsSync, openSync, readSync, renameSync, writeSync } from "node:fs"
import { crc32 } from "node:zlib"
import { BLOCK_FINGERPRINTS, type BlockFingerprint } from "../../core/kernels/index.ts"

const hashListMagic = 0x43524831 // "CRH1"
const headerBytes = 20
const hashBytes = 8

/** Whether this host stores a BigUint64Array little-endian (then its bytes are the body). */
const littleEndianHost = new Uint8Array(new BigUint64Array([1n]).buffer)[0] === 1

/** The little-endian bytes of `hashes` (a view of them on a little-endian host: no copy). */
function hashBodyBytes(hashes: BigUint64Array): Uint8Array {
  if (littleEndianHost) return new Uint8Array(hashes.buffer, hashes.byteOffset, hashes.byteLength)
  const body = Buffer.allocUnsafe(hashes.length * hashBytes)
  for (let i = 0; i < hashes.length; i++) body.writeBigUInt64LE(hashes[i]!, i * hashBytes)
  return body
}

/** The hashes in little-endian `body`. */
function hashesOf(body: Buffer): BigUint64Array {
  const hashes = new BigUint64Array(body.length / hashBytes)
  if (littleEndianHost) new Uint8Array(hashes.buffer).set(body)
  else for (let i = 0; i < hashes.length; i++) hashes[i] = body.readBigUInt64LE(i * hashBytes)
  return hashes
}

/** The code of `fingerprint` in a list's header. */
function fingerprintCode(fingerprint: BlockFingerprint): number {
  const code = BLOCK_FINGERPRINTS.indexOf(fingerprint)
  if (code < 0) throw new Error(`unknown block fingerprint ${fingerprint}`)
  return code
}

/**
 * The hash list at `path` if it is whole and holds `fingerprint`s of `blockCount` blocks at
 * `generation`; null otherwise (the caller rebuilds it).
 */
export function readHashList(path: string, generation: number, blockCount: number,
  fingerprint: BlockFingerprint): BigUint64Array | null {
  if (!existsSync(path)) return null
  const expectedBytes = headerBytes + blockCount * hashBytes
  const bytes = Buffer.allocUnsafe(expectedBytes + 1)
  const fd = openSync(path, "r")
  let length = 0
  try {
    for (;;) {
      const n = readSync(fd, bytes, length, bytes.length - length, length)
      if (n === 0) break
      length += n
      if (length === bytes.length) return null // longer than this list can be: not ours
    }
  } finally { closeSync(fd) }
  if (length !== expectedBytes || bytes.readUInt32BE(0) !== hashListMagic) return null
  if (bytes.readUInt32BE(4) !== generation || bytes.readUInt32BE(8) !== blockCount ||
    bytes.readUInt32BE(16) !== fingerprintCode(fingerprint)) return null
  const body = bytes.subarray(headerBytes, expectedBytes)
  if (crc32(body) !== bytes.readUInt32BE(12)) return null
  return hashesOf(body)
}

/**
 * Replaces the hash list at `path` with `hashes` (`fingerprint`s) at `generation` (temporary file
 * and rename, no flush: after a crash the old list, the new one, or a torn one that reads as
 * absent).
 */
export function writeHashList(path: string, generation: number, hashes: BigUint64Array,
  fingerprint: BlockFingerprint): void {
  if (!Number.isSafeInteger(generation) || generation < 0 || generation > 0xffffffff) {
    throw new Error(`hash list generation ${generation} outside 0..2^32-1`)
  }
  const body = hashBodyBytes(hashes)
  const head = Buffer.alloc(headerBytes)
  head.writeUInt32BE(hashListMagic, 0)
  head.writeUInt32BE(generation, 4)
  head.writeUInt32BE(hashes.length, 8)
  head.writeUInt32BE(crc32(body), 12)
  head.writeUInt32BE(fingerprintCode(fingerprint), 16)
  const tmp = `${path}.tmp`
  const fd = openSync(tmp, "w", 0o644)
  try {
    for (const part of [head, body]) {
      if (writeSync(fd, part) !== part.length) throw new Error(`${tmp}: short write`)
    }
  } finally { closeSync(fd) }
  renameSync(tmp, path)
}
