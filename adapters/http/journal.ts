/**
 * The durable journal: every accepted change as one JSON line, written and fsynced before the
 * response leaves (`write` + `flush` let the engine fsync a batch of changes at once). On start
 * the server reads it back and replays the same operations, so state
 * after a crash is exactly the acknowledged changes.
 *
 * A line is complete only with its trailing newline. A crash mid-write leaves at most one torn
 * last line; `openJournal` drops it (and truncates the file there) so it is never half-applied.
 * A malformed line anywhere else is corruption, not a crash artefact, and fails loudly.
 */
import {
  closeSync, existsSync, fstatSync, fsync, fsyncSync, ftruncateSync, openSync, readFileSync,
  writeSync,
} from "node:fs"
import { dirname } from "node:path"

/** Largest journal line accepted on replay (a request body is bounded well below this). */
export const journalLineBytesMax = 128 * 1_048_576

/** One accepted change: the operation, its inputs, and the ids and time it was given. */
export interface JournalEntry {
  readonly seq: number
  readonly atMs: number
  readonly op: string
  readonly tenant: string
  readonly params: Readonly<Record<string, string>>
  readonly body: unknown
  readonly ids: ReadonlyArray<string>
  /** What the operation chose when it was accepted (see `Applied.decided`). */
  readonly decided?: Readonly<Record<string, string>>
}

/** An open journal: the entries found on open, and an append that is durable on return. */
export interface Journal {
  readonly path: string
  readonly entries: ReadonlyArray<JournalEntry>
  /** Bytes dropped from a torn last line on open (0 when the file ended cleanly). */
  readonly tornBytes: number
  /** Appends one entry and fsyncs; returns once it is on disk. */
  readonly append: (entry: JournalEntry) => void
  /** Writes one entry without fsync (it is durable once a later `flush` resolves). */
  readonly write: (entry: JournalEntry) => void
  /** Fsyncs everything written so far, off the event loop. */
  readonly flush: () => Promise<void>
  readonly close: () => void
}

/** Opens (creating if absent) the journal at `path`, reading and repairing what is there. */
export function openJournal(path: string): Journal {
  const created = !existsSync(path)
  const fd = openSync(path, "a+")
  if (created) fsyncDir(dirname(path))
  const text = readFileSync(path, "utf8")
  const { entries, goodBytes } = parseJournal(text, path)
  const totalBytes = fstatSync(fd).size
  if (goodBytes < totalBytes) {
    ftruncateSync(fd, goodBytes)
    fsyncSync(fd)
  }
  let lastSeq = entries.length === 0 ? 0 : entries[entries.length - 1]!.seq
  let open = true
  const write = (entry: JournalEntry) => {
    if (!open) throw new Error("journal is closed")
    if (entry.seq !== lastSeq + 1) {
      throw new Error(`journal seq ${entry.seq} does not follow ${lastSeq}`)
    }
    const bytes = Buffer.from(JSON.stringify(entry) + "\n", "utf8")
    let written = 0
    while (written < bytes.length) written += writeSync(fd, bytes, written)
    lastSeq = entry.seq
  }
  return {
    path,
    entries,
    tornBytes: totalBytes - goodBytes,
    append: (entry) => {
      write(entry)
      fsyncSync(fd)
    },
    write,
    flush: () => new Promise<void>((resolve, reject) => {
      if (!open) return reject(new Error("journal is closed"))
      fsync(fd, (e) => (e === null ? resolve() : reject(e)))
    }),
    close: () => {
      if (!open) return
      open = false
      closeSync(fd)
    },
  }
}

/**
 * Parses journal text: complete lines only. Returns the entries and the byte length of the
 * complete, valid prefix. Only the last line may be torn; a bad line before it throws.
 */
export function parseJournal(
  text: string,
  where = "journal",
): { entries: JournalEntry[]; goodBytes: number } {
  const entries: JournalEntry[] = []
  let offset = 0
  let goodBytes = 0
  while (offset < text.length) {
    const end = text.indexOf("\n", offset)
    if (end < 0) break // torn tail: no newline yet
    const line = text.slice(offset, end)
    if (line.length > journalLineBytesMax) throw new Error(`${where}: line too long at ${offset}`)
    const entry = parseEntry(line)
    if (entry === null) {
      // Not at the tail: corruption. At the tail with a newline, a write cannot produce it either.
      throw new Error(`${where}: malformed entry at byte ${goodBytes}`)
    }
    if (entry.seq !== entries.length + 1) {
      throw new Error(`${where}: entry ${entries.length + 1} has seq ${entry.seq}`)
    }
    entries.push(entry)
    offset = end + 1
    goodBytes += Buffer.byteLength(line, "utf8") + 1
  }
  return { entries, goodBytes }
}

function parseEntry(line: string): JournalEntry | null {
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch {
    return null
  }
  if (typeof value !== "object" || value === null) return null
  const e = value as Record<string, unknown>
  const ok = typeof e["seq"] === "number" && typeof e["atMs"] === "number" &&
    typeof e["op"] === "string" && typeof e["tenant"] === "string" &&
    typeof e["params"] === "object" && e["params"] !== null && Array.isArray(e["ids"]) &&
    (e["decided"] === undefined || (typeof e["decided"] === "object" && e["decided"] !== null))
  return ok ? (value as JournalEntry) : null
}

function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, "r")
    try {
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
  } catch {
    // Some file systems refuse fsync on a directory; the file's own fsync still holds its data.
  }
}
