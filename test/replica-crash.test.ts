// Master-crash recovery with real processes: `corral replica run` is SIGKILLed mid-cycle (while
// it streams at bwlimit, and right as the agent's ACK comes back), a new master process resumes
// from the last acknowledged generation and the slave converges to the master byte for byte.
// Also `corral replica run` as a long-lived process stopped by SIGINT.
import { execFileSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { connect, createServer, type Server } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeEach, describe, expect, it } from "vitest"
import { imagePaths, readMeta } from "../adapters/replica/images.ts"
import { readPending } from "../adapters/replica/pending.ts"
import { FrameReader, FrameType } from "../adapters/replica/protocol.ts"
import { hostDir, loadState } from "../adapters/replica/runtime.ts"
import { replicaKey } from "../core/replication/index.ts"
import {
  killAgent, killAll, prng, randomWrites, replicaFleet, sha256File, spawnAgent, spawnCorral,
  until,
} from "./replica-helpers.ts"

const sizeBytes = 8 * 1024 * 1024
const roots: string[] = []
let dir = ""
afterAll(async () => {
  await killAll()
  for (const r of roots) rmSync(r, { recursive: true, force: true })
})
/** The master's record of the cycle in flight (null when none). */
function pendingOf(p: ReturnType<typeof imagePaths>) {
  return readPending(p.pending, p.pendingLegacy, sizeBytes / 4096)
}
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "corral-replica-crash-"))
  roots.push(dir)
})

const key = replicaKey("vm-web1", "r1")
const master = () => imagePaths(hostDir(dir, "h1"), "vm-web1")
const slave = () => imagePaths(hostDir(dir, "h2"), "vm-web1")
const replica = () => loadState(dir).replication.replicas[key]!

/** Runs `corral replica run --cycles N` to its end and returns its cycle lines. */
async function runCycles(port: number, cycles: number): Promise<Array<Record<string, unknown>>> {
  const cli = spawnCorral(["replica", "run", "--dir", dir, "--agent-port", String(port),
    "--cycles", String(cycles)])
  const { code, err } = await cli.exited
  expect(err).toBe("")
  expect(code).toBe(0)
  return cli.lines.map((l) => JSON.parse(l) as Record<string, unknown>)
}

/** A proxy to `port` that SIGKILLs `victim()` the moment the agent's ACK reaches it. */
async function killOnAck(port: number, victim: () => number | undefined): Promise<Server> {
  const server = createServer((client) => {
    const upstream = connect({ port, host: "127.0.0.1" })
    const reader = new FrameReader()
    client.on("data", (d) => upstream.write(d))
    upstream.on("data", (d: Buffer) => {
      for (const frame of reader.push(d)) {
        if (frame.type === FrameType.ack) {
          const pid = victim()
          if (pid !== undefined) process.kill(pid, "SIGKILL")
          client.destroy()
          upstream.destroy()
          return
        }
      }
      client.write(d)
    })
    client.on("error", () => upstream.destroy())
    upstream.on("error", () => client.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()))
  return server
}

function portOf(server: Server): number {
  const address = server.address()
  if (address === null || typeof address === "string") throw new Error("no address")
  return address.port
}

describe("master crash", () => {
  it("killed while streaming, then killed as the ACK arrives: a restart converges", async () => {
    replicaFleet(dir, 0, { web1: { sleep_time: 0, bwlimit: 1_000_000 } }, sizeBytes)
    const agent = await spawnAgent(hostDir(dir, "h2"))
    const random = prng(11)
    randomWrites(master().image, sizeBytes, 30, random)
    expect((await runCycles(agent.port, 1))[0]).toMatchObject({ generation: 1, error: null })
    expect(sha256File(slave().image)).toBe(sha256File(master().image))

    // 1. SIGKILL while the blocks stream at 1 MB/s (the pending record is on disk by then).
    randomWrites(master().image, sizeBytes, 300, random)
    const first = spawnCorral(["replica", "run", "--dir", dir, "--agent-port",
      String(agent.port)])
    await until(() => pendingOf(master()) !== null)
    first.child.kill("SIGKILL")
    expect((await first.exited).signal).toBe("SIGKILL")
    expect(replica().inFlight).toMatchObject({ generation: 2, fromGeneration: 1 })
    expect(readMeta(hostDir(dir, "h2"), "vm-web1")!.generation).toBe(1)

    // 2. The restarted master is SIGKILLed the moment the agent acknowledges: the slave holds
    // a generation the master never recorded.
    randomWrites(master().image, sizeBytes, 20, random)
    let victim: number | undefined
    const proxy = await killOnAck(agent.port, () => victim)
    const second = spawnCorral(["replica", "run", "--dir", dir, "--agent-port",
      String(portOf(proxy))])
    victim = second.child.pid
    expect((await second.exited).signal).toBe("SIGKILL")
    proxy.close()
    await until(() => readMeta(hostDir(dir, "h2"), "vm-web1")!.generation === 3)
    expect(replica()).toMatchObject({ ackedGeneration: 1, inFlight: { generation: 3 } })

    // 3. A new master process recovers both dead cycles and converges; no generation reused.
    randomWrites(master().image, sizeBytes, 20, random)
    const lines = await runCycles(agent.port, 1)
    expect(lines[0]).toMatchObject({ generation: 4, error: null })
    expect(lines.at(-1)).toMatchObject({ stopped: true, cycleCount: 1, failureCount: 0 })
    expect(sha256File(slave().image)).toBe(sha256File(master().image))
    expect(sha256File(master().base)).toBe(sha256File(master().image))
    expect(replica()).toMatchObject({ ackedGeneration: 4, inFlight: null })
    expect(pendingOf(master())).toBeNull()
    expect(JSON.parse(readFileSync(join(dir, "replicas.json"), "utf8")).cycles).toEqual({})
    await killAgent(agent.child)
  })

  it("corral replica run keeps syncing every sleep_time until SIGINT", async () => {
    replicaFleet(dir, 0, { web1: { sleep_time: 1 } }, sizeBytes)
    const agent = await spawnAgent(hostDir(dir, "h2"))
    randomWrites(master().image, sizeBytes, 10, prng(12))
    const cli = spawnCorral(["replica", "run", "--dir", dir, "--agent-port", String(agent.port),
      "--poll", "1"])
    await until(() => cli.lines.length >= 2)
    cli.child.kill("SIGINT")
    const { code } = await cli.exited
    expect(code).toBe(0)
    const events = cli.lines.map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(events.slice(0, 2).map((e) => e.generation)).toEqual([1, 2])
    expect(events.at(-1)).toMatchObject({ stopped: true, failureCount: 0 })
    const [a, b] = events as Array<{ atS: number }>
    expect(b!.atS - a!.atS).toBeGreaterThanOrEqual(1)
    expect(sha256File(slave().image)).toBe(sha256File(master().image))
    await killAgent(agent.child)
  })

  it("corral replica run spawns the slave's agent, and spawns it again after it dies",
    async () => {
    replicaFleet(dir, 0, { web1: { sleep_time: 1 } }, sizeBytes)
    randomWrites(master().image, sizeBytes, 10, prng(13))
    const cli = spawnCorral(["replica", "run", "--dir", dir, "--poll", "1"])
    const ok = () => cli.lines.filter((l) => l.includes('"error":null')).length
    await until(() => ok() >= 1)
    const children = execFileSync("ps", ["-o", "pid=", "--ppid", String(cli.child.pid)])
      .toString().trim().split(/\s+/).map(Number)
    expect(children).toHaveLength(1)
    process.kill(children[0]!, "SIGKILL")
    const before = ok()
    await until(() => ok() >= before + 1)
    cli.child.kill("SIGINT")
    expect((await cli.exited).code).toBe(0)
    expect(sha256File(slave().image)).toBe(sha256File(master().image))
  })
})
