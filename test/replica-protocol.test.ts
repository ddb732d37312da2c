import { describe, expect, it } from "vitest"
import {
  blockFrame, controlFrame, FrameReader, FrameType,
} from "../adapters/replica/protocol.ts"
import { burstBytesFor, TokenBucket } from "../adapters/replica/throttle.ts"

describe("replica stream framing", () => {
  it("decodes frames however the stream is cut", () => {
    const payload = new Uint8Array(4096).map((_, i) => i & 0xff)
    const bytes = Buffer.concat([controlFrame(FrameType.begin,
      { generation: 2, fromGeneration: 1, blockCount: 1 }), blockFrame(9, payload),
    controlFrame(FrameType.end, { blockCount: 1 })])
    for (const cut of [1, 3, 5, 100, 4000, bytes.length - 1]) {
      const reader = new FrameReader()
      const frames = [...reader.push(bytes.subarray(0, cut)), ...reader.push(bytes.subarray(cut))]
      expect(frames.map((f) => f.type)).toEqual([FrameType.begin, FrameType.block, FrameType.end])
      const block = frames[1]!
      expect(block.type === FrameType.block && [block.index, Buffer.from(block.payload)])
        .toEqual([9, Buffer.from(payload)])
    }
  })

  const corruptions: Array<[string, (b: Buffer) => void, RegExp]> = [
    ["a flipped payload bit", (b) => { b[40]! ^= 1 }, /checksum/],
    ["a length above the bound", (b) => { b.writeUInt32BE(0x7fffffff, 0) }, /frame length/],
    ["an unknown type", (b) => { b[4] = 99 }, /unknown frame/],
  ]
  it.each(corruptions)("rejects %s", (_n, corrupt, message) => {
    const frame = blockFrame(1, new Uint8Array(100).fill(3))
    corrupt(frame)
    expect(() => new FrameReader().push(frame)).toThrow(message)
  })
})

describe("token bucket", () => {
  function fakeClock() {
    let now = 0
    return { nowMs: () => now, sleepMs: async (ms: number) => { now += ms } }
  }
  const cases: Array<[number, number, number]> = [
    [1_000_000, 10, 4113], [100_000, 200, 4113], [8192, 3, 4113],
  ]
  it.each(cases)("at %d B/s, %d frames of %d bytes take bytes/rate minus the burst", async (
    rate, count, frame) => {
    const clock = fakeClock()
    const burst = burstBytesFor(rate, frame)
    const bucket = new TokenBucket(rate, burst, clock)
    for (let i = 0; i < count; i++) await bucket.take(frame)
    const expectedMs = Math.max(0, (count * frame - burst) * 1000 / rate)
    expect(clock.nowMs()).toBeCloseTo(expectedMs, 6)
    expect(bucket.waitedMs).toBeCloseTo(expectedMs, 6)
  })
})
