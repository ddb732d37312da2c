/**
 * Cheap structured request logs: one JSON line per request (method, url, status, time, tenant),
 * from the framework's own logger (pino), written in batches. Lines are gathered in memory and
 * handed to the output stream once `batchBytes` are pending or `batchDelayMs` after the first
 * pending line, so a busy server makes one write per batch instead of two synchronous writes per
 * request. A slow reader cannot make memory grow without bound: past `backlogBytesMax` queued in
 * the stream, lines are dropped and the next batch says how many. `flush()` on close.
 */

/** Where batches go: `process.stdout` or any stream with `write` and `writableLength`. */
export interface LineOutput {
  readonly write: (chunk: string) => unknown
  readonly writableLength: number
}

/** Bounds of the batching. */
export interface LogBatching {
  readonly batchBytes: number
  readonly batchDelayMs: number
  readonly backlogBytesMax: number
}

/** Defaults: 64 KiB batches, at most 100 ms late, 16 MiB of backlog in the output stream. */
export const logBatchingDefault: LogBatching = {
  batchBytes: 64 * 1024,
  batchDelayMs: 100,
  backlogBytesMax: 16 * 1_048_576,
}

/** A pino destination (`write(line)`) that batches lines onto `output`. */
export class BatchedLines {
  private pending: string[] = []
  private pendingBytes = 0
  private timer: ReturnType<typeof setTimeout> | undefined
  /** Lines dropped because the output's backlog was over its bound, not yet reported. */
  private dropped = 0

  constructor(
    private readonly output: LineOutput,
    private readonly batching: LogBatching = logBatchingDefault,
  ) {}

  /** Takes one line (pino hands them over with their newline). */
  write(line: string): void {
    const backlog = this.output.writableLength + this.pendingBytes + line.length
    if (backlog > this.batching.backlogBytesMax) {
      this.dropped++
      return
    }
    this.pending.push(line)
    this.pendingBytes += line.length
    if (this.pendingBytes >= this.batching.batchBytes) this.flush()
    else if (this.timer === undefined) {
      // Not unref'd: a process that ends naturally writes its last lines first.
      this.timer = setTimeout(() => this.flush(), this.batching.batchDelayMs)
    }
  }

  /** Hands every pending line to the output now. */
  flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer)
      this.timer = undefined
    }
    if (this.pending.length === 0 && this.dropped === 0) return
    if (this.dropped > 0) {
      this.pending.push(JSON.stringify({ level: 40, time: Date.now(), msg: "log lines dropped",
        dropped: this.dropped }) + "\n")
      this.dropped = 0
    }
    const chunk = this.pending.join("")
    this.pending = []
    this.pendingBytes = 0
    this.output.write(chunk)
  }
}
