/**
 * The master's BLOCK frames for one cycle: blocks are laid into their frames as they are found
 * (straight from the scan's kernel view, or from a captured copy, or read from the image into the
 * frame), in batches of at most a given size; each sealed batch can go to the socket at once, so
 * the agent receives (and journals) blocks while the scan still runs. The batches are kept: after
 * the ACK their payloads go into the base.
 */
import { writeSync } from "node:fs"
import { BLOCK_SIZE_BYTES } from "../../core/kernels/index.ts"
import { readAt } from "./hash-chunks.ts"
import { blockFrameOverheadBytes, writeBlockFrameHeader } from "./protocol.ts"

/** BLOCK frames laid out back to back in one buffer, and where each payload sits in it. */
export interface Batch {
  readonly bytes: Buffer
  readonly indices: ReadonlyArray<number>
  readonly payloadAt: ReadonlyArray<number>
  readonly payloadBytes: number
}

interface OpenBatch {
  readonly bytes: Buffer
  at: number
  readonly indices: number[]
  readonly payloadAt: number[]
  payloadBytes: number
}

const frameBytesMax = BLOCK_SIZE_BYTES + blockFrameOverheadBytes

/** Frames blocks into batches; see the module comment. */
export class FrameSink {
  readonly batches: Batch[] = []
  private readonly framed: Uint8Array
  private readonly framesPerBatch: number
  private open: OpenBatch | null = null
  /** Blocks framed so far. */
  count = 0

  /**
   * For an image of `sizeBytes`; batches of at most `batchBytes` (at least one frame each);
   * `onBatch` gets each batch as it is sealed.
   */
  constructor(private readonly sizeBytes: number, batchBytes: number,
    private readonly onBatch: ((batch: Batch) => void) | null) {
    this.framed = new Uint8Array(Math.ceil(sizeBytes / BLOCK_SIZE_BYTES))
    this.framesPerBatch = Math.max(1, Math.floor(batchBytes / frameBytesMax))
  }

  /** Whether block `index` is framed already. */
  has(index: number): boolean {
    return this.framed[index] === 1
  }

  /** Frames block `index` with a copy of `payload` (its bytes as the scan saw them). */
  add(index: number, payload: Uint8Array): void {
    const slot = this.slot(index)
    if (payload.length !== slot.length) {
      throw new Error(`block ${index}: ${payload.length} bytes, expected ${slot.length}`)
    }
    slot.set(payload)
    this.close(index, slot)
  }

  /** Frames block `index` read from the image `fd` straight into its frame. */
  addFromFile(fd: number, index: number): void {
    const slot = this.slot(index)
    readAt(fd, slot, index * BLOCK_SIZE_BYTES)
    this.close(index, slot)
  }

  /** Seals the batch being filled (handing it to `onBatch`). */
  seal(): void {
    const b = this.open
    if (b === null) return
    this.open = null
    const batch: Batch = { bytes: b.bytes.subarray(0, b.at), indices: b.indices,
      payloadAt: b.payloadAt, payloadBytes: b.payloadBytes }
    this.batches.push(batch)
    this.onBatch?.(batch)
  }

  private slot(index: number): Uint8Array {
    if (!Number.isInteger(index) || index < 0 || index >= this.framed.length) {
      throw new Error(`block ${index} outside the image`)
    }
    if (this.framed[index] === 1) throw new Error(`block ${index} framed twice`)
    const length = Math.min(BLOCK_SIZE_BYTES, this.sizeBytes - index * BLOCK_SIZE_BYTES)
    if (this.open !== null && this.open.indices.length >= this.framesPerBatch) this.seal()
    this.open ??= { bytes: Buffer.allocUnsafe(this.framesPerBatch * frameBytesMax), at: 0,
      indices: [], payloadAt: [], payloadBytes: 0 }
    const from = this.open.at + blockFrameOverheadBytes
    return this.open.bytes.subarray(from, from + length)
  }

  private close(index: number, payload: Uint8Array): void {
    const b = this.open!
    writeBlockFrameHeader(b.bytes, b.at, index, payload)
    b.indices.push(index)
    b.payloadAt.push(b.at + blockFrameOverheadBytes)
    b.at += blockFrameOverheadBytes + payload.length
    b.payloadBytes += payload.length
    this.framed[index] = 1
    this.count++
  }
}

/** The payload of the `i`th frame of `batch` (its length is in the frame's header). */
export function payloadOf(batch: Batch, i: number): Uint8Array {
  const at = batch.payloadAt[i]!
  return batch.bytes.subarray(at, at + batch.bytes.readUInt32BE(at - 8))
}

/**
 * Writes each batch's payloads at their blocks' offsets in `fd` (no flush): one pwrite per
 * block (the page cache takes them in microseconds; a thread-pool round trip per block costs
 * more than the write).
 */
export function writeBatchesInPlace(fd: number, batches: ReadonlyArray<Batch>): void {
  for (const b of batches) {
    for (let i = 0; i < b.indices.length; i++) {
      const payload = payloadOf(b, i)
      const written = writeSync(fd, payload, 0, payload.length, b.indices[i]! * BLOCK_SIZE_BYTES)
      if (written !== payload.length) throw new Error("short write to the base")
    }
  }
}
