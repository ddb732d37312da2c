/**
 * The scan worker thread, started by scan-worker.ts (through scan-worker-boot.mjs): it makes its
 * own WebAssembly block kernels once (core/kernels' selectKernels), warms the hash kernels up,
 * and then, for each scan it is offered, joins unless the main thread already shut it out,
 * scans the chunks it claims from the shared counter, and posts what it found (the captured
 * blocks' slabs and the fresh fingerprints are transferred, not copied).
 */
import { closeSync, openSync } from "node:fs"
import { parentPort } from "node:worker_threads"
import { Result } from "effect"
import { type BlockKernels, selectKernels } from "../../core/kernels/index.ts"
import {
  diffChunkBytes, expectKernel, joinJoined, joinOpen, joinSlot, scanClaimedChunks, sharedClaim,
} from "./scan-chunks.ts"
import type { ScanJob, ScanReply } from "./scan-worker.ts"

const port = parentPort
if (port === null) throw new Error("scan-worker-main.ts runs only as a worker thread")

/** Warm-up passes over one chunk per fingerprint, so the first scan runs optimised code. */
const warmUpPasses = 16

/** Warm-up scans of `warmUpScanBytes` of /dev/zero against a list that differs everywhere. */
const warmUpScans = 8
const warmUpScanBytes = 4 * diffChunkBytes

/**
 * Runs the scan loop itself (read, fingerprint, compare, capture) a few times where a zero device
 * exists, so the worker's first real scan does not run it unoptimised; elsewhere it warms up on
 * the first scans instead.
 */
function warmUpScanLoop(kernels: BlockKernels): void {
  let fd: number
  try { fd = openSync("/dev/zero", "r") } catch { return }
  try {
    const old = new BigUint64Array(warmUpScanBytes / 4096).fill(1n)
    for (let i = 0; i < warmUpScans; i++) {
      let next = 0
      scanClaimedChunks(fd, kernels, "xxh3", warmUpScanBytes, old,
        () => next * diffChunkBytes < warmUpScanBytes ? next++ : -1)
    }
  } finally { closeSync(fd) }
}

const selection = selectKernels("wasm")
if (Result.isFailure(selection)) {
  port.postMessage({ kind: "unavailable", message: selection.failure.message } satisfies ScanReply)
} else {
  const kernels = selection.success.kernels
  const view = expectKernel(kernels.inputView(diffChunkBytes))
  const out = new BigUint64Array(view.length / 4096)
  for (let i = 0; i < warmUpPasses; i++) {
    view.fill(i)
    expectKernel(kernels.xxh3BlocksInto(view, out))
    expectKernel(kernels.hashBlocksInto(view, out))
  }
  warmUpScanLoop(kernels)
  port.on("message", (job: ScanJob) => {
    if (Atomics.compareExchange(job.control, joinSlot, joinOpen, joinJoined) !== joinOpen) {
      port.postMessage({ kind: "skipped", token: job.token } satisfies ScanReply)
      return
    }
    Atomics.notify(job.control, joinSlot) // wakes a main thread waiting for the join (tests)
    let reply: ScanReply
    try {
      const part = scanClaimedChunks(job.fd, kernels, job.fingerprint, job.sizeBytes, job.old,
        sharedClaim(job.control, job.chunkCount))
      reply = { kind: "done", token: job.token, changed: part.changed, fresh: part.fresh,
        slabs: part.capture.slabs, slabOf: part.capture.slabOf, offsetOf: part.capture.offsetOf,
        chunks: part.chunks }
    } catch (e) {
      reply = { kind: "failed", token: job.token, message: e instanceof Error ? e.message : `${e}` }
    }
    port.postMessage(reply, reply.kind === "done"
      ? [reply.fresh.buffer, ...reply.slabs.map((s) => s.buffer)] : [])
  })
  port.postMessage({ kind: "ready" } satisfies ScanReply)
}
