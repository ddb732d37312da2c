/**
 * The replica agent: listens on 127.0.0.1, receives a framed stream for an image in its
 * directory, and acknowledges a generation only once the image fully holds it on disk.
 *
 * Crash safety: received blocks are kept in memory (as views of the received bytes) until END,
 * then committed as a redo journal with one flush (journal.ts) and only then ACKed; after the ACK
 * they are written in place, the image fdatasynced and the metadata advanced atomically.
 * Recovery (on every HELLO, at start, before a promote) replays a committed journal the metadata
 * does not claim yet and ignores a torn one, so once recovered the image is exactly the
 * generation its metadata claims, and an acknowledged generation is never lost.
 */
import { existsSync, readdirSync, rmSync } from "node:fs"
import { createServer, type Server, type Socket } from "node:net"
import { Result } from "effect"
import { type BlockKernels, changedBlocks, blocksOf } from "../../core/kernels/index.ts"
import { diffImageFiles } from "../kernels.ts"
import {
  createSlaveImage, imagePaths, readMeta, writePayloadsInPlace, writeMeta,
} from "./images.ts"
import { commitJournal, entryCrc, type Journal, readJournal } from "./journal.ts"
import { readPending } from "./pending.ts"
import {
  type Begin, controlFrame, type Frame, FrameReader, FrameType, type Hello,
} from "./protocol.ts"

/** Most bytes of block payload one generation may carry (it is held in memory until END). */
export const generationBytesMax = 1024 ** 3
/** Most simultaneous connections an agent serves. */
export const connectionCountMax = 16
/**
 * After the blocks of a committed journal are in the image and fsynced: the metadata claims
 * the generation (atomically, durably), then the journal goes. A crash before the metadata
 * lands replays the journal, which is idempotent.
 */
function finishJournal(dir: string, id: string, generation: number): void {
  const p = imagePaths(dir, id)
  const meta = readMeta(dir, id)
  if (meta === null || meta.role !== "slave") throw new Error(`${id}: journal without a slave`)
  writeMeta(dir, id, { ...meta, generation })
  rmSync(p.base, { force: true })
  rmSync(p.hashes, { force: true })
  rmSync(p.pending, { force: true })
  rmSync(p.pendingLegacy, { force: true })
}

/** Applies a committed journal to the image (in place, fdatasync), then finishes it. */
function applyJournal(dir: string, id: string, journal: Journal): void {
  writePayloadsInPlace(imagePaths(dir, id).image, journal.blocks, journal.blockSizeBytes)
  finishJournal(dir, id, journal.generation)
}

/**
 * Recovery for one image: replay a committed journal of a generation the metadata does not
 * claim yet (idempotent); a torn or stale one is ignored.
 */
export function recoverImage(dir: string, id: string): void {
  const p = imagePaths(dir, id)
  rmSync(p.journalTmp, { force: true })
  const meta = readMeta(dir, id)
  if (meta === null || meta.role !== "slave") return
  const journal = readJournal(p.journal)
  if (journal !== null && journal.generation > meta.generation) applyJournal(dir, id, journal)
}

/** Recovers every image in `dir` (at agent start). */
export function recoverAll(dir: string): void {
  for (const name of readdirSync(dir)) {
    if (name.endsWith(".meta.json")) recoverImage(dir, name.slice(0, -".meta.json".length))
  }
}

function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0
}

class Session {
  private hello: Hello | null = null
  private begin: Begin | null = null
  private blocks = new Map<number, Uint8Array>()
  private payloadBytes = 0
  /** The journal body's CRC-32 over the blocks received so far (folded as each arrives). */
  private bodyCrc = 0

  constructor(private readonly dir: string, private readonly kernels: BlockKernels,
    private readonly send: (b: Buffer) => void) {}

  handle(frame: Frame): void {
    switch (frame.type) {
      case FrameType.hello: return this.onHello(frame.body)
      case FrameType.begin: return this.onBegin(frame.body)
      case FrameType.block: return this.onBlock(frame.index, frame.payload)
      case FrameType.end: return this.onEnd(frame.body.blockCount)
      default: throw new Error(`unexpected frame ${frame.type} from the master`)
    }
  }

  private onHello(h: Hello): void {
    if (this.hello !== null) throw new Error("second HELLO")
    if (typeof h.imageId !== "string" || !isCount(h.sizeBytes) || h.blockSizeBytes !== 4096) {
      throw new Error("bad HELLO")
    }
    imagePaths(this.dir, h.imageId)
    recoverImage(this.dir, h.imageId)
    let meta = readMeta(this.dir, h.imageId)
    if (meta === null) {
      createSlaveImage(this.dir, h.imageId, h.sizeBytes)
      meta = readMeta(this.dir, h.imageId)!
    }
    if (meta.role !== "slave") throw new Error(`image ${h.imageId} is a ${meta.role} here`)
    if (meta.sizeBytes !== h.sizeBytes) throw new Error(`image size ${meta.sizeBytes} here`)
    this.hello = h
    this.send(controlFrame(FrameType.state, { generation: meta.generation, dirty: this.dirty(h) }))
  }

  /**
   * Blocks a degraded old master changed since its base (the common generation), read chunk by
   * chunk into the kernels' views, plus the blocks of a cycle it had in flight when it was
   * fenced (its base may hold them ahead of the generation it claims).
   */
  private dirty(h: Hello): number[] {
    const p = imagePaths(this.dir, h.imageId)
    if (!existsSync(p.base)) return []
    const diff = diffImageFiles(this.kernels, p.image, p.base)
    if (Result.isFailure(diff)) throw new Error(diff.failure.message)
    const changed = changedBlocks(diff.success.bitmap, diff.success.blockCount)
    const pending = readPending(p.pending, p.pendingLegacy, blocksOf(h.sizeBytes))?.indices ?? []
    if (pending.length === 0) return changed
    return [...new Set([...changed, ...pending])].sort((a, b) => a - b)
  }

  private onBegin(b: Begin): void {
    const h = this.hello
    if (h === null || this.begin !== null) throw new Error("BEGIN out of order")
    const meta = readMeta(this.dir, h.imageId)!
    if (!isCount(b.generation) || !isCount(b.blockCount) || b.fromGeneration !== meta.generation
      || b.generation <= meta.generation) {
      throw new Error(`BEGIN ${b.generation} from ${b.fromGeneration}: holding ${meta.generation}`)
    }
    this.begin = b
  }

  private onBlock(index: number, payload: Uint8Array): void {
    const h = this.hello
    if (h === null || this.begin === null) throw new Error("BLOCK before BEGIN")
    if (index >= blocksOf(h.sizeBytes)) throw new Error(`block ${index} past the image's end`)
    const expected = Math.min(h.blockSizeBytes, h.sizeBytes - index * h.blockSizeBytes)
    if (payload.length !== expected) throw new Error(`block ${index}: ${payload.length} bytes`)
    if (this.blocks.has(index)) throw new Error(`block ${index} sent twice`)
    this.payloadBytes += payload.length
    if (this.payloadBytes > generationBytesMax) throw new Error("generation too large")
    // A view of the received bytes (socket buffers are never reused): no copy until the journal.
    this.blocks.set(index, payload)
    this.bodyCrc = entryCrc(this.bodyCrc, index, payload)
  }

  private onEnd(blockCount: number): void {
    const h = this.hello, b = this.begin
    if (h === null || b === null) throw new Error("END before BEGIN")
    if (blockCount !== this.blocks.size || b.blockCount !== blockCount) {
      throw new Error(`END: ${blockCount} announced, ${this.blocks.size} received`)
    }
    const p = imagePaths(this.dir, h.imageId)
    // One flush commits the generation (the redo journal); only then the ACK.
    commitJournal(p.journal, b.generation, h.blockSizeBytes, this.blocks, this.bodyCrc)
    this.send(controlFrame(FrameType.ack, { generation: b.generation }))
    // In place, fdatasync, metadata: every frame is handled synchronously, so no HELLO sees the
    // image in between, and a crash here is finished by recovery from the journal.
    writePayloadsInPlace(p.image, this.blocks, h.blockSizeBytes)
    finishJournal(this.dir, h.imageId, b.generation)
    this.begin = null
    this.blocks = new Map()
    this.payloadBytes = 0
    this.bodyCrc = 0
  }
}

/** A running agent. */
export interface AgentHandle {
  readonly port: number
  readonly close: () => Promise<void>
}

/** Starts an agent serving `dir` on 127.0.0.1 (`port` 0: an ephemeral port). */
export async function startAgent(
  dir: string, kernels: BlockKernels, port = 0,
): Promise<AgentHandle> {
  recoverAll(dir)
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    if (sockets.size >= connectionCountMax) { socket.destroy(); return }
    sockets.add(socket)
    socket.on("close", () => sockets.delete(socket))
    serve(socket, dir, kernels)
  })
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(port, "127.0.0.1", () => resolve())
  })
  const address = server.address()
  if (address === null || typeof address === "string") throw new Error("no TCP address")
  return {
    port: address.port,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy()
      server.close(() => resolve())
    }),
  }
}

function serve(socket: Socket, dir: string, kernels: BlockKernels): void {
  const reader = new FrameReader()
  const session = new Session(dir, kernels, (b) => { socket.write(b) })
  socket.on("data", (data: Buffer) => {
    try {
      for (const frame of reader.push(data)) session.handle(frame)
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e)
      socket.end(controlFrame(FrameType.error, { message }))
      socket.removeAllListeners("data")
    }
  })
  socket.on("error", () => socket.destroy())
}
