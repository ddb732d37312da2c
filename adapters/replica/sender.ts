/**
 * The master side of one sync cycle over the real path: snapshot the image, diff it against the
 * base (the last acknowledged snapshot) with a BlockKernels backend, stream the changed blocks to
 * the agent at `bwlimit`, and, only after the agent's ACK, advance the base. `last_sync` is for
 * the caller to record from the returned acknowledgement, never before it.
 */
import { existsSync, readFileSync, rmSync } from "node:fs"
import { connect, type Socket } from "node:net"
import {
  BLOCK_SIZE_BYTES, type BlockKernels, bitmapBytes, blocksOf, changedBlocks,
} from "../../core/kernels/index.ts"
import {
  imagePaths, readMeta, readWhole, writeBlocksInPlace, writeFileAtomic, writeMeta,
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

/** Snapshot and diff against the base: the changed block indices and the snapshot bytes. */
export function diffAgainstBase(
  masterDir: string, imageId: string, kernels: BlockKernels,
): { snapshot: Uint8Array; changed: number[] } {
  const p = imagePaths(masterDir, imageId)
  const meta = readMeta(masterDir, imageId)
  if (meta === null) throw new Error(`no image ${imageId} in ${masterDir}`)
  const views = kernels.inputViews(meta.sizeBytes, meta.sizeBytes)
  if (views._tag === "Failure") throw new Error(views.failure.message)
  const [snapshot, base] = views.success
  readWhole(p.image, snapshot)
  readWhole(p.base, base)
  const bitmap = new Uint8Array(bitmapBytes(blocksOf(meta.sizeBytes)))
  const diff = kernels.diffBlocksInto(snapshot, base, bitmap)
  if (diff._tag === "Failure") throw new Error(diff.failure.message)
  return { snapshot, changed: changedBlocks(bitmap, blocksOf(meta.sizeBytes)) }
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
  const { snapshot, changed } = diffAgainstBase(req.masterDir, req.imageId, req.kernels)
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
    writeFileAtomic(p.pending, JSON.stringify({ generations: attempted, indices }))
    const sent = await stream(peer, req, state.generation, snapshot, indices)
    const ack = (await expect(peer, FrameType.ack, timeoutMs)).body
    if (ack.generation !== req.generation) throw new Error(`ACK for ${ack.generation}`)
    writeBlocksInPlace(p.base, snapshot, indices, BLOCK_SIZE_BYTES)
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
  peer: Peer, req: SyncRequest, fromGeneration: number, snapshot: Uint8Array,
  indices: ReadonlyArray<number>,
): Promise<{ payloadBytes: number; wireBytes: number; throttledMs: number }> {
  const frameBytes = BLOCK_SIZE_BYTES + blockFrameOverheadBytes
  const bucket = req.bwlimitBytesPerS === null ? null : new TokenBucket(req.bwlimitBytesPerS,
    burstBytesFor(req.bwlimitBytesPerS, frameBytes), req.clock ?? realClock)
  await peer.write(controlFrame(FrameType.begin,
    { generation: req.generation, fromGeneration, blockCount: indices.length }))
  let payloadBytes = 0, wireBytes = 0
  for (const index of indices) {
    const start = index * BLOCK_SIZE_BYTES
    const frame = blockFrame(index,
      snapshot.subarray(start, Math.min(start + BLOCK_SIZE_BYTES, snapshot.length)))
    if (bucket !== null) await bucket.take(frame.length)
    await peer.write(frame)
    payloadBytes += frame.length - blockFrameOverheadBytes
    wireBytes += frame.length
  }
  await peer.write(controlFrame(FrameType.end, { blockCount: indices.length }))
  return { payloadBytes, wireBytes, throttledMs: bucket?.waitedMs ?? 0 }
}
