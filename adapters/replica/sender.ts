/**
 * The master side of one sync cycle over the real path: find the blocks changed since the base
 * (the last acknowledged snapshot; scan.ts), lay them into their frames, stream them to the
 * agent in large writes at `bwlimit`, write them into the base while the agent commits them, and
 * advance the base's generation only after the agent's ACK (in the commit that follows it).
 * `last_sync` is for the caller to record from the returned acknowledgement, never before it.
 */
import { closeSync, fdatasync as fdatasyncCb, openSync, rmSync, writeSync } from "node:fs"
import { connect, type Socket } from "node:net"
import {
  BLOCK_SIZE_BYTES, type BlockKernels, blocksOf, fingerprintBlocksInto,
} from "../../core/kernels/index.ts"
import { readHashList, writeHashList } from "./hashlist.ts"
import {
  type ImageMeta, imagePaths, readMeta, writeMeta,
} from "./images.ts"
import { clearPending, type Pending, readPending, writePending } from "./pending.ts"
import {
  type ChangedBlocks, changedSinceBase, changedSinceHashesShared, expectKernel, listFingerprint,
  readAt,
} from "./scan.ts"
import { readyScanWorker, startScanWorker } from "./scan-worker.ts"
import {
  type AgentState, blockFrameOverheadBytes, controlFrame, type Frame, FrameReader, FrameType,
  writeBlockFrameHeader,
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
  /**
   * Whether the WebAssembly scan may use the process's scan worker (scan-worker.ts) on a second
   * core (default true): it is started after the process's first scan and joins the scans that
   * follow once it has loaded.
   */
  readonly scanWorker?: boolean
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
 * WebAssembly backend: only the image is read, on the main thread and, once it has loaded, the
 * process's scan worker on the second core; the worker is started after the first such scan and
 * kept warm), else by diffing image and base (the TypeScript backend: native `memcmp` skips equal
 * runs, faster than any TypeScript hash of the image); in both cases with the list to write after
 * the ACK (null when there is no valid one to patch: the TypeScript backend patches a valid list
 * with the shipped blocks' fingerprints, 10-20 µs a block, so that a later WebAssembly cycle need
 * not rebuild it from the base).
 */
async function findChanges(req: SyncRequest, baseGeneration: number,
  sizeBytes: number): Promise<ChangedBlocks & { readonly hashes: BigUint64Array | null }> {
  if (req.kernels.backend === "wasm") {
    const useWorker = req.scanWorker ?? true
    const found = await changedSinceHashesShared(req.masterDir, req.imageId, req.kernels,
      baseGeneration, sizeBytes, listFingerprint, useWorker ? readyScanWorker() : null)
    if (useWorker) startScanWorker()
    return found
  }
  const p = imagePaths(req.masterDir, req.imageId)
  const hashes = readHashList(p.hashes, baseGeneration, blocksOf(sizeBytes), listFingerprint)
  return { ...changedSinceBase(req.masterDir, req.imageId, req.kernels, sizeBytes), hashes }
}

/**
 * Patches `hashes` with the hash of every shipped block the scan did not already hash (those of
 * an unacknowledged cycle, or the slave's own changes), so the list equals the base once the
 * batches are in it.
 */
function patchHashes(kernels: BlockKernels, hashes: BigUint64Array, batches: ReadonlyArray<Batch>,
  hashedByScan: ReadonlySet<number>): void {
  const one = new BigUint64Array(1)
  for (const b of batches) {
    b.indices.forEach((index, i) => {
      if (hashedByScan.has(index)) return
      const at = b.payloadAt[i]!
      const payload = b.bytes.subarray(at, Math.min(at + BLOCK_SIZE_BYTES, b.bytes.length))
      expectKernel(fingerprintBlocksInto(kernels, listFingerprint, payload, one))
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
  const peer = await connectPeer(req.port)
  const imageFd = openSync(p.image, "r"), baseFd = openSync(p.base, "r+")
  let pendingDurable: Promise<void> = Promise.resolve()
  let acknowledged = false
  try {
    // HELLO first: the agent recovers and answers while this process diffs.
    await peer.write(controlFrame(FrameType.hello,
      { imageId: req.imageId, sizeBytes: meta.sizeBytes, blockSizeBytes: BLOCK_SIZE_BYTES }))
    const { changed, captured, hashes } = await findChanges(req, meta.generation, meta.sizeBytes)
    const state = (await expect(peer, FrameType.state, timeoutMs)).body
    const indices = planIndices(req, meta.generation, state, changed, pending)
    // The agent can only ever hold the generation it holds now or this one.
    const attempted = [...new Set([state.generation, req.generation])]
    // Durable before END leaves or the base is touched (flushed while the blocks stream): after
    // a crash of this process or its host, the next cycle re-ships these blocks from whatever
    // generation the agent holds.
    pendingDurable = writePending(p.pending, { generations: attempted, indices }, blockCount)
    pendingDurable.catch(() => {}) // awaited by the stream (or in `finally`)
    // Each batch is framed just before it is written, so the agent checks one while the next
    // is laid out.
    const { batches, ...sent } = await stream(peer, req, state.generation,
      frameBatches(imageFd, meta.sizeBytes, indices, captured, req.bwlimitBytesPerS),
      indices.length, pendingDurable)
    // While the agent commits (its journal flush): the blocks into the base, which may run
    // ahead of the slave only at the pending indices (every later cycle ships them until one
    // is acknowledged), and the hash list as the base will be (a hash scan's changed blocks are
    // hashed already; a TypeScript diff only patches a list that is valid).
    writeBatchesInPlace(baseFd, batches)
    if (hashes !== null) {
      patchHashes(req.kernels, hashes, batches, req.kernels.backend === "wasm" ? new Set(changed)
        : new Set())
    }
    const ack = await expect(peer, FrameType.ack, timeoutMs)
    if (ack.body.generation !== req.generation) throw new Error(`ACK for ${ack.body.generation}`)
    acknowledged = true
    commits.set(p.meta, commitCycle(req, meta, imageFd, baseFd, hashes))
    return { generation: req.generation, changedBlockCount: indices.length, ...sent }
  } finally {
    peer.socket.destroy()
    if (!acknowledged) {
      await pendingDurable.catch(() => {})
      closeSync(imageFd)
      closeSync(baseFd)
    }
  }
}

/**
 * The master's side of an acknowledged cycle, after the ACK: the base is flushed before the
 * metadata claims the generation (so a claimed base survives a host crash), then the pending
 * record goes and the hash list (a cache) is written. Until it is done, a crash leaves the
 * pending record, and the next cycle handles it like a lost ACK.
 */
async function commitCycle(req: SyncRequest, meta: ImageMeta, imageFd: number, baseFd: number,
  hashes: BigUint64Array | null): Promise<Error | null> {
  const p = imagePaths(req.masterDir, req.imageId)
  try {
    await fdatasync(baseFd)
    // Read again: an image fenced or destroyed meanwhile keeps its record (and pending blocks).
    const now = readMeta(req.masterDir, req.imageId)
    if (now === null || now.role !== "master" || now.generation !== meta.generation) return null
    writeMeta(req.masterDir, req.imageId, { ...now, generation: req.generation })
    clearPending(p.pending, p.pendingLegacy, blocksOf(meta.sizeBytes))
    // A cache, written only once the metadata claims its generation (hashlist.ts).
    if (hashes !== null) saveHashList(p.hashes, req.generation, hashes)
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
    writeHashList(path, generation, hashes, listFingerprint)
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

/** BLOCK frames laid out back to back in one buffer, and where each payload sits in it. */
interface Batch {
  readonly bytes: Buffer
  readonly indices: ReadonlyArray<number>
  readonly payloadAt: ReadonlyArray<number>
  readonly payloadBytes: number
}

/**
 * Lays the blocks to ship into their BLOCK frames, one batch at a time as the stream asks for
 * them — from what the scan captured, else read from the image straight into the frame — in
 * batches of at most `batchBytesMax` bytes (smaller under a low `bwlimit`, so the throttle stays
 * smooth).
 */
function* frameBatches(fd: number, sizeBytes: number, indices: ReadonlyArray<number>,
  captured: ReadonlyMap<number, Uint8Array>, bwlimitBytesPerS: number | null,
): Generator<Batch, void, undefined> {
  const frameBytesMaxHere = BLOCK_SIZE_BYTES + blockFrameOverheadBytes
  const limit = bwlimitBytesPerS === null ? batchBytesMax
    : Math.min(batchBytesMax, burstBytesFor(bwlimitBytesPerS, frameBytesMaxHere))
  const perBatch = Math.max(1, Math.floor(limit / frameBytesMaxHere))
  for (let first = 0; first < indices.length; first += perBatch) {
    const slice = indices.slice(first, first + perBatch)
    const bytes = Buffer.allocUnsafe(slice.length * frameBytesMaxHere)
    const payloadAt: number[] = []
    let at = 0, payloadBytes = 0
    for (const index of slice) {
      const start = index * BLOCK_SIZE_BYTES
      const length = Math.min(BLOCK_SIZE_BYTES, sizeBytes - start)
      const payload = bytes.subarray(at + blockFrameOverheadBytes,
        at + blockFrameOverheadBytes + length)
      const seen = captured.get(index)
      if (seen !== undefined && seen.length === length) payload.set(seen)
      else readAt(fd, payload, start)
      writeBlockFrameHeader(bytes, at, index, payload)
      payloadAt.push(at + blockFrameOverheadBytes)
      at += blockFrameOverheadBytes + length
      payloadBytes += length
    }
    yield { bytes: bytes.subarray(0, at), indices: slice, payloadAt, payloadBytes }
  }
}


/**
 * Writes each batch's payloads at their blocks' offsets in `fd` (no flush): one pwrite per
 * block, on this thread while the agent flushes its journal (the page cache takes them in
 * microseconds; a thread-pool round trip per block costs more than the write).
 */
function writeBatchesInPlace(fd: number, batches: ReadonlyArray<Batch>): void {
  for (const b of batches) {
    for (let i = 0; i < b.indices.length; i++) {
      const at = b.payloadAt[i]!
      const length = Math.min(BLOCK_SIZE_BYTES, b.bytes.length - at)
      const written = writeSync(fd, b.bytes, at, length, b.indices[i]! * BLOCK_SIZE_BYTES)
      if (written !== length) throw new Error("short write to the base")
    }
  }
}

/**
 * Sends BEGIN and the batches at `bwlimit` as they are made, and END once `beforeEnd` has
 * settled; returns the batches sent.
 */
async function stream(
  peer: Peer, req: SyncRequest, fromGeneration: number, made: Iterable<Batch>,
  blockCount: number, beforeEnd: Promise<void>,
): Promise<{ payloadBytes: number; wireBytes: number; throttledMs: number; batches: Batch[] }> {
  const frameBytes = BLOCK_SIZE_BYTES + blockFrameOverheadBytes
  const bucket = req.bwlimitBytesPerS === null ? null : new TokenBucket(req.bwlimitBytesPerS,
    burstBytesFor(req.bwlimitBytesPerS, frameBytes), req.clock ?? realClock)
  await peer.write(controlFrame(FrameType.begin,
    { generation: req.generation, fromGeneration, blockCount }))
  let payloadBytes = 0, wireBytes = 0
  const batches: Batch[] = []
  for (const batch of made) {
    if (bucket !== null) await bucket.take(batch.bytes.length)
    await peer.write(batch.bytes)
    batches.push(batch)
    payloadBytes += batch.payloadBytes
    wireBytes += batch.bytes.length
  }
  await beforeEnd
  await peer.write(controlFrame(FrameType.end, { blockCount }))
  return { payloadBytes, wireBytes, throttledMs: bucket?.waitedMs ?? 0, batches }
}
