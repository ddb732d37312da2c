/**
 * The replica stream's framing. Every frame is `[u32 length][u8 type][body]`, big-endian, where
 * `length` counts the type byte and the body. Control frames carry JSON; a BLOCK frame carries
 * `[u32 index][u32 length][u32 crc32][payload]`.
 *
 *   master → agent: HELLO, then BEGIN, BLOCK × n, END
 *   agent → master: STATE (after HELLO), ACK (after END, once the blocks are on disk), or ERROR
 */
import { crc32 } from "node:zlib"

/** Largest frame accepted (a bound on what a peer can make us buffer). */
export const frameBytesMax = 1024 * 1024
/** Largest block payload. */
export const blockPayloadBytesMax = 64 * 1024
/** Bytes a BLOCK frame adds to its payload (length, type, index, length, crc). */
export const blockFrameOverheadBytes = 4 + 1 + 12

/** Frame types. */
export const FrameType = {
  hello: 1, state: 2, begin: 3, block: 4, end: 5, ack: 6, error: 7,
} as const
export type FrameType = (typeof FrameType)[keyof typeof FrameType]

/** HELLO: which image, its size and block size. */
export interface Hello {
  readonly imageId: string
  readonly sizeBytes: number
  readonly blockSizeBytes: number
}
/** STATE: the generation the agent fully holds, and blocks it changed since (degraded master). */
export interface AgentState {
  readonly generation: number
  readonly dirty: ReadonlyArray<number>
}
/** BEGIN: the generation about to be shipped, from which held generation, how many blocks. */
export interface Begin {
  readonly generation: number
  readonly fromGeneration: number
  readonly blockCount: number
}
/** END: closes the stream; `blockCount` must match what was sent. */
export interface End {
  readonly blockCount: number
}
/** ACK: the agent holds `generation` (written and fsynced). */
export interface Ack {
  readonly generation: number
}
/** ERROR: the agent refused or failed. */
export interface ErrorFrame {
  readonly message: string
}

/** One decoded frame. */
export type Frame =
  | { readonly type: 1; readonly body: Hello }
  | { readonly type: 2; readonly body: AgentState }
  | { readonly type: 3; readonly body: Begin }
  | { readonly type: 4; readonly index: number; readonly payload: Uint8Array }
  | { readonly type: 5; readonly body: End }
  | { readonly type: 6; readonly body: Ack }
  | { readonly type: 7; readonly body: ErrorFrame }

/** Encodes a JSON control frame. */
export function controlFrame(type: Exclude<FrameType, 4>, body: object): Buffer {
  const json = Buffer.from(JSON.stringify(body), "utf8")
  if (json.length + 1 > frameBytesMax) throw new Error("control frame larger than frameBytesMax")
  const out = Buffer.allocUnsafe(5 + json.length)
  out.writeUInt32BE(json.length + 1, 0)
  out.writeUInt8(type, 4)
  json.copy(out, 5)
  return out
}

/** Encodes a BLOCK frame with the payload's CRC-32. */
export function blockFrame(index: number, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(blockFrameOverheadBytes + payload.length)
  out.set(payload, blockFrameOverheadBytes)
  writeBlockFrameHeader(out, 0, index, out.subarray(blockFrameOverheadBytes))
  return out
}

/**
 * Writes a BLOCK frame's header at `at` in `out`, for a payload already in place right after it
 * (`out[at + blockFrameOverheadBytes …]`): the sender reads blocks straight into their frames.
 */
export function writeBlockFrameHeader(out: Buffer, at: number, index: number,
  payload: Uint8Array): void {
  if (payload.length > blockPayloadBytesMax) throw new Error("block payload too large")
  out.writeUInt32BE(1 + 12 + payload.length, at)
  out.writeUInt8(FrameType.block, at + 4)
  out.writeUInt32BE(index, at + 5)
  out.writeUInt32BE(payload.length, at + 9)
  out.writeUInt32BE(crc32(payload), at + 13)
}

/**
 * Incremental frame decoder: `push` bytes as they arrive, get back whole frames. A malformed
 * frame (bad length, bad checksum, bad JSON, unknown type) throws: the connection is dropped.
 */
export class FrameReader {
  private chunks: Buffer[] = []
  private bufferedBytes = 0

  push(data: Buffer): Frame[] {
    this.chunks.push(data)
    this.bufferedBytes += data.length
    const frames: Frame[] = []
    for (;;) {
      if (this.bufferedBytes < 4) break
      const head = this.peek(4)
      const length = head.readUInt32BE(0)
      if (length < 1 || length > frameBytesMax) throw new Error(`bad frame length ${length}`)
      if (this.bufferedBytes < 4 + length) break
      const whole = this.take(4 + length)
      frames.push(decodeFrame(whole.subarray(4)))
    }
    return frames
  }

  private peek(count: number): Buffer {
    if (this.chunks[0]!.length < count) this.chunks = [Buffer.concat(this.chunks)]
    return this.chunks[0]!.subarray(0, count)
  }

  private take(count: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks)
    const out = all.subarray(0, count)
    const rest = all.subarray(count)
    this.chunks = rest.length > 0 ? [rest] : []
    this.bufferedBytes = rest.length
    return out
  }
}

function decodeFrame(frame: Buffer): Frame {
  const type = frame.readUInt8(0)
  if (type === FrameType.block) {
    if (frame.length < 13) throw new Error("short BLOCK frame")
    const index = frame.readUInt32BE(1)
    const length = frame.readUInt32BE(5)
    const crc = frame.readUInt32BE(9)
    const payload = frame.subarray(13)
    if (payload.length !== length) throw new Error(`BLOCK ${index}: length mismatch`)
    if (crc32(payload) !== crc) throw new Error(`BLOCK ${index}: checksum mismatch`)
    return { type: FrameType.block, index, payload }
  }
  if (type < FrameType.hello || type > FrameType.error) throw new Error(`unknown frame ${type}`)
  const body = JSON.parse(frame.subarray(1).toString("utf8")) as unknown
  if (typeof body !== "object" || body === null) throw new Error("control frame is not an object")
  return { type, body } as Frame
}
