/**
 * The master's record of the cycle in flight, `id.pending`: the generations the agent may hold
 * and the block indices the cycle ships (the base may run ahead of its generation there). It is
 * flushed before END leaves and cleared after the ACK's commit.
 *
 * The file is reused from one cycle to the next with two slots written in turn (ping-pong), so a
 * cycle costs one fdatasync of data in place: no new inode, no rename, no directory flush. Each
 * record carries a sequence number and a CRC-32; a new record goes into the slot that does not
 * hold the latest whole one, so a write torn by a crash leaves that one readable. A clear (empty
 * record) is written without a flush once the metadata durably claims the acknowledged
 * generation: if it is lost, an older record comes back, which only makes the next cycle ship
 * more blocks (its generations are all at most the claimed one).
 *
 *   slot k at k × slotBytes(blockCount):
 *   magic "CRP1", CRC-32 of the rest, sequence, generation count, index count (u32, big-endian),
 *   then the generations and the indices (u32, big-endian)
 */
import {
  closeSync, existsSync, fdatasync as fdatasyncCb, fsyncSync, openSync, readFileSync, readSync,
  rmSync, writeSync,
} from "node:fs"
import { dirname } from "node:path"
import { crc32 } from "node:zlib"

const pendingMagic = 0x43525031 // "CRP1"
const headerBytes = 20
/** Most generations one record names (the agent's and the cycle's). */
const generationCountMax = 16

/** A cycle in flight. */
export interface Pending {
  readonly generations: ReadonlyArray<number>
  readonly indices: ReadonlyArray<number>
}

/** Bytes of one slot for an image of `blockCount` blocks (room for every index). */
export function slotBytes(blockCount: number): number {
  const most = headerBytes + 4 * (generationCountMax + blockCount)
  return Math.ceil(most / 4096) * 4096
}

interface Slot {
  readonly sequence: number
  readonly pending: Pending
}

function readSlot(fd: number, at: number, blockCount: number): Slot | null {
  const head = Buffer.alloc(headerBytes)
  if (readSync(fd, head, 0, headerBytes, at) !== headerBytes) return null
  if (head.readUInt32BE(0) !== pendingMagic) return null
  const generationCount = head.readUInt32BE(12), indexCount = head.readUInt32BE(16)
  if (generationCount > generationCountMax || indexCount > blockCount) return null
  const bodyBytes = 4 * (generationCount + indexCount)
  const body = Buffer.alloc(bodyBytes)
  if (bodyBytes > 0 && readSync(fd, body, 0, bodyBytes, at + headerBytes) !== bodyBytes) {
    return null
  }
  if (crc32(body, crc32(head.subarray(8))) !== head.readUInt32BE(4)) return null
  const values = (from: number, count: number): number[] =>
    Array.from({ length: count }, (_, i) => body.readUInt32BE(4 * (from + i)))
  return { sequence: head.readUInt32BE(8), pending: {
    generations: values(0, generationCount), indices: values(generationCount, indexCount) } }
}

/** The latest whole slot and its position, or null when neither is whole. */
function latest(fd: number, blockCount: number): { slot: Slot; at: number } | null {
  const size = slotBytes(blockCount)
  const a = readSlot(fd, 0, blockCount), b = readSlot(fd, size, blockCount)
  if (a === null) return b === null ? null : { slot: b, at: 1 }
  if (b === null || a.sequence > b.sequence) return { slot: a, at: 0 }
  return { slot: b, at: 1 }
}

/** A record written by older versions (`id.pending.json`), if any. */
function readLegacy(path: string): Pending | null {
  if (!existsSync(path)) return null
  const legacy = JSON.parse(readFileSync(path, "utf8")) as { generations?: unknown;
    indices?: unknown }
  const counts = (v: unknown): v is number[] => Array.isArray(v) && v.every((n) =>
    typeof n === "number" && Number.isSafeInteger(n) && n >= 0)
  if (!counts(legacy.generations) || !counts(legacy.indices)) throw new Error(`${path}: corrupt`)
  return { generations: legacy.generations, indices: legacy.indices }
}

/**
 * The cycle in flight recorded at `path` (and at `legacyPath`, an older version's record), or
 * null when none is (never written, cleared, or both slots torn).
 */
export function readPending(path: string, legacyPath: string, blockCount: number): Pending | null {
  let found: Pending | null = null
  if (existsSync(path)) {
    const fd = openSync(path, "r")
    try {
      const last = latest(fd, blockCount)
      if (last !== null && last.slot.pending.indices.length + last.slot.pending.generations.length
        > 0) found = last.slot.pending
    } finally { closeSync(fd) }
  }
  const legacy = readLegacy(legacyPath)
  if (legacy === null) return found
  if (found === null) return legacy
  return { generations: [...new Set([...found.generations, ...legacy.generations])],
    indices: [...new Set([...found.indices, ...legacy.indices])].sort((x, y) => x - y) }
}

function writeRecord(fd: number, pending: Pending | null, blockCount: number,
  fresh: boolean): void {
  const generations = pending?.generations ?? [], indices = pending?.indices ?? []
  if (generations.length > generationCountMax || indices.length > blockCount) {
    throw new Error(`pending record: ${generations.length} generations, ${indices.length} ` +
      `indices for ${blockCount} blocks`)
  }
  const last = fresh ? null : latest(fd, blockCount)
  const record = Buffer.alloc(headerBytes + 4 * (generations.length + indices.length))
  record.writeUInt32BE(pendingMagic, 0)
  record.writeUInt32BE(((last?.slot.sequence ?? 0) + 1) >>> 0, 8)
  record.writeUInt32BE(generations.length, 12)
  record.writeUInt32BE(indices.length, 16)
  let at = headerBytes
  for (const n of generations) { record.writeUInt32BE(n, at); at += 4 }
  for (const n of indices) { record.writeUInt32BE(n, at); at += 4 }
  record.writeUInt32BE(crc32(record.subarray(8)), 4)
  const slot = last === null ? 0 : 1 - last.at
  if (writeSync(fd, record, 0, record.length, slot * slotBytes(blockCount)) !== record.length) {
    throw new Error("pending record: short write")
  }
}

/**
 * Records `pending` in the slot that does not hold the latest whole record, and flushes it (the
 * directory too when the file is new): the write is done when this returns, the flush on the
 * thread pool when the promise resolves.
 */
export function writePending(path: string, pending: Pending,
  blockCount: number): Promise<void> {
  const created = !existsSync(path)
  const fd = openSync(path, created ? "w+" : "r+", 0o644)
  try {
    writeRecord(fd, pending, blockCount, created)
  } catch (e) {
    closeSync(fd)
    throw e
  }
  return new Promise<void>((resolve, reject) => fdatasyncCb(fd, (e) => {
    closeSync(fd)
    if (e !== null) { reject(e); return }
    if (!created) { resolve(); return }
    try { fsyncDir(dirname(path)); resolve() } catch (d) { reject(d) }
  }))
}

/**
 * Clears the record (an empty one, not flushed: see above) and removes an older version's
 * record. Call only once the metadata durably claims the acknowledged generation.
 */
export function clearPending(path: string, legacyPath: string, blockCount: number): void {
  rmSync(legacyPath, { force: true })
  if (!existsSync(path)) return
  const fd = openSync(path, "r+")
  try { writeRecord(fd, null, blockCount, false) } finally { closeSync(fd) }
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, "r")
  try { fsyncSync(fd) } finally { closeSync(fd) }
}
