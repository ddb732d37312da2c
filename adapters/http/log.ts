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
import { hostname } from "node:os"
import type { FastifyBaseLogger } from "fastify"

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

/** What the request log says of one finished request. */
export interface FinishedRequest {
  readonly id: string
  readonly method: string
  readonly url: string
  readonly status: number
  /** From routing to the response's end, in ms (rounded to the µs in the line). */
  readonly elapsedMs: number
  /** The caller's tenant (undefined before authentication). */
  readonly tenant: string | undefined
}

/**
 * The request log: one line when a response is done (method, url, status, time in ms, the
 * caller's tenant). The line of a completed request is the one the framework's logger (pino)
 * would write for `log.info(fields, "request")` with the request's id bound — same keys, order
 * and escaping — composed here as one string and handed straight to the batch, which skips
 * pino's generic serialisation on every request. A failed request's line goes through the
 * logger (its error serialiser). Both the framework's log controller and the read cache
 * (adapters/http/read-cache.ts) write through `finished`, so their lines are alike.
 */
export class RequestLog {
  /** `"pid":…,"hostname":…,` as pino's base bindings write them. */
  private readonly base = `"pid":${process.pid},"hostname":${JSON.stringify(hostname())},`

  constructor(private readonly lines: BatchedLines) {}

  /** Logs a finished request; `errorLog` gives the logger (request id bound) for a failure. */
  finished(error: Error | null | undefined, r: FinishedRequest,
    errorLog: () => FastifyBaseLogger): void {
    const ms = Math.round(r.elapsedMs * 1000) / 1000
    if (error) {
      errorLog().error({ method: r.method, url: r.url, status: r.status, ms, tenant: r.tenant,
        err: error }, "request errored")
      return
    }
    const msJson = Number.isFinite(ms) ? ms : null
    const tenant = r.tenant
    this.lines.write(`{"level":30,"time":${Date.now()},${this.base}"reqId":` +
      `${JSON.stringify(r.id)},"method":${JSON.stringify(r.method)},"url":` +
      `${JSON.stringify(r.url)},"status":${r.status},"ms":${msJson}` +
      `${tenant === undefined ? "" : `,"tenant":${JSON.stringify(tenant)}`},"msg":"request"}\n`)
  }
}

/** Max request id before it wraps (the largest small integer V8 keeps unboxed). */
const requestIdMax = 2_147_483_647

/**
 * Request ids as the framework makes them by default (`req-1`, `req-2`, … in base 36), from
 * one counter that the framework and the read cache share, so ids stay unique and in order.
 */
export function requestIds(): () => string {
  let next = 0
  return () => {
    next = (next + 1) & requestIdMax
    return `req-${next.toString(36)}`
  }
}
