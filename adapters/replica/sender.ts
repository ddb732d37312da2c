/**
 * The master side of one sync cycle over the real path: find the blocks changed since the base
 * (the last acknowledged snapshot; scan.ts), lay them into their frames (frames.ts) and send
 * them to the agent — without a bwlimit while the scan still runs, after a whole-image pending
 * record, so END waits for no flush of its own; with one, after the scan through the token
 * bucket — then END, and only after the agent's ACK write them into the base and advance the
 * base's generation (in the commit that follows it). `last_sync` is for the caller to record
 * from the returned acknowledgement, never before it.
 */
import { closeSync, fdatasync as fdatasyncCb, openSync, rmSync } from "node:fs"
import { connect, type Socket } from "node:net"
import { BLOCK_SIZE_BYTES, type BlockKernels, blocksOf } from "../../core/kernels/index.ts"
import { readHashList, writeHashList } from "./hashlist.ts"
import {
  type ImageMeta, imagePaths, readMeta, writeMeta,
} from "./images.ts"
import { type Batch, FrameSink, payloadOf, writeBatchesInPlace } from "./frames.ts"
import type { BlockKeeper } from "./hash-chunks.ts"
import {
  clearPending, type Pending, readPending, writePending, writePendingWholeImage,
} from "./pending.ts"
import {
  type ChangedBlocks, changedSinceBase, changedSinceHashes, expectKernel,
} from "./scan.ts"
import {
  type AgentState, blockFrameOverheadBytes, controlFrame, type Frame, FrameReader, FrameType,
} from "./protocol.ts"
import { burstBytesFor, realClock, type ThrottleClock, TokenBucket } from "./throttle.ts"

/** Default time to wait for the agent's STATE or ACK. */
export const replyTimeoutMsDefault = 30_000

/** One cycle to run. `generation`/`fromGeneration` come from the core's `startSync`. */
export interface SyncRequest {
  readonly masterDir: string
  readonly imageId: string
  readonly port: number
  readonly generation: number
  readonly fromGeneration: number
  readonly includeSlaveChanges: boolean
  readonly bwlimitBytesPerS: number | null
  readonly kernels: BlockKernels
  readonly replyTimeoutMs?: number
  readonly clock?: ThrottleClock
  /** Called with a phase name as each phase of the cycle ends (timing; never changes it). */
  readonly trace?: (phase: string) => void
}

/** What an acknowledged cycle did. */
export interface SyncResult {
  readonly generation: number
  readonly changedBlockCount: number
  readonly payloadBytes: number
  readonly wireBytes: number
  readonly throttledMs: number
}

/** A connection that yields frames in order. */
class Peer {
  private readonly reader = new FrameReader()
  private readonly frames: Frame[] = []
  private waiter: ((f: Frame | Error) => void) | null = null
  private failure: Error | null = null

  constructor(readonly socket: Socket) {
    socket.on("data", (d: Buffer) => {
      try { for (const f of this.reader.push(d)) this.deliver(f) } catch (e) { this.fail(e) }
    })
    socket.on("error", (e) => this.fail(e))
    socket.on("end", () => this.fail(new Error("connection closed by the agent")))
    socket.on("close", () => this.fail(new Error("connection closed by the agent")))
  }

  private deliver(f: Frame): void {
    const w = this.waiter
    if (w !== null) { this.waiter = null; w(f) } else this.frames.push(f)
  }

  private fail(e: unknown): void {
    this.failure ??= e instanceof Error ? e : new Error(String(e))
    const w = this.waiter
    if (w !== null) { this.waiter = null; w(this.failure) }
  }

  next(timeoutMs: number): Promise<Frame> {
    const queued = this.frames.shift()
    if (queued !== undefined) return Promise.resolve(queued)
    if (this.failure !== null) return Promise.reject(this.failure)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.waiter = null; reject(new Error("agent timed out")) },
        timeoutMs)
      this.waiter = (f) => { clearTimeout(timer); f instanceof Error ? reject(f) : resolve(f) }
    })
  }

  /**
   * Hands `data` to the socket without waiting for it to drain (for frames queued while the
   * scan runs; what is queued is bounded by the cycle's blocks, which are held anyway).
   */
  send(data: Buffer): void {
    if (this.failure === null) this.socket.write(data)
  }

  /** Throws what broke the connection, if anything has. */
  check(): void {
    if (this.failure !== null) throw this.failure
  }

  async write(data: Buffer): Promise<void> {
    if (this.failure !== null) throw this.failure
    if (!this.socket.write(data)) {
      await new Promise<void>((resolve, reject) => {
        const onDrain = () => { this.socket.off("close", onClose); resolve() }
        const onClose = () => { this.socket.off("drain", onDrain); reject(this.failure) }
        this.socket.once("drain", onDrain)
        this.socket.once("close", onClose)
      })
    }
  }
}

function connectPeer(port: number): Promise<Peer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: "127.0.0.1" })
    socket.once("error", reject)
    socket.once("connect", () => { socket.off("error", reject); resolve(new Peer(socket)) })
  })
}

async function expect<T extends Frame["type"]>(
  peer: Peer, type: T, timeoutMs: number,
): Promise<Extract<Frame, { type: T }>> {
  const f = await peer.next(timeoutMs)
  if (f.type === FrameType.error) throw new Error(`agent refused: ${f.body.message}`)
  if (f.type !== type) throw new Error(`expected frame ${type} from the agent, got ${f.type}`)
  return f as Extract<Frame, { type: T }>
}

/** Most bytes of BLOCK frames written to the socket at once (one syscall, fewer wake-ups). */
export const batchBytesMax = 1024 * 1024

/**
 * How this cycle finds the changed blocks: by the base's hash list where hashing is fast (the
 * WebAssembly backend: only the image is read), else by diffing image and base; in both cases
 * with the list to write after the ACK (null when there is no valid one to patch).
 */
async function findChanges(req: SyncRequest, baseGeneration: number, sizeBytes: number,
  keep: BlockKeeper | undefined,
): Promise<ChangedBlocks & { readonly hashes: BigUint64Array | null }> {
  if (req.kernels.backend === "wasm") {
    return changedSinceHashes(req.masterDir, req.imageId, req.kernels, baseGeneration, sizeBytes,
      undefined, keep)
  }
  const p = imagePaths(req.masterDir, req.imageId)
  const hashes = readHashList(p.hashes, baseGeneration, blocksOf(sizeBytes))
  return { ...changedSinceBase(req.masterDir, req.imageId, req.kernels, sizeBytes), hashes }
}

/**
 * Patches `hashes` with the hash of every shipped block the diff did not already hash, so the
 * list equals the base once the batches are in it.
 */
function patchHashes(kernels: BlockKernels, hashes: BigUint64Array, batches: ReadonlyArray<Batch>,
  hashedByDiff: ReadonlySet<number>): void {
  const one = new BigUint64Array(1)
  for (const b of batches) {
    b.indices.forEach((index, i) => {
      if (hashedByDiff.has(index)) return
      expectKernel(kernels.hashBlocksInto(payloadOf(b, i), one))
      hashes[index] = one[0]!
    })
  }
}

/**
 * The master's commit of each acknowledged cycle still running, by image (its metadata path):
 * the base's flush, then the metadata, the pending record's removal and the hash list. It
 * resolves with the error it met, if any (never rejects).
 */
const commits = new Map<string, Promise<Error | null>>()

/**
 * Waits until the master has committed the last acknowledged cycle of `imageId` (base flushed,
 * metadata at the acknowledged generation, pending record gone); throws what that commit met.
 * `syncOnce` resolves at the ACK and commits in the background: call this before reading the
 * master's metadata or changing its image. A commit that failed leaves the pending record, so
 * the next cycle re-ships its blocks (as after a lost ACK).
 */
export async function settleCycle(masterDir: string, imageId: string): Promise<void> {
  const key = imagePaths(masterDir, imageId).meta
  const commit = commits.get(key)
  if (commit === undefined) return
  const failure = await commit
  if (commits.get(key) === commit) commits.delete(key)
  if (failure !== null) throw new Error(`commit of the acknowledged cycle: ${failure.message}`)
}

/**
 * Runs one cycle; resolves with the acknowledgement (the slave holds the generation durably),
 * or rejects (nothing acknowledged). The master's own commit continues after it resolves; see
 * `settleCycle`.
 */
export async function syncOnce(req: SyncRequest): Promise<SyncResult> {
  await settleCycle(req.masterDir, req.imageId)
  const p = imagePaths(req.masterDir, req.imageId)
  const meta = readMeta(req.masterDir, req.imageId)
  if (meta === null || meta.role !== "master") {
    throw new Error(`image ${req.imageId} in ${req.masterDir} is ${meta?.role ?? "absent"}, ` +
      "not a master: refusing to sync from it")
  }
  if (req.generation <= meta.generation) {
    throw new Error(`base holds generation ${meta.generation}, cycle ships ${req.generation}`)
  }
  const blockCount = blocksOf(meta.sizeBytes)
  const pending = readPending(p.pending, p.pendingLegacy, blockCount)
  const timeoutMs = req.replyTimeoutMs ?? replyTimeoutMsDefault
  const trace = req.trace ?? (() => {})
  const streaming = req.bwlimitBytesPerS === null
  const peer = await connectPeer(req.port)
  trace("connect")
  const imageFd = openSync(p.image, "r"), baseFd = openSync(p.base, "r+")
  let recorded: Promise<void> = Promise.resolve()
  // What the pending record held before this cycle replaced it, while the agent cannot hold the
  // new generation yet (until END is written): put back if the cycle fails before that.
  let restore: { readonly pending: Pending | null } | null = null
  let acknowledged = false
  try {
    // HELLO first: the agent recovers and answers while this process scans.
    await peer.write(controlFrame(FrameType.hello,
      { imageId: req.imageId, sizeBytes: meta.sizeBytes, blockSizeBytes: BLOCK_SIZE_BYTES }))
    const expectState = async () => (await expect(peer, FrameType.state, timeoutMs)).body
    // Without an unacknowledged cycle the agent can only hold the base's generation (anything
    // else is refused once STATE is read): a streaming cycle starts at once, BEGIN first.
    let state = streaming && pending !== null ? await expectState() : null
    const fromGeneration = state?.generation ?? meta.generation
    const sink = new FrameSink(meta.sizeBytes, batchLimitBytes(req.bwlimitBytesPerS),
      streaming ? (batch) => peer.send(batch.bytes) : null)
    if (streaming) {
      if (state !== null) planIndices(req, meta.generation, state, [], pending)
      // Durable before END leaves (flushed while the scan runs), before the exact list is
      // known: after a crash of this process or its host, the next cycle re-ships every block
      // (or, once the list below is written, those) from whatever generation the agent holds.
      restore = { pending }
      recorded = writePendingWholeImage(p.pending, [...new Set([fromGeneration,
        req.generation])], blockCount)
      recorded.catch(() => {}) // awaited by the stream (or in `finally`)
      await peer.write(controlFrame(FrameType.begin,
        { generation: req.generation, fromGeneration }))
    }
    const { changed, captured, hashes } = await findChanges(req, meta.generation,
      meta.sizeBytes, streaming ? (index, chunk, local) => sink.add(index,
        chunk.subarray(local * BLOCK_SIZE_BYTES, (local + 1) * BLOCK_SIZE_BYTES)) : undefined)
    trace("scan")
    state ??= await expectState()
    trace("state")
    if (streaming && state.generation !== fromGeneration) {
      throw new Error(`agent holds generation ${state.generation}, base holds ${fromGeneration}`)
    }
    const indices = planIndices(req, meta.generation, state, changed, pending)
    // The rest: blocks captured by scan helpers, pending and dirty ones (read from the image).
    for (const index of indices) {
      if (sink.has(index)) continue
      const seen = captured.get(index)
      if (seen !== undefined) sink.add(index, seen)
      else sink.addFromFile(imageFd, index)
    }
    sink.seal()
    trace("frames")
    // The agent can only ever hold the generation it holds now or this one. Streaming: the
    // exact list after the whole-image record, unflushed; else flushed while the blocks stream.
    const exact = { generations: [...new Set([state.generation, req.generation])], indices }
    if (streaming) await writePending(p.pending, exact, blockCount, false)
    else {
      recorded = writePending(p.pending, exact, blockCount)
      recorded.catch(() => {})
    }
    trace("pending write")
    const sent = await stream(peer, req, state.generation, sink.batches, indices.length,
      recorded, () => { restore = null })
    const ack = await expect(peer, FrameType.ack, timeoutMs)
    trace("ack")
    if (ack.body.generation !== req.generation) throw new Error(`ACK for ${ack.body.generation}`)
    acknowledged = true
    commits.set(p.meta, commitCycle(req, meta, imageFd, baseFd, hashes, sink.batches,
      req.kernels.backend === "wasm" ? changed : []))
    return { generation: req.generation, changedBlockCount: indices.length, ...sent }
  } finally {
    peer.socket.destroy()
    if (!acknowledged) {
      await recorded.catch(() => {})
      if (restore !== null) putBack(p, restore.pending, blockCount)
      closeSync(imageFd)
      closeSync(baseFd)
    }
  }
}

/**
 * Puts the pending record back as it was before a cycle that failed before END (the agent
 * cannot hold its generation, and the base was not touched), unflushed: a host crash may bring
 * back the whole-image record, which only makes the next cycle ship more.
 */
function putBack(p: ReturnType<typeof imagePaths>, pending: Pending | null,
  blockCount: number): void {
  try {
    if (pending === null) clearPending(p.pending, p.pendingLegacy, blockCount)
    else void writePending(p.pending, pending, blockCount, false)
  } catch {
    // The whole-image record stays: the next cycle ships every block.
  }
}

/** Bytes per batch of frames: 1 MiB, or less under a low `bwlimit` (a smooth throttle). */
function batchLimitBytes(bwlimitBytesPerS: number | null): number {
  const frameBytes = BLOCK_SIZE_BYTES + blockFrameOverheadBytes
  return bwlimitBytesPerS === null ? batchBytesMax
    : Math.min(batchBytesMax, burstBytesFor(bwlimitBytesPerS, frameBytes))
}

/**
 * The master's side of an acknowledged cycle, after the ACK: the shipped blocks go into the base
 * (which may differ from its claimed generation only at the pending record's blocks) and are
 * flushed while the metadata claims the generation (a host crash meanwhile leaves the pending
 * record, which the next cycle re-ships), then the pending record goes and the hash list (a
 * cache) is written, patched with every shipped block the scan did not hash (`hashedByScan`; a
 * TypeScript diff only patches a list that is valid). Until it is done, a crash leaves the
 * pending record, and the next cycle handles it like a lost ACK.
 */
async function commitCycle(req: SyncRequest, meta: ImageMeta, imageFd: number, baseFd: number,
  hashes: BigUint64Array | null, batches: ReadonlyArray<Batch>,
  hashedByScan: ReadonlyArray<number>): Promise<Error | null> {
  const p = imagePaths(req.masterDir, req.imageId)
  try {
    // After the caller has taken the ACK (its continuation runs first).
    await new Promise((resolve) => setImmediate(resolve))
    writeBatchesInPlace(baseFd, batches)
    if (hashes !== null) patchHashes(req.kernels, hashes, batches, new Set(hashedByScan))
    req.trace?.("commit: base writes")
    // The base's flush and the metadata's run at once: the pending record (durable since
    // before END) names every block where the base may still differ from the claimed
    // generation, and it goes only once both are done.
    const flushed = fdatasync(baseFd)
    try {
      // Read again: an image fenced or destroyed meanwhile keeps its record (and pending blocks).
      const now = readMeta(req.masterDir, req.imageId)
      if (now === null || now.role !== "master" || now.generation !== meta.generation) return null
      writeMeta(req.masterDir, req.imageId, { ...now, generation: req.generation })
      req.trace?.("commit: metadata")
    } finally {
      await flushed.catch(() => {}) // the fd is closed only after its flush
    }
    await flushed
    req.trace?.("commit: base flush")
    clearPending(p.pending, p.pendingLegacy, blocksOf(meta.sizeBytes))
    // A cache, written only once the metadata claims its generation (hashlist.ts).
    if (hashes !== null) saveHashList(p.hashes, req.generation, hashes)
    req.trace?.("commit: pending clear + hash list")
    return null
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e))
  } finally {
    closeSync(imageFd)
    closeSync(baseFd)
  }
}

/** Writes the hash list; a list that cannot be written is removed (the cycle stands). */
function saveHashList(path: string, generation: number, hashes: BigUint64Array): void {
  try {
    writeHashList(path, generation, hashes)
  } catch {
    rmSync(path, { force: true })
  }
}

function fdatasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fdatasyncCb(fd, (e) => e ? reject(e) : resolve()))
}

/**
 * What to ship: the blocks changed since the base, the blocks of any unacknowledged cycle (the
 * agent may hold it, and the base may hold its blocks), and on the first cycle after a reinit
 * the blocks the slave changed. The agent must hold the base's generation or one of the pending
 * ones; anything else cannot be explained by this master's records and is refused.
 */
function planIndices(
  req: SyncRequest, baseGeneration: number, state: AgentState, changed: number[],
  pending: Pending | null,
): number[] {
  const lists: Array<ReadonlyArray<number>> = [changed]
  if (pending !== null) lists.push(pending.indices)
  if (state.generation !== baseGeneration &&
    (pending === null || !pending.generations.includes(state.generation))) {
    throw new Error(`agent holds generation ${state.generation}, base holds ${baseGeneration}` +
      (pending === null ? "" : ` and no pending cycle ${pending.generations.join(", ")}`))
  }
  if (state.generation >= req.generation) {
    throw new Error(`agent already holds generation ${state.generation} >= ${req.generation}`)
  }
  if (req.includeSlaveChanges) lists.push(state.dirty)
  else if (state.dirty.length > 0) throw new Error("agent reports local changes; reinit first")
  return union(...lists)
}

function union(...lists: ReadonlyArray<ReadonlyArray<number>>): number[] {
  if (lists.length === 1) return [...lists[0]!]
  return [...new Set(lists.flat())].sort((a, b) => a - b)
}

/**
 * Without a bwlimit: waits for `recorded` (the pending record that covers every block shipped),
 * then sends END. With one: BEGIN, the batches through the token bucket, then the same.
 * `beforeEnd` runs just before END is written (from then on the agent may hold the generation).
 */
async function stream(
  peer: Peer, req: SyncRequest, fromGeneration: number, batches: ReadonlyArray<Batch>,
  blockCount: number, recorded: Promise<void>, beforeEnd: () => void,
): Promise<{ payloadBytes: number; wireBytes: number; throttledMs: number }> {
  let payloadBytes = 0, wireBytes = 0
  for (const batch of batches) {
    payloadBytes += batch.payloadBytes
    wireBytes += batch.bytes.length
  }
  let throttledMs = 0
  if (req.bwlimitBytesPerS !== null) {
    const frameBytes = BLOCK_SIZE_BYTES + blockFrameOverheadBytes
    const bucket = new TokenBucket(req.bwlimitBytesPerS,
      burstBytesFor(req.bwlimitBytesPerS, frameBytes), req.clock ?? realClock)
    await peer.write(controlFrame(FrameType.begin,
      { generation: req.generation, fromGeneration, blockCount }))
    for (const batch of batches) {
      await bucket.take(batch.bytes.length)
      await peer.write(batch.bytes)
    }
    throttledMs = bucket.waitedMs
  }
  await recorded
  req.trace?.("pending flush")
  peer.check() // a connection already lost never carries END
  beforeEnd()
  await peer.write(controlFrame(FrameType.end, { blockCount }))
  req.trace?.("end")
  return { payloadBytes, wireBytes, throttledMs }
}
