/**
 * The slave's redo journal, `id.journal`: a received generation is committed by writing it here
 * and flushing once (fdatasync), and only then acknowledged; the blocks go in place after. The
 * file is reused from one generation to the next (no rename, no directory flush on the critical
 * path): a header names the generation and carries a CRC-32 of the body, so a journal that was
 * torn by a crash reads as absent, and one whose generation the metadata already claims is stale.
 *
 *   header (28 bytes): magic "CRJ2", generation, block count, block size, body bytes (u64),
 *                      body CRC-32 — all big-endian
 *   body: (index u32, length u32, payload) × block count
 */
import {
  closeSync, existsSync, fdatasyncSync, fstatSync, fsyncSync, openSync, readSync, writevSync,
} from "node:fs"
import { dirname } from "node:path"
import { crc32 } from "node:zlib"

const journalMagic = 0x43524a32 // "CRJ2"
const headerBytes = 28
/** Most buffers handed to one writev call (below every platform's IOV_MAX). */
const iovecCountMax = 512

/** A journal's content. */
export interface Journal {
  readonly generation: number
  readonly blockSizeBytes: number
  readonly blocks: ReadonlyArray<readonly [number, Uint8Array]>
}

function header(generation: number, count: number, blockSizeBytes: number, bodyBytes: number,
  crc: number): Buffer {
  const out = Buffer.alloc(headerBytes)
  out.writeUInt32BE(journalMagic, 0)
  out.writeUInt32BE(generation, 4)
  out.writeUInt32BE(count, 8)
  out.writeUInt32BE(blockSizeBytes, 12)
  out.writeBigUInt64BE(BigInt(bodyBytes), 16)
  out.writeUInt32BE(crc, 24)
  return out
}

/** One entry's 8-byte head (block index, payload length), reused by `entryCrc`. */
const entryHeadScratch = Buffer.alloc(8)

/**
 * The body CRC-32 `crc` continued over one entry (its head, then `payload`): folding every block
 * of a generation in order as it arrives gives the `bodyCrc` that `commitJournal` would compute.
 */
export function entryCrc(crc: number, index: number, payload: Uint8Array): number {
  entryHeadScratch.writeUInt32BE(index, 0)
  entryHeadScratch.writeUInt32BE(payload.length, 4)
  return crc32(payload, crc32(entryHeadScratch, crc))
}

/**
 * Writes `blocks` as the journal of `generation` and flushes it: when this returns, the
 * generation survives a crash of the process or the host. Payloads are written from where they
 * lie (writev), not copied into one buffer first. `bodyCrc`, when given, is the body's CRC-32
 * folded by `entryCrc` over `blocks` in their order as they arrived (so the commit does not read
 * them again); otherwise it is computed here.
 */
export function commitJournal(path: string, generation: number, blockSizeBytes: number,
  blocks: ReadonlyMap<number, Uint8Array>, bodyCrc?: number): void {
  const parts: Uint8Array[] = []
  let crc = 0, bodyBytes = 0
  for (const [index, payload] of blocks) {
    const entry = Buffer.allocUnsafe(8)
    entry.writeUInt32BE(index, 0)
    entry.writeUInt32BE(payload.length, 4)
    if (bodyCrc === undefined) crc = crc32(payload, crc32(entry, crc))
    parts.push(entry, payload)
    bodyBytes += 8 + payload.length
  }
  crc = bodyCrc ?? crc
  const created = !existsSync(path)
  const fd = openSync(path, created ? "w" : "r+", 0o644)
  try {
    let at = 0
    const all = [header(generation, blocks.size, blockSizeBytes, bodyBytes, crc), ...parts]
    for (let first = 0; first < all.length; first += iovecCountMax) {
      const group = all.slice(first, first + iovecCountMax)
      const want = group.reduce((n, b) => n + b.length, 0)
      const wrote = writevSync(fd, group, at)
      if (wrote !== want) throw new Error(`${path}: short write (${wrote} of ${want} bytes)`)
      at += wrote
    }
    fdatasyncSync(fd)
  } finally { closeSync(fd) }
  if (created) {
    const dirFd = openSync(dirname(path), "r")
    try { fsyncSync(dirFd) } finally { closeSync(dirFd) }
  }
}

function readExactly(fd: number, length: number, position: number): Buffer | null {
  const out = Buffer.allocUnsafe(length)
  let done = 0
  while (done < length) {
    const n = readSync(fd, out, done, length - done, position + done)
    if (n === 0) return null
    done += n
  }
  return out
}

/**
 * The journal at `path`, or null when there is none or it is torn (short, bad magic, bad
 * checksum): a torn journal was never flushed, so its generation was never acknowledged.
 */
export function readJournal(path: string): Journal | null {
  if (!existsSync(path)) return null
  const fd = openSync(path, "r")
  try {
    const size = fstatSync(fd).size
    const head = size < headerBytes ? null : readExactly(fd, headerBytes, 0)
    if (head === null || head.readUInt32BE(0) !== journalMagic) return null
    const bodyBytes = Number(head.readBigUInt64BE(16))
    if (bodyBytes > size - headerBytes) return null
    const body = readExactly(fd, bodyBytes, headerBytes)
    if (body === null || crc32(body) !== head.readUInt32BE(24)) return null
    const count = head.readUInt32BE(8)
    const blocks: Array<readonly [number, Uint8Array]> = []
    let at = 0
    for (let i = 0; i < count; i++) {
      if (at + 8 > body.length) return null
      const length = body.readUInt32BE(at + 4)
      blocks.push([body.readUInt32BE(at), body.subarray(at + 8, at + 8 + length)])
      at += 8 + length
    }
    if (at !== body.length) return null
    return { generation: head.readUInt32BE(4), blockSizeBytes: head.readUInt32BE(12), blocks }
  } finally { closeSync(fd) }
}

/** Whether `path` holds a committed journal of a generation later than `heldGeneration`. */
export function journalAhead(path: string, heldGeneration: number): boolean {
  const journal = readJournal(path)
  return journal !== null && journal.generation > heldGeneration
}
