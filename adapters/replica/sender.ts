/**
 * The master side of one sync cycle over the real path: snapshot the image, diff it against the
 * base (the last acknowledged snapshot) with a BlockKernels backend, stream the changed blocks to
 * the agent at `bwlimit`, and, only after the agent's ACK, advance the base. `last_sync` is for
 * the caller to record from the returned acknowledgement, never before it.
 */
import { closeSync, existsSync, openSync, readFileSync, readSync, rmSync } from "node:fs"
import { connect, type Socket } from "node:net"
import {
  BLOCK_SIZE_BYTES, type BlockKernels, bitmapBytes, blocksOf, changedBlocks,
} from "../../core/kernels/index.ts"
import {
  imagePaths, readMeta, writeFileAtomic, writeMeta, writePayloadsInPlace,
} from "./images.ts"
import {
  type AgentState, blockFrame, blockFrameOverheadBytes, controlFrame, type Frame, FrameReader,
  FrameType,
} from "./protocol.ts"
import { burstBytesFor, realClock, type ThrottleClock, TokenBucket } from "./throttle.ts"

/** Default time to wait for the agent's STATE or ACK. */
export const replyTimeoutMsDefault = 30_000
/** Most unacknowledged generations remembered in `id.pending.json`. */
export const pendingGenerationsMax = 64

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
}

/** What an acknowledged cycle did. */
export interface SyncResult {
  readonly generation: number
  readonly changedBlockCount: number
  readonly payloadBytes: number
  readonly wireBytes: number
  readonly throttledMs: number
}

interface Pending {
  readonly generations: ReadonlyArray<number>
  readonly indices: ReadonlyArray<number>
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

function readPending(path: string): Pending | null {
  if (!existsSync(path)) return null
  return JSON.parse(readFileSync(path, "utf8")) as Pending
}

/** Bytes of image and base read and diffed at a time (a multiple of 8 blocks: 32 KiB). */
export const diffChunkBytes = 4 * 1024 * 1024

/** A snapshot's changed blocks: their indices (ascending) and their bytes. */
export interface ChangedBlocks {
  readonly sizeBytes: number
  readonly changed: number[]
  readonly payloads: Map<number, Buffer>
}

function readAt(fd: number, into: Uint8Array, position: number): void {
  let done = 0
  while (done < into.length) {
    const n = readSync(fd, into, done, into.length - done, position + done)
    if (n === 0) throw new Error("short read")
    done += n
  }
}

/**
 * Reads the image and the base chunk by chunk into the kernels' input views (no copy on the
 * WebAssembly backend), diffs each chunk while it is hot in cache, and keeps the changed blocks.
 */
export function diffAgainstBase(
  masterDir: string, imageId: string, kernels: BlockKernels,
): ChangedBlocks {
  const p = imagePaths(masterDir, imageId)
  const meta = readMeta(masterDir, imageId)
  if (meta === null) throw new Error(`no image ${imageId} in ${masterDir}`)
  const blockCount = blocksOf(meta.sizeBytes)
  const bitmap = new Uint8Array(bitmapBytes(blockCount))
  const payloads = new Map<number, Buffer>()
  const imageFd = openSync(p.image, "r"), baseFd = openSync(p.base, "r")
  try {
    for (let at = 0; at < meta.sizeBytes; at += diffChunkBytes) {
      const length = Math.min(diffChunkBytes, meta.sizeBytes - at)
      const views = kernels.inputViews(length, length)
      if (views._tag === "Failure") throw new Error(views.failure.message)
      const [snapshot, base] = views.success
      readAt(imageFd, snapshot, at)
      readAt(baseFd, base, at)
      const firstBlock = at / BLOCK_SIZE_BYTES
      const out = bitmap.subarray(firstBlock >>> 3)
      const diff = kernels.diffBlocksInto(snapshot, base, out)
      if (diff._tag === "Failure") throw new Error(diff.failure.message)
      if (diff.success === 0) continue
      for (const local of changedBlocks(out, blocksOf(length))) {
        const start = local * BLOCK_SIZE_BYTES
        payloads.set(firstBlock + local, Buffer.from(snapshot.subarray(start,
          Math.min(start + BLOCK_SIZE_BYTES, length))))
      }
    }
  } finally { closeSync(imageFd); closeSync(baseFd) }
  return { sizeBytes: meta.sizeBytes, changed: changedBlocks(bitmap, blockCount), payloads }
}

/** Adds to `payloads` the bytes of `indices` it lacks, read from the image. */
function fillPayloads(path: string, sizeBytes: number, indices: ReadonlyArray<number>,
  payloads: Map<number, Buffer>): void {
  const fd = openSync(path, "r")
  try {
    for (const index of indices) {
      if (payloads.has(index)) continue
      const start = index * BLOCK_SIZE_BYTES
      const block = Buffer.alloc(Math.min(BLOCK_SIZE_BYTES, sizeBytes - start))
      readAt(fd, block, start)
      payloads.set(index, block)
    }
  } finally { closeSync(fd) }
}

function union(...lists: ReadonlyArray<ReadonlyArray<number>>): number[] {
  return [...new Set(lists.flat())].sort((a, b) => a - b)
}

/** Runs one cycle; resolves with the acknowledgement, or rejects (nothing acknowledged). */
export async function syncOnce(req: SyncRequest): Promise<SyncResult> {
  const p = imagePaths(req.masterDir, req.imageId)
  const meta = readMeta(req.masterDir, req.imageId)
  if (meta === null || meta.role !== "master") {
    throw new Error(`image ${req.imageId} in ${req.masterDir} is ${meta?.role ?? "absent"}, ` +
      "not a master: refusing to sync from it")
  }
  if (meta.generation !== req.fromGeneration) {
    throw new Error(`base holds generation ${meta.generation}, cycle expects ${req.fromGeneration}`)
  }
  const { changed, payloads } = diffAgainstBase(req.masterDir, req.imageId, req.kernels)
  const pending = readPending(p.pending)
  const timeoutMs = req.replyTimeoutMs ?? replyTimeoutMsDefault
  const peer = await connectPeer(req.port)
  try {
    await peer.write(controlFrame(FrameType.hello,
      { imageId: req.imageId, sizeBytes: meta.sizeBytes, blockSizeBytes: BLOCK_SIZE_BYTES }))
    const state = (await expect(peer, FrameType.state, timeoutMs)).body
    const indices = planIndices(req, state, changed, pending)
    // Cycles the agent may have applied without its ACK reaching us (kept until one is ACKed).
    const carried = state.generation === req.fromGeneration ? [] : pending?.generations ?? []
    const attempted = [...carried, req.generation]
    if (attempted.length > pendingGenerationsMax) throw new Error("too many unacknowledged cycles")
    // Not fsynced: it only matters while this master process lives (see docs: master crashes).
    writeFileAtomic(p.pending, JSON.stringify({ generations: attempted, indices }), false)
    fillPayloads(p.image, meta.sizeBytes, indices, payloads)
    const sent = await stream(peer, req, state.generation, payloads, indices)
    const ack = (await expect(peer, FrameType.ack, timeoutMs)).body
    if (ack.generation !== req.generation) throw new Error(`ACK for ${ack.generation}`)
    writePayloadsInPlace(p.base, indices.map((i) => [i, payloads.get(i)!] as const),
      BLOCK_SIZE_BYTES)
    writeMeta(req.masterDir, req.imageId, { ...meta, generation: req.generation })
    rmSync(p.pending, { force: true })
    return { generation: req.generation, changedBlockCount: indices.length, ...sent }
  } finally {
    peer.socket.destroy()
  }
}

function planIndices(
  req: SyncRequest, state: AgentState, changed: number[], pending: Pending | null,
): number[] {
  const lists: Array<ReadonlyArray<number>> = [changed]
  if (state.generation !== req.fromGeneration) {
    // The agent applied a cycle whose ACK never arrived: ship what that cycle touched too.
    if (pending === null || !pending.generations.includes(state.generation)) {
      throw new Error(`agent holds generation ${state.generation}, expected ${req.fromGeneration}`)
    }
    lists.push(pending.indices)
  }
  if (req.includeSlaveChanges) lists.push(state.dirty)
  else if (state.dirty.length > 0) throw new Error("agent reports local changes; reinit first")
  return union(...lists)
}

async function stream(
  peer: Peer, req: SyncRequest, fromGeneration: number, payloads: ReadonlyMap<number, Buffer>,
  indices: ReadonlyArray<number>,
): Promise<{ payloadBytes: number; wireBytes: number; throttledMs: number }> {
  const frameBytes = BLOCK_SIZE_BYTES + blockFrameOverheadBytes
  const bucket = req.bwlimitBytesPerS === null ? null : new TokenBucket(req.bwlimitBytesPerS,
    burstBytesFor(req.bwlimitBytesPerS, frameBytes), req.clock ?? realClock)
  await peer.write(controlFrame(FrameType.begin,
    { generation: req.generation, fromGeneration, blockCount: indices.length }))
  let payloadBytes = 0, wireBytes = 0
  for (const index of indices) {
    const frame = blockFrame(index, payloads.get(index)!)
    if (bucket !== null) await bucket.take(frame.length)
    await peer.write(frame)
    payloadBytes += frame.length - blockFrameOverheadBytes
    wireBytes += frame.length
  }
  await peer.write(controlFrame(FrameType.end, { blockCount: indices.length }))
  return { payloadBytes, wireBytes, throttledMs: bucket?.waitedMs ?? 0 }
}
