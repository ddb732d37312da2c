/**
 * The replica agent: listens on 127.0.0.1, receives a framed stream for an image in its
 * directory, and acknowledges a generation only once the image fully holds it on disk.
 *
 * Crash safety: received blocks are kept in memory until END, then written as a redo journal
 * (`id.journal.tmp`, fsync, rename to `id.journal`, fsync the directory: the commit point),
 * applied in place, fsynced, the metadata advanced atomically, the journal removed, and only
 * then ACKed. Recovery (on every HELLO and at start) replays a committed journal and discards an
 * uncommitted one, so the image is always exactly the generation its metadata claims.
 */
import { existsSync, readdirSync, rmSync } from "node:fs"
import { createServer, type Server, type Socket } from "node:net"
import { type BlockKernels, changedBlocks, blocksOf } from "../../core/kernels/index.ts"
import {
  createSlaveImage, imagePaths, readMeta, readWhole, writePayloadsInPlace,
  writeFileAtomic, writeMeta,
} from "./images.ts"
import {
  type Begin, controlFrame, type Frame, FrameReader, FrameType, type Hello,
} from "./protocol.ts"

/** Most bytes of block payload one generation may carry (it is held in memory until END). */
export const generationBytesMax = 1024 ** 3
/** Most simultaneous connections an agent serves. */
export const connectionCountMax = 16
const journalMagic = 0x43524a31 // "CRJ1"

/** Encodes a journal: header (magic, generation, count, block size) then (index, len, data)×n. */
function encodeJournal(generation: number, blockSizeBytes: number,
  blocks: ReadonlyMap<number, Uint8Array>): Buffer {
  let size = 16
  for (const payload of blocks.values()) size += 8 + payload.length
  const out = Buffer.allocUnsafe(size)
  out.writeUInt32BE(journalMagic, 0)
  out.writeUInt32BE(generation, 4)
  out.writeUInt32BE(blocks.size, 8)
  out.writeUInt32BE(blockSizeBytes, 12)
  let at = 16
  for (const [index, payload] of blocks) {
    out.writeUInt32BE(index, at)
    out.writeUInt32BE(payload.length, at + 4)
    out.set(payload, at + 8)
    at += 8 + payload.length
  }
  return out
}

/** Decodes a journal's generation, block size and blocks. */
function decodeJournal(path: string): { generation: number; blockSizeBytes: number;
  blocks: Array<readonly [number, Uint8Array]> } {
  const journal = Buffer.from(readWhole(path))
  if (journal.readUInt32BE(0) !== journalMagic) throw new Error(`${path}: bad magic`)
  const generation = journal.readUInt32BE(4)
  const count = journal.readUInt32BE(8)
  const blockSizeBytes = journal.readUInt32BE(12)
  const blocks: Array<readonly [number, Uint8Array]> = []
  let at = 16
  for (let i = 0; i < count; i++) {
    const index = journal.readUInt32BE(at)
    const length = journal.readUInt32BE(at + 4)
    blocks.push([index, journal.subarray(at + 8, at + 8 + length)])
    at += 8 + length
  }
  if (at !== journal.length) throw new Error(`${path}: trailing bytes`)
  return { generation, blockSizeBytes, blocks }
}

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
  rmSync(p.journal)
}

/** Applies a committed journal to the image (in place, fsync), then finishes it. */
export function applyJournal(dir: string, id: string): number {
  const p = imagePaths(dir, id)
  const { generation, blockSizeBytes, blocks } = decodeJournal(p.journal)
  writePayloadsInPlace(p.image, blocks, blockSizeBytes)
  finishJournal(dir, id, generation)
  return generation
}

/** Recovery for one image: replay a committed journal, drop an uncommitted one. */
export function recoverImage(dir: string, id: string): void {
  const p = imagePaths(dir, id)
  rmSync(p.journalTmp, { force: true })
  if (existsSync(p.journal)) applyJournal(dir, id)
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

  /** Blocks a degraded old master changed since its base (the common generation). */
  private dirty(h: Hello): number[] {
    const p = imagePaths(this.dir, h.imageId)
    if (!existsSync(p.base)) return []
    const diff = this.kernels.diffBlocks(readWhole(p.image), readWhole(p.base))
    if (diff._tag === "Failure") throw new Error(diff.failure.message)
    return changedBlocks(diff.success.bitmap, diff.success.blockCount)
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
    this.blocks.set(index, Buffer.from(payload))
  }

  private onEnd(blockCount: number): void {
    const h = this.hello, b = this.begin
    if (h === null || b === null) throw new Error("END before BEGIN")
    if (blockCount !== this.blocks.size || b.blockCount !== blockCount) {
      throw new Error(`END: ${blockCount} announced, ${this.blocks.size} received`)
    }
    const p = imagePaths(this.dir, h.imageId)
    // Written as id.journal.tmp, fsynced, renamed to id.journal: the rename is the commit point.
    writeFileAtomic(p.journal, encodeJournal(b.generation, h.blockSizeBytes, this.blocks))
    // In place, then fsync: only now does the image hold the generation, and only now the ACK.
    writePayloadsInPlace(p.image, this.blocks, h.blockSizeBytes)
    this.send(controlFrame(FrameType.ack, { generation: b.generation }))
    // The metadata catches up after the ACK; every frame is handled synchronously, so no HELLO
    // can see the image in between, and a crash here is finished by recovery from the journal.
    finishJournal(this.dir, h.imageId, b.generation)
    this.begin = null
    this.blocks = new Map()
    this.payloadBytes = 0
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
