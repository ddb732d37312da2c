/**
 * Scan helpers: worker threads that take chunks of a hash-list scan off the main thread, so the
 * image is read and hashed on every core. A process starts them after its first scan (loading
 * one costs a few hundred ms of CPU, which a one-shot command should not pay during its only
 * scan); they stay for the life of the process without keeping it alive, and later scans use
 * those that are ready. A scan's chunks are claimed from one shared counter, and a helper that
 * has not joined a scan by the time the main thread has claimed the last chunk is shut out of it
 * (its join word closed), so a descheduled helper only leaves more chunks to the main thread.
 */
import { availableParallelism } from "node:os"
import { Worker } from "node:worker_threads"
import {
  capturedOf, type ChangedBlocks, type HashScanJob, type HashScanReply, joinClosed, joinOpen,
} from "./hash-chunks.ts"

/** Most helper threads a process starts (one per further core, up to this). */
export const scanHelperCountMax = 3

type Share = ChangedBlocks | null

/** One helper thread and the replies it owes. */
export class ScanHelper {
  private readonly worker: Worker
  private readonly waiting = new Map<number, {
    readonly resolve: (share: Share) => void
    readonly reject: (e: Error) => void
    readonly onPart: (part: ChangedBlocks) => void
  }>()
  private nextToken = 1
  private failure: Error | null = null
  private loaded = false
  private readonly loading: Promise<void>

  constructor() {
    this.worker = new Worker(new URL("./scan-helper-boot.mjs", import.meta.url), { execArgv: [] })
    let markReady = (): void => {}
    this.loading = new Promise((resolve, reject) => {
      markReady = resolve
      this.worker.once("error", reject)
      this.worker.once("exit", () => reject(new Error("scan helper exited before it was ready")))
    })
    this.loading.catch(() => {})
    this.worker.on("message", (reply: HashScanReply) => {
      if (reply.kind === "ready") { this.loaded = true; markReady(); return }
      const waiter = this.waiting.get(reply.token)
      if (waiter === undefined) return // a job the main thread closed without this helper
      if (reply.kind === "part") {
        waiter.onPart({ changed: reply.changed, captured: capturedOf(reply) })
        return
      }
      this.settle(reply.token)
      if (reply.kind === "done") {
        waiter.resolve({ changed: reply.changed, captured: capturedOf(reply) })
      } else if (reply.kind === "failed") {
        waiter.reject(new Error(`scan helper: ${reply.message}`))
      } else waiter.resolve(null)
    })
    this.worker.on("error", (e) => this.fail(e))
    this.worker.on("exit", (code) => this.fail(new Error(`scan helper exited (${code})`)))
    // Last: a 'message' listener added after unref() would hold the process open again.
    this.worker.unref()
  }

  /**
   * Resolves once the helper has loaded and can take jobs (rejects if it died first); the
   * process stays alive while this is awaited.
   */
  async untilReady(): Promise<void> {
    this.worker.ref()
    try { await this.loading } finally { if (this.waiting.size === 0) this.worker.unref() }
  }

  /** Whether the thread died (a new helper replaces it). */
  get dead(): boolean {
    return this.failure !== null
  }

  /** Whether the thread has loaded and is alive. */
  get usable(): boolean {
    return this.loaded && this.failure === null
  }

  /**
   * Offers a job on `control[slot]` to the helper. `close`, once the main thread has claimed
   * every chunk, shuts the helper out unless it joined, and gives the rest of its share (null
   * when it did not join); `reply` waits for the helper whatever happens (for a scan left to
   * the helpers). Parts of the share found while the scan runs go to `onPart` (as messages are
   * delivered: whenever the main thread lets its event loop turn).
   */
  offer(job: Omit<HashScanJob, "token">, onPart: (part: ChangedBlocks) => void): {
    readonly close: () => Promise<Share>
    readonly reply: Promise<Share>
  } {
    const token = this.nextToken++
    const reply = new Promise<Share>((resolve, reject) => {
      if (this.failure !== null) { resolve(null); return }
      this.waiting.set(token, { resolve, reject, onPart })
      if (this.waiting.size === 1) this.worker.ref()
      this.worker.postMessage({ ...job, token } satisfies HashScanJob)
    })
    reply.catch(() => {})
    return {
      reply,
      close: () => {
        if (Atomics.compareExchange(job.control, job.slot, joinOpen, joinClosed) !== joinOpen) {
          return reply // joined: its share comes (the chunks it claimed are finished first)
        }
        this.settle(token)
        return Promise.resolve(null)
      },
    }
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

let helpers: ScanHelper[] = []

/** This process's scan helpers that have loaded (none before `startScanHelpers`). */
export function readyScanHelpers(): ReadonlyArray<ScanHelper> {
  return helpers.filter((h) => h.usable)
}

/** The environment variable that sets how many scan helpers a process starts (0: none). */
export const SCAN_HELPERS_ENV = "CORRAL_SCAN_HELPERS"

/**
 * How many helpers to start: CORRAL_SCAN_HELPERS when it is a count (at most
 * `scanHelperCountMax`), else one per core beyond the first, up to that.
 */
export function scanHelperCount(env: Readonly<Record<string, string | undefined>> = process.env,
  cores: number = availableParallelism()): number {
  const text = env[SCAN_HELPERS_ENV]
  const asked = text === undefined || !/^\d+$/.test(text) ? cores - 1 : Number(text)
  return Math.max(0, Math.min(scanHelperCountMax, asked))
}

/**
 * Starts this process's scan helpers (idempotent; a helper that died is replaced): as many as
 * `scanHelperCount()`, so none on a single core. Returns them, ready or not (see `untilReady`).
 */
export function startScanHelpers(): ReadonlyArray<ScanHelper> {
  const wanted = scanHelperCount()
  helpers = helpers.filter((h) => !h.dead)
  while (helpers.length < wanted) helpers.push(new ScanHelper())
  return helpers
}
