// The master's pending record (two reused slots, each CRC-checked): the latest whole record wins,
// a torn write falls back to the one before it, a clear reads as none, an older version's
// JSON record is still honoured; and the master's commit after the ACK (settleCycle) leaves the
// record of an image fenced before it ran.
import { closeSync, existsSync, openSync, readFileSync, writeFileSync, writeSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import fc from "fast-check"
import { startAgent } from "../adapters/replica/agent.ts"
import { createMasterImage, fenceImage, imagePaths, readMeta } from "../adapters/replica/images.ts"
import {
  clearPending, type Pending, readPending, slotBytes, writePending,
} from "../adapters/replica/pending.ts"
import { settleCycle, syncOnce } from "../adapters/replica/sender.ts"
import { referenceKernels } from "../core/kernels/index.ts"
import { perTestDirs } from "./replica-helpers.ts"

const dirs = perTestDirs("corral-replica-pending-")
const blockCount = 300

const pendingArb: fc.Arbitrary<Pending> = fc.record({
  generations: fc.uniqueArray(fc.integer({ min: 0, max: 2 ** 32 - 1 }), { minLength: 1,
    maxLength: 2 }),
  indices: fc.uniqueArray(fc.integer({ min: 0, max: blockCount - 1 }), { maxLength: blockCount })
    .map((xs) => [...xs].sort((a, b) => a - b)),
})

/** Flips one byte of the slot at `slot`, within its first `length` bytes. */
function tear(path: string, slot: number, offset: number): void {
  const at = slot * slotBytes(blockCount) + offset
  const byte = readFileSync(path)[at]!
  const fd = openSync(path, "r+")
  try { writeSync(fd, Buffer.from([byte ^ 0x5a]), 0, 1, at) } finally { closeSync(fd) }
}

/** The slot holding the highest sequence number (both slots whole). */
function latestSlot(path: string): number {
  const bytes = readFileSync(path)
  const sequence = (slot: number): number => {
    const at = slot * slotBytes(blockCount)
    return bytes.length >= at + 20 && bytes.readUInt32BE(at) === 0x43525031
      ? bytes.readUInt32BE(at + 8) : -1
  }
  return sequence(1) > sequence(0) ? 1 : 0
}

describe("pending record", () => {
  it("reads the latest record; a torn latest one falls back to the record before it",
    async () => {
    let run = 0
    await fc.assert(fc.asyncProperty(fc.array(fc.option(pendingArb), { minLength: 1,
      maxLength: 6 }), fc.nat(), async (records, where) => {
      const path = join(dirs.master, `r${run++}.pending`)
      const legacy = `${path}.json`
      const writes: Array<Pending | null> = [] // what reached the file, in order
      for (const r of records) {
        if (r !== null) { await writePending(path, r, blockCount); writes.push(r) }
        else if (existsSync(path)) { clearPending(path, legacy, blockCount); writes.push(null) }
      }
      const visible = (r: Pending | null | undefined) => r === undefined || r === null ||
        r.indices.length + r.generations.length === 0 ? null : r
      expect(readPending(path, legacy, blockCount)).toEqual(visible(writes.at(-1)))
      if (writes.length === 0) return
      // Tear the latest write (header or body): the one before it is read (none: null).
      const last = writes.at(-1)
      const length = 20 + 4 * ((last?.generations.length ?? 0) + (last?.indices.length ?? 0))
      tear(path, latestSlot(path), where % length)
      expect(readPending(path, legacy, blockCount)).toEqual(visible(writes.at(-2)))
    }))
  })

  it("an older version's JSON record is read (joined with the new one) and removed by a clear",
    async () => {
    const path = join(dirs.master, "vm.pending"), legacy = `${path}.json`
    writeFileSync(legacy, JSON.stringify({ generations: [3, 4], indices: [9, 2] }))
    expect(readPending(path, legacy, blockCount)).toEqual({ generations: [3, 4],
      indices: [9, 2] })
    await writePending(path, { generations: [4, 5], indices: [1, 2] }, blockCount)
    expect(readPending(path, legacy, blockCount)).toEqual({ generations: [4, 5, 3],
      indices: [1, 2, 9] })
    clearPending(path, legacy, blockCount)
    expect(existsSync(legacy)).toBe(false)
    expect(readPending(path, legacy, blockCount)).toBeNull()
    writeFileSync(legacy, JSON.stringify({ generations: [1], indices: ["x"] }))
    expect(() => readPending(path, legacy, blockCount)).toThrow(/corrupt/)
  })

  it("refuses a record that cannot fit its slot", async () => {
    const path = join(dirs.master, "big.pending")
    expect(() => writePending(path, { generations: [1], indices: Array.from(
      { length: blockCount + 1 }, (_, i) => i) }, blockCount)).toThrow(/indices/)
  })
})

describe("the master's commit after the ACK", () => {
  it("settleCycle waits for it; an image fenced before it ran keeps its pending record",
    async () => {
    const id = "vm1", sizeBytes = blockCount * 4096
    createMasterImage(dirs.master, id, sizeBytes)
    const p = imagePaths(dirs.master, id)
    const agent = await startAgent(dirs.slave, referenceKernels())
    const req = (generation: number) => ({ masterDir: dirs.master, imageId: id,
      port: agent.port, generation, fromGeneration: generation - 1, includeSlaveChanges: false,
      bwlimitBytesPerS: null, kernels: referenceKernels(), replyTimeoutMs: 5000 })
    try {
      writeFileSync(p.image, Buffer.alloc(sizeBytes, 1), { flag: "r+" })
      await syncOnce(req(1))
      // Resolved at the ACK: the base flush is still running, the metadata not yet advanced.
      expect(readMeta(dirs.master, id)!.generation).toBe(0)
      await settleCycle(dirs.master, id)
      expect(readMeta(dirs.master, id)!.generation).toBe(1)
      expect(readPending(p.pending, p.pendingLegacy, blockCount)).toBeNull()

      writeFileSync(p.image, Buffer.alloc(4096, 2), { flag: "r+" })
      await syncOnce(req(2))
      fenceImage(dirs.master, id) // before the commit: it must not claim generation 2
      await settleCycle(dirs.master, id)
      expect(readMeta(dirs.master, id)).toMatchObject({ role: "fenced", generation: 1 })
      expect(readPending(p.pending, p.pendingLegacy, blockCount)).toEqual({ generations: [1, 2],
        indices: [0] })
    } finally { await agent.close() }
  })
})
