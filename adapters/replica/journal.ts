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
  closeSync, existsSync, fdatasync as fdatasyncCb, fdatasyncSync, fstatSync, fsyncSync, openSync,
  readSync, writeSync, writevSync,
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

/** Body bytes written between two early flushes of a journal being received (4 MiB). */
export const earlyFlushBytes = 4 * 1024 * 1024

/**
 * A journal being written as a generation's blocks arrive: each `add` lays its entry at the end
 * of the body (payloads written from where they lie, gathered into writev calls, never copied),
 * and `commit` writes the header last and flushes. Until the header is written the file still
 * names the previous generation (already claimed by the metadata, so stale) over a body that no
 * longer matches its CRC: torn either way, never mistaken for a committed journal. While the
 * body grows, every `earlyFlushBytes` start a flush on the thread pool (one at a time), so the
 * flush at `commit` finds little left to write.
 */
export class JournalWriter {
  private readonly fd: number
  private readonly created: boolean
  private parts: Uint8Array[] = []
  private partsBytes = 0
  private writtenBytes = 0
  private flushedUpToBytes = 0
  private flushing = false
  private closeWhenFlushed = false
  private crc = 0
  private count = 0
  private closed = false

  constructor(private readonly path: string) {
    this.created = !existsSync(path)
    this.fd = openSync(path, this.created ? "w" : "r+", 0o644)
  }

  /** Appends block `index` to the body (written by the next `write` or `commit`). */
  add(index: number, payload: Uint8Array): void {
    const entry = Buffer.allocUnsafe(8)
    entry.writeUInt32BE(index, 0)
    entry.writeUInt32BE(payload.length, 4)
    this.crc = crc32(payload, crc32(entry, this.crc))
    this.parts.push(entry, payload)
    this.partsBytes += 8 + payload.length
    this.count++
    if (this.parts.length >= iovecCountMax) this.write()
  }

  /** Writes the entries added so far (into the page cache; no flush). */
  write(): void {
    if (this.parts.length === 0) return
    const wrote = writevSync(this.fd, this.parts, headerBytes + this.writtenBytes)
    if (wrote !== this.partsBytes) {
      throw new Error(`${this.path}: short write (${wrote} of ${this.partsBytes} bytes)`)
    }
    this.writtenBytes += wrote
    this.parts = []
    this.partsBytes = 0
    if (!this.flushing && this.writtenBytes - this.flushedUpToBytes >= earlyFlushBytes) {
      this.flushing = true
      const upTo = this.writtenBytes
      fdatasyncCb(this.fd, (e) => {
        this.flushing = false
        if (e === null) this.flushedUpToBytes = upTo
        if (this.closeWhenFlushed) this.close()
      })
    }
  }

  /**
   * Commits the journal of `generation`: the rest of the body, then the header, then one flush.
   * When this returns, the generation survives a crash of the process or the host.
   */
  commit(generation: number, blockSizeBytes: number): void {
    try {
      this.write()
      const head = header(generation, this.count, blockSizeBytes, this.writtenBytes, this.crc)
      if (writeSync(this.fd, head, 0, head.length, 0) !== head.length) {
        throw new Error(`${this.path}: short header write`)
      }
      fdatasyncSync(this.fd)
    } finally { this.close() }
    if (this.created) {
      const dirFd = openSync(dirname(this.path), "r")
      try { fsyncSync(dirFd) } finally { closeSync(dirFd) }
    }
  }

  /**
   * Closes the file without committing (what was written stays torn); with an early flush
   * still running, once it is done (the fd is never closed under it).
   */
  close(): void {
    if (this.closed) return
    if (this.flushing) { this.closeWhenFlushed = true; return }
    this.closed = true
    closeSync(this.fd)
  }
}

/**
 * Writes `blocks` as the journal of `generation` and flushes it: when this returns, the
 * generation survives a crash of the process or the host.
 */
export function commitJournal(path: string, generation: number, blockSizeBytes: number,
  blocks: ReadonlyMap<number, Uint8Array>): void {
  const writer = new JournalWriter(path)
  try {
    for (const [index, payload] of blocks) writer.add(index, payload)
  } catch (e) {
    writer.close()
    throw e
  }
  writer.commit(generation, blockSizeBytes)
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
