// The slave's redo journal (one flush commits a generation) and the pending record a fenced
// master keeps: torn journals are ignored, committed ones replayed, stale ones left alone; and a
// cycle cut before the agent committed, followed by a failover, still reinits to identical images.
import { closeSync, openSync, readFileSync, truncateSync, writeSync } from "node:fs"
import { connect, createServer, type Server } from "node:net"
import { describe, expect, it } from "vitest"
import { recoverImage, startAgent } from "../adapters/replica/agent.ts"
import {
  createMasterImage, createSlaveImage, degradeImage, fenceImage, imagePaths, promoteImage,
  readMeta,
} from "../adapters/replica/images.ts"
import { commitJournal, entryCrc, readJournal } from "../adapters/replica/journal.ts"
import { FrameReader, FrameType } from "../adapters/replica/protocol.ts"
import { type SyncRequest, syncOnce } from "../adapters/replica/sender.ts"
import { referenceKernels } from "../core/kernels/index.ts"
import { perTestDirs, sha256File } from "./replica-helpers.ts"

const sizeBytes = 1024 * 1024
const id = "vm1"
const dirs = perTestDirs("corral-replica-journal-")

function blocks(...pairs: Array<[number, number]>): Map<number, Uint8Array> {
  return new Map(pairs.map(([index, byte]) => [index, new Uint8Array(4096).fill(byte)]))
}

function byteAt(path: string, offset: number): number {
  return readFileSync(path)[offset]!
}

function patch(path: string, offset: number, byte: number, length = 4096): void {
  const fd = openSync(path, "r+")
  try { writeSync(fd, Buffer.alloc(length, byte), 0, length, offset) } finally { closeSync(fd) }
}

describe("slave journal", () => {
  it("a committed journal is replayed once; a torn or corrupt one reads as absent", () => {
    createSlaveImage(dirs.slave, id, sizeBytes)
    const p = imagePaths(dirs.slave, id)
    commitJournal(p.journal, 1, 4096, blocks([3, 0xaa], [9, 0xbb]))
    expect(readJournal(p.journal)!.blocks.map(([i]) => i)).toEqual([3, 9])
    recoverImage(dirs.slave, id)
    expect(readMeta(dirs.slave, id)!.generation).toBe(1)
    expect([byteAt(p.image, 3 * 4096), byteAt(p.image, 9 * 4096 + 4095)]).toEqual([0xaa, 0xbb])
    // Stale (the metadata claims it): recovery leaves the image alone.
    patch(p.image, 3 * 4096, 0x11)
    recoverImage(dirs.slave, id)
    expect(byteAt(p.image, 3 * 4096)).toBe(0x11)
    // Torn: a shorter file, or a flipped payload byte, is no journal at all.
    commitJournal(p.journal, 2, 4096, blocks([5, 0xcc]))
    truncateSync(p.journal, 28 + 8 + 4000)
    expect(readJournal(p.journal)).toBeNull()
    commitJournal(p.journal, 2, 4096, blocks([5, 0xcc]))
    patch(p.journal, 28 + 8 + 100, 0xcd, 1)
    expect(readJournal(p.journal)).toBeNull()
    recoverImage(dirs.slave, id)
    expect(readMeta(dirs.slave, id)!.generation).toBe(1)
    expect(byteAt(p.image, 5 * 4096)).toBe(0)
  })

  it("a body CRC folded as blocks arrive commits the same journal; a wrong one reads as torn", () => {
    createSlaveImage(dirs.slave, id, sizeBytes)
    const p = imagePaths(dirs.slave, id)
    const arrived = blocks([9, 0xbb], [3, 0xaa], [200, 0x01])
    arrived.set(255, new Uint8Array(1000).fill(0x7f)) // a short final block
    let crc = 0
    for (const [index, payload] of arrived) crc = entryCrc(crc, index, payload)
    commitJournal(p.journal, 1, 4096, arrived)
    const computed = readFileSync(p.journal)
    commitJournal(p.journal, 1, 4096, arrived, crc)
    expect(readFileSync(p.journal).equals(computed)).toBe(true)
    expect(readJournal(p.journal)!.blocks.map(([i]) => i)).toEqual([9, 3, 200, 255])
    commitJournal(p.journal, 1, 4096, arrived, (crc ^ 1) >>> 0)
    expect(readJournal(p.journal)).toBeNull()
  })

  it("promote refuses an image with a committed journal not yet applied", () => {
    createSlaveImage(dirs.slave, id, sizeBytes)
    commitJournal(imagePaths(dirs.slave, id).journal, 1, 4096, blocks([0, 1]))
    expect(() => promoteImage(dirs.slave, id)).toThrow(/recover the journal/)
    recoverImage(dirs.slave, id)
    expect(promoteImage(dirs.slave, id)).toMatchObject({ role: "master", generation: 1 })
  })
})

/** A proxy to `port` that forwards the master's bytes up to (not including) END, then cuts. */
async function endDroppingProxy(port: number): Promise<Server> {
  const server = createServer((client) => {
    const upstream = connect({ port, host: "127.0.0.1" })
    const reader = new FrameReader()
    client.on("data", (d: Buffer) => {
      if (reader.push(d).some((f) => f.type === FrameType.end)) {
        setTimeout(() => { client.destroy(); upstream.destroy() }, 50)
      } else upstream.write(d)
    })
    upstream.on("data", (d) => client.write(d))
    client.on("error", () => upstream.destroy())
    upstream.on("error", () => client.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()))
  return server
}

describe("a fenced master's unacknowledged cycle", () => {
  it("its blocks, ahead in the base, are shipped back by the first reverse sync", async () => {
    createMasterImage(dirs.master, id, sizeBytes)
    const agent = await startAgent(dirs.slave, referenceKernels())
    const req = (port: number, generation: number, from: number): SyncRequest => ({
      masterDir: dirs.master,
      imageId: id, port, generation, fromGeneration: from, includeSlaveChanges: false,
      bwlimitBytesPerS: null, kernels: referenceKernels(), replyTimeoutMs: 5000 })
    const m = imagePaths(dirs.master, id)
    patch(m.image, 0, 1)
    await syncOnce(req(agent.port, 1, 0))
    patch(m.image, 4 * 4096, 7) // block 4: reaches the base, never the slave
    const proxy = await endDroppingProxy(agent.port)
    const address = proxy.address()
    if (address === null || typeof address === "string") throw new Error("no address")
    await expect(syncOnce(req(address.port, 2, 1))).rejects.toThrow()
    proxy.close()
    await agent.close()
    expect(byteAt(m.base, 4 * 4096)).toBe(7)
    expect(readMeta(dirs.slave, id)!.generation).toBe(1)
    // Failover: the slave becomes master (generation 1, block 4 still zero); reinit the old one.
    recoverImage(dirs.slave, id)
    promoteImage(dirs.slave, id)
    fenceImage(dirs.master, id)
    degradeImage(dirs.master, id, 1)
    const back = await startAgent(dirs.master, referenceKernels())
    const r = await syncOnce({ ...req(back.port, 3, 1), masterDir: dirs.slave,
      includeSlaveChanges: true })
    expect(r.changedBlockCount).toBe(1)
    expect(sha256File(m.image)).toBe(sha256File(imagePaths(dirs.slave, id).image))
    expect(byteAt(m.image, 4 * 4096)).toBe(0)
    await back.close()
  })
})
