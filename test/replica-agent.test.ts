// Integration on the real path: a spawned agent on 127.0.0.1, file-backed 64 MiB images.
import { readFileSync, writeFileSync } from "node:fs"
import { createServer, connect, type Server } from "node:net"
import { afterAll, describe, expect, it } from "vitest"
import { referenceKernels } from "../core/kernels/index.ts"
import { recoverImage, startAgent } from "../adapters/replica/agent.ts"
import {
  createMasterImage, degradeImage, fenceImage, imagePaths, promoteImage, readMeta,
} from "../adapters/replica/images.ts"
import { FrameReader } from "../adapters/replica/protocol.ts"
import { settleCycle, type SyncRequest, syncOnce } from "../adapters/replica/sender.ts"
import {
  killAgent, killAll, perTestDirs, prng, randomWrites, sha256, sha256File, spawnAgent, until,
} from "./replica-helpers.ts"

const imageSizeBytes = 64 * 1024 * 1024
const id = "vm1"
const dirs = perTestDirs("corral-replica-")

afterAll(killAll)

/** The brief's 64 MiB for the convergence tests; the failure-path tests use a smaller image. */
const smallImageSizeBytes = 8 * 1024 * 1024

function req(port: number, generation: number, fromGeneration: number,
  over: Partial<SyncRequest> = {}): SyncRequest {
  return { masterDir: dirs.master, imageId: id, port, generation, fromGeneration,
    includeSlaveChanges: false, bwlimitBytesPerS: null, kernels: referenceKernels(),
    replyTimeoutMs: 20_000, ...over }
}

describe("replica agent over loopback", () => {
  it("N cycles of random writes: the slave equals each acknowledged snapshot", async () => {
    createMasterImage(dirs.master, id, imageSizeBytes)
    const agent = await spawnAgent(dirs.slave)
    const random = prng(1)
    const master = imagePaths(dirs.master, id).image
    for (let g = 1; g <= 3; g++) {
      randomWrites(master, imageSizeBytes, 200, random)
      const snapshot = sha256File(master)
      const r = await syncOnce(req(agent.port, g, g - 1))
      expect(r.generation).toBe(g)
      expect(r.changedBlockCount).toBeLessThan(imageSizeBytes / 4096 / 10)
      // The agent process writes in place after its ACK (a reader of the slave recovers first).
      await until(() => readMeta(dirs.slave, id)!.generation === g)
      expect(sha256File(imagePaths(dirs.slave, id).image)).toBe(snapshot)
      expect(sha256File(imagePaths(dirs.master, id).base)).toBe(snapshot)
      expect(readMeta(dirs.slave, id)!.generation).toBe(g)
    }
    await killAgent(agent.child)
  })

  it("an agent SIGKILLed mid-transfer claims nothing and leaves a whole generation; the next " +
    "cycle converges", async () => {
    createMasterImage(dirs.master, id, imageSizeBytes)
    let agent = await spawnAgent(dirs.slave)
    const master = imagePaths(dirs.master, id).image
    const random = prng(2)
    randomWrites(master, imageSizeBytes, 100, random)
    await syncOnce(req(agent.port, 1, 0))
    const held = sha256File(imagePaths(dirs.slave, id).image)
    randomWrites(master, imageSizeBytes, 500, random)
    const victim = agent.child
    let killed = false
    const clock = {
      nowMs: () => performance.now(),
      sleepMs: async (ms: number) => {
        if (!killed) { killed = true; await killAgent(victim) }
        await new Promise((resolve) => setTimeout(resolve, Math.min(ms, 5)))
      },
    }
    await expect(syncOnce(req(agent.port, 2, 1, { bwlimitBytesPerS: 4 * 1024 * 1024, clock })))
      .rejects.toThrow()
    expect(killed).toBe(true)
    expect(readMeta(dirs.slave, id)!.generation).toBe(1)
    recoverImage(dirs.slave, id)
    // The kill lands at the throttle's first wait: usually mid-transfer (nothing of generation 2
    // kept), sometimes after the agent's journal already held all of it (the ACK not yet sent),
    // when recovery applies it whole. Never a mix of the two.
    expect([held, sha256File(master)]).toContain(sha256File(imagePaths(dirs.slave, id).image))
    expect(readMeta(dirs.master, id)!.generation).toBe(1)
    agent = await spawnAgent(dirs.slave)
    const r = await syncOnce(req(agent.port, 3, 1))
    expect(r.generation).toBe(3)
    await until(() => readMeta(dirs.slave, id)!.generation === 3)
    expect(sha256File(imagePaths(dirs.slave, id).image)).toBe(sha256File(master))
    await killAgent(agent.child)
  })

  // The remaining cases run the same agent code in-process (spawning costs seconds per agent).
  it("a lost ACK (connection cut after apply) is healed by the next cycle", async () => {
    createMasterImage(dirs.master, id, smallImageSizeBytes)
    const agent = await startAgent(dirs.slave, referenceKernels())
    const master = imagePaths(dirs.master, id).image
    await syncOnce(req(agent.port, 1, 0))
    // Change block 7, ship it through a proxy that drops the ACK, then revert block 7.
    const original = Buffer.from(readFileSync(master).subarray(7 * 4096, 8 * 4096))
    patch(master, 7 * 4096, Buffer.alloc(4096, 0xab))
    const proxy = await ackDroppingProxy(agent.port)
    await expect(syncOnce(req(proxy.port, 2, 1))).rejects.toThrow(/closed/)
    proxy.server.close()
    expect(readMeta(dirs.master, id)!.generation).toBe(1)
    patch(master, 7 * 4096, original)
    // The agent holds generation 2 (its ACK was lost): the master also re-ships block 7.
    const r = await syncOnce(req(agent.port, 3, 1))
    expect(r.changedBlockCount).toBe(1)
    expect(readMeta(dirs.slave, id)!.generation).toBe(3)
    expect(sha256File(imagePaths(dirs.slave, id).image)).toBe(sha256File(master))
    await agent.close()
  })

  it("failover fences the master; reinit ships only the blocks changed on either side",
    async () => {
    createMasterImage(dirs.master, id, smallImageSizeBytes)
    const slaveAgent = await startAgent(dirs.slave, referenceKernels())
    const master = imagePaths(dirs.master, id).image
    const random = prng(3)
    randomWrites(master, smallImageSizeBytes, 300, random)
    await syncOnce(req(slaveAgent.port, 1, 0))
    await settleCycle(dirs.master, id) // the master's commit runs after the ACK
    patch(master, 10 * 4096, Buffer.alloc(100, 1)) // never synced: lost by the failover
    await slaveAgent.close()
    recoverImage(dirs.slave, id)
    promoteImage(dirs.slave, id)
    fenceImage(dirs.master, id)
    await expect(syncOnce(req(1, 2, 1))).rejects.toThrow(/fenced/)
    const newMaster = imagePaths(dirs.slave, id).image
    patch(newMaster, 20 * 4096, Buffer.alloc(5000, 2)) // blocks 20 and 21
    degradeImage(dirs.master, id, 1)
    const agent = await startAgent(dirs.master, referenceKernels())
    const r = await syncOnce({ ...req(agent.port, 2, 1), masterDir: dirs.slave,
      includeSlaveChanges: true })
    expect(r.changedBlockCount).toBe(3)
    expect(sha256File(master)).toBe(sha256File(newMaster))
    expect(readMeta(dirs.master, id)).toMatchObject({ role: "slave", generation: 2 })
    await agent.close()
  })

  it("the agent refuses to overwrite a master image (in-process agent)", async () => {
    createMasterImage(dirs.master, id, smallImageSizeBytes)
    const agent = await startAgent(dirs.master, referenceKernels())
    await expect(syncOnce(req(agent.port, 1, 0)))
      .rejects.toThrow(/master here/)
    expect(sha256(readFileSync(imagePaths(dirs.master, id).image)))
      .toBe(sha256(new Uint8Array(smallImageSizeBytes)))
    await agent.close()
  })
})

function patch(path: string, offset: number, data: Buffer): void {
  const image = readFileSync(path)
  data.copy(image, offset)
  writeFileSync(path, image)
}

/** A TCP proxy to `port` that forwards the agent's first frame (STATE) and cuts at the next. */
async function ackDroppingProxy(port: number): Promise<{ server: Server; port: number }> {
  const server = createServer((client) => {
    const upstream = connect({ port, host: "127.0.0.1" })
    const reader = new FrameReader()
    let forwarded = 0
    client.on("data", (d) => upstream.write(d))
    upstream.on("data", (d: Buffer) => {
      for (const _ of reader.push(d)) {
        if (forwarded++ === 0) client.write(d)
        else { client.destroy(); upstream.destroy() }
      }
    })
    client.on("error", () => upstream.destroy())
    upstream.on("error", () => client.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()))
  const address = server.address()
  if (address === null || typeof address === "string") throw new Error("no address")
  return { server, port: address.port }
}
