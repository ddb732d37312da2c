/**
 * A scan helper thread, started by scan-helpers.ts (through scan-helper-boot.mjs): it compiles
 * the block hash kernel once and owns an instance of it; for each job it joins unless the main
 * thread already closed the job, scans the chunks it claims from the shared counter, and posts
 * what it found (the captured blocks' slabs are transferred, not copied).
 */
import { parentPort } from "node:worker_threads"
import { wasmBase64 } from "../../build/blockhash.wasm.ts"
import { HashKernel } from "../../core/kernels/wasm-hash.ts"
import { compileKernel } from "../../core/kernels/wasm-runtime.ts"
import {
  chunksPerPart, doneReply, hashScanChunks, type HashScanJob, type HashScanReply, joinJoined,
  joinOpen, sharedClaim,
} from "./hash-chunks.ts"

const port = parentPort
if (port === null) throw new Error("scan-helper-main.ts runs only as a worker thread")
const compiled = compileKernel("blockhash", wasmBase64)
if (!compiled.ok) throw new Error(compiled.reason)
const kernel = new HashKernel(compiled.module)

function onJob(job: HashScanJob): void {
  if (Atomics.compareExchange(job.control, job.slot, joinOpen, joinJoined) !== joinOpen) {
    port!.postMessage({ kind: "skipped", token: job.token } satisfies HashScanReply)
    return
  }
  let reply: HashScanReply
  try {
    // What it finds goes back every `chunksPerPart` chunks, so the main thread can ship it
    // while the scan runs.
    const claim = sharedClaim(job.control, job.chunkCount)
    for (;;) {
      let left = chunksPerPart, exhausted = false
      const found = hashScanChunks(job.fd, kernel, job.sizeBytes, job.hashes, () => {
        if (left-- === 0) return -1
        const chunk = claim()
        exhausted = chunk < 0
        return chunk
      })
      if (exhausted) { reply = doneReply(job.token, found); break }
      if (found.changed.length === 0) continue
      const part = doneReply(job.token, found, "part")
      port!.postMessage(part, part.slabs)
    }
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e)
    reply = { kind: "failed", token: job.token, message }
  }
  port!.postMessage(reply, reply.kind === "done" ? reply.slabs : [])
}

port.on("message", onJob)
port.postMessage({ kind: "ready" } satisfies HashScanReply)
