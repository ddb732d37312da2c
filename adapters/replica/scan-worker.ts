/**
 * The scan worker: one worker thread, with its own WebAssembly block kernels, that scans chunks of
 * the image beside the main thread during a hash-list scan (scan.ts), so the page-cache reads and
 * the hashing run on two cores. It is started once per process (after the process's first scan,
 * so a one-shot command does not pay for loading it during its only scan) and kept warm for the
 * life of the process without keeping the process alive; a scan uses it only once it has loaded.
 *
 * A scan's chunks are claimed from one shared counter. A worker that has not joined a scan by the
 * time the main thread has claimed the last chunk is shut out of it (its join word closed), so a
 * descheduled worker only leaves more chunks to the main thread and is never waited for.
 */
import { availableParallelism } from "node:os"
import { Worker } from "node:worker_threads"
import type { BlockFingerprint } from "../../core/kernels/index.ts"
import { joinClosed, joinOpen, joinSlot } from "./scan-chunks.ts"

/** A scan offered to the worker. `control` and `old` live in SharedArrayBuffers. */
export interface ScanJob {
  readonly token: number
  readonly fd: number
  readonly sizeBytes: number
  readonly chunkCount: number
  readonly fingerprint: BlockFingerprint
  readonly old: BigUint64Array
  readonly control: Int32Array
}

/** What the worker found in its share of a scan: changed blocks ascending, with their bytes. */
export interface WorkerPart {
  readonly changed: number[]
  readonly fresh: BigUint64Array<ArrayBuffer>
  readonly slabs: Array<Uint8Array<ArrayBuffer>>
  readonly slabOf: number[]
  readonly offsetOf: number[]
  /** How many chunks the worker scanned. */
  readonly chunks: number
}

/** The worker's messages. */
export type ScanReply =
  | { readonly kind: "ready" }
  | { readonly kind: "unavailable"; readonly message: string }
  | ({ readonly kind: "done"; readonly token: number } & WorkerPart)
  | { readonly kind: "skipped"; readonly token: number }
  | { readonly kind: "failed"; readonly token: number; readonly message: string }

/** A scan offered to the worker: how to end the offer, and the worker's part. */
export interface Offer {
  /**
   * Once the main thread has claimed every chunk: shuts the worker out unless it joined, and
   * gives its part (null when it did not join). Rejects if the worker failed or died in the scan.
   */
  readonly close: () => Promise<WorkerPart | null>
}

/** One scan worker thread and the replies it owes. */
export class ScanWorker {
  private readonly worker: Worker
  private readonly waiting = new Map<number, {
    readonly resolve: (part: WorkerPart | null) => void
    readonly reject: (e: Error) => void
  }>()
  private nextToken = 1
  private failure: Error | null = null
  private loaded = false
  private readonly loading: Promise<void>

  constructor() {
    this.worker = new Worker(new URL("./scan-worker-boot.mjs", import.meta.url), { execArgv: [] })
    let markReady = (): void => {}
    let markFailed = (_: Error): void => {}
    this.loading = new Promise((resolve, reject) => { markReady = resolve; markFailed = reject })
    this.loading.catch(() => {})
    this.worker.on("message", (reply: ScanReply) => {
      if (reply.kind === "ready") { this.loaded = true; markReady(); return }
      if (reply.kind === "unavailable") {
        this.fail(new Error(`scan worker: ${reply.message}`))
        markFailed(this.failure!)
        void this.worker.terminate()
        return
      }
      const waiter = this.waiting.get(reply.token)
      if (waiter === undefined) return // a scan the main thread closed without the worker
      this.settle(reply.token)
      if (reply.kind === "done") waiter.resolve(reply)
      else if (reply.kind === "failed") waiter.reject(new Error(`scan worker: ${reply.message}`))
      else waiter.resolve(null)
    })
    this.worker.on("error", (e) => { this.fail(e); markFailed(this.failure!) })
    this.worker.on("exit", (code) => {
      this.fail(new Error(`scan worker exited (${code})`))
      markFailed(this.failure!)
    })
    // Last: a 'message' listener added after unref() would hold the process open again.
    this.worker.unref()
  }

  /** Resolves once the worker has loaded (rejects if it cannot); keeps the process alive. */
  async untilReady(): Promise<void> {
    this.worker.ref()
    try { await this.loading } finally { if (this.waiting.size === 0) this.worker.unref() }
  }

  /** Whether the thread has loaded and is alive. */
  get usable(): boolean {
    return this.loaded && this.failure === null
  }

  /** Whether the thread failed or exited (a new worker replaces it). */
  get dead(): boolean {
    return this.failure !== null
  }

  /** Offers a scan to the worker (see `Offer`). */
  offer(job: Omit<ScanJob, "token">): Offer {
    const token = this.nextToken++
    const reply = new Promise<WorkerPart | null>((resolve, reject) => {
      if (this.failure !== null) { resolve(null); return }
      this.waiting.set(token, { resolve, reject })
      if (this.waiting.size === 1) this.worker.ref()
      this.worker.postMessage({ ...job, token } satisfies ScanJob)
    })
    reply.catch(() => {})
    return {
      close: () => {
        if (Atomics.compareExchange(job.control, joinSlot, joinOpen, joinClosed) !== joinOpen) {
          return reply // joined: its part comes once it has finished the chunks it claimed
        }
        this.settle(token)
        return Promise.resolve(null)
      },
    }
  }

  /** Stops the thread (tests; a process otherwise just exits, the worker never holds it). */
  async terminate(): Promise<void> {
    await this.worker.terminate()
  }

  private settle(token: number): void {
    this.waiting.delete(token)
    if (this.waiting.size === 0) this.worker.unref()
  }

  private fail(e: unknown): void {
    this.failure ??= e instanceof Error ? e : new Error(String(e))
    for (const [token, waiter] of this.waiting) {
      this.settle(token)
      waiter.reject(this.failure)
    }
  }
}

/** Most workers a process starts (a worker that dies is replaced, up to this). */
export const scanWorkerStartsMax = 3

let current: ScanWorker | null = null
let starts = 0

/** This process's scan worker once it has loaded and is alive, else null. */
export function readyScanWorker(): ScanWorker | null {
  return current !== null && current.usable ? current : null
}

/**
 * Starts this process's scan worker unless it runs or this host has a single core (idempotent;
 * a worker that died is replaced, at most `scanWorkerStartsMax` starts). Returns it, ready or
 * not (see `untilReady`), or null.
 */
export function startScanWorker(cores: number = availableParallelism()): ScanWorker | null {
  if (cores < 2) return null
  if ((current === null || current.dead) && starts < scanWorkerStartsMax) {
    starts++
    current = new ScanWorker()
  }
  return current !== null && !current.dead ? current : null
}
