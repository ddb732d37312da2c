/**
 * Cheap structured request logs: one JSON line per request (method, url, status, time, tenant),
 * from the framework's own logger (pino), written in batches off the event loop. Lines are
 * gathered in memory and handed to the output once `batchBytes` are pending or `batchDelayMs`
 * after the first pending line; one write is in flight at a time, on the thread pool
 * (`fdOutput`), so a slow reader of a pipe (stdout on Linux is synchronous for pipes) never
 * blocks request handling. Memory is bounded: past `backlogBytesMax` pending, lines are dropped
 * and the next batch says how many. `flush()` on close; the process ends after the last write.
 */
import { write as fsWrite } from "node:fs"

/** Where batches go: a write that calls `done` once the chunk is written (or failed). */
export interface LineOutput {
  readonly write: (chunk: string, done: (error: Error | null) => void) => void
}

/** An output writing to a file descriptor on the thread pool (partial writes resumed). */
export function fdOutput(fd: number): LineOutput {
  return {
    write: (chunk, done) => {
      const bytes = Buffer.from(chunk, "utf8")
      const step = (offset: number): void => {
        fsWrite(fd, bytes, offset, bytes.length - offset, null, (error, written) => {
          if (error !== null) return done(error)
          if (offset + written < bytes.length) return step(offset + written)
          done(null)
        })
      }
      step(0)
    },
  }
}

/** Bounds of the batching. */
export interface LogBatching {
  readonly batchBytes: number
  readonly batchDelayMs: number
  readonly backlogBytesMax: number
}

/** Defaults: 64 KiB batches, at most 100 ms late, 16 MiB pending at most. */
export const logBatchingDefault: LogBatching = {
  batchBytes: 64 * 1024,
  batchDelayMs: 100,
  backlogBytesMax: 16 * 1_048_576,
}

/** A pino destination (`write(line)`) that batches lines onto `output`. */
export class BatchedLines {
  private pending: string[] = []
  private pendingBytes = 0
  private inFlightBytes = 0
  private timer: ReturnType<typeof setTimeout> | undefined
  /** Lines dropped (backlog over its bound, or a failed write), not yet reported. */
  private dropped = 0

  constructor(
    private readonly output: LineOutput,
    private readonly batching: LogBatching = logBatchingDefault,
  ) {}

  /** Takes one line (pino hands them over with their newline). */
  write(line: string): void {
    const backlog = this.inFlightBytes + this.pendingBytes + line.length
    if (backlog > this.batching.backlogBytesMax) {
      this.dropped++
      return
    }
    this.pending.push(line)
    this.pendingBytes += line.length
    if (this.pendingBytes >= this.batching.batchBytes) this.flush()
    else this.arm()
  }

  /** Hands every pending line to the output now, or as soon as the write in flight is done. */
  flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer)
      this.timer = undefined
    }
    if (this.inFlightBytes > 0) return // the write in flight flushes again when it is done
    if (this.pending.length === 0 && this.dropped === 0) return
    if (this.dropped > 0) {
      this.pending.push(JSON.stringify({ level: 40, time: Date.now(), msg: "log lines dropped",
        dropped: this.dropped }) + "\n")
      this.dropped = 0
    }
    const chunk = this.pending.join("")
    const lines = this.pending.length
    this.pending = []
    this.pendingBytes = 0
    this.inFlightBytes = Math.max(1, chunk.length)
    this.output.write(chunk, (error) => {
      this.inFlightBytes = 0
      // A failed write (a reader gone) loses its lines; the count goes out with the next batch.
      if (error !== null) this.dropped += lines
      if (this.pendingBytes >= this.batching.batchBytes) this.flush()
      else if (this.pending.length > 0) this.arm()
    })
  }

  /** Starts the delay timer (not unref'd: a process ending naturally writes its last lines). */
  private arm(): void {
    if (this.timer !== undefined || this.inFlightBytes > 0) return
    this.timer = setTimeout(() => this.flush(), this.batching.batchDelayMs)
  }
}
