// `runScheduler` (the shell around core/replication/schedule.ts) in virtual time: an in-process
// agent on loopback, a fake timer and a fake throttle clock, so nothing sleeps for real.
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Result } from "effect"
import { afterAll, beforeEach, describe, expect, it } from "vitest"
import { type AgentHandle, startAgent } from "../adapters/replica/agent.ts"
import { imagePaths } from "../adapters/replica/images.ts"
import { hostDir, loadState, syncNow, updateState } from "../adapters/replica/runtime.ts"
import {
  type CycleEvent, runScheduler, type SchedulerTimer,
} from "../adapters/replica/scheduler.ts"
import type { ThrottleClock } from "../adapters/replica/throttle.ts"
import { referenceKernels } from "../core/kernels/index.ts"
import { replicaKey, startSync, updateReplica } from "../core/replication/index.ts"
import { prng, randomWrites, replicaFleet, sha256File } from "./replica-helpers.ts"

const sizeBytes = 4 * 1024 * 1024
const roots: string[] = []
const agents: AgentHandle[] = []
let dir = ""
afterAll(async () => {
  await Promise.all(agents.map((a) => a.close()))
  for (const r of roots) rmSync(r, { recursive: true, force: true })
})
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "corral-replica-sched-"))
  roots.push(dir)
})

function fleet(nowS: number, replicas: Record<string, object>): void {
  replicaFleet(dir, nowS, replicas, sizeBytes)
}

async function agentFor(): Promise<{ port: number; stop: () => Promise<void> }> {
  const a = await startAgent(hostDir(dir, "h2"), referenceKernels())
  agents.push(a)
  return { port: a.port, stop: () => a.close() }
}

/** Virtual seconds; each sleep jumps to its deadline after running `onSleep` (the VM writes). */
function virtualTimer(startS: number, onSleep: (nowS: number) => void): SchedulerTimer & {
  nowS: () => number } {
  let now = startS
  return {
    nowS: () => now,
    sleepUntilS: async (atS) => { now = Math.max(now, atS); onSleep(now) },
  }
}

function replicaOf(hostname: string) {
  return loadState(dir).replication.replicas[replicaKey(`vm-${hostname}`, "r1")]!
}

describe("runScheduler", () => {
  it("syncs enabled replicas every sleep_time, never paused ones; the slave converges",
    async () => {
    fleet(1000, { web1: { sleep_time: 60 }, db1: { sleep_time: 10, enabled: false } })
    const master = imagePaths(hostDir(dir, "h1"), "vm-web1").image
    const slave = imagePaths(hostDir(dir, "h2"), "vm-web1").image
    const random = prng(7)
    const timer = virtualTimer(1000, () => randomWrites(master, sizeBytes, 3, random))
    const events: CycleEvent[] = []
    const summary = await runScheduler(dir, { kernels: referenceKernels(), agentFor, timer,
      signal: new AbortController().signal, cycleCountMax: 4, onCycle: (e) => {
        events.push(e)
        expect(sha256File(slave)).toBe(sha256File(master))
      } })
    expect(summary).toEqual({ cycleCount: 4, failureCount: 0 })
    expect(events.map((e) => [e.name, e.atS, e.generation])).toEqual([
      ["r1", 1000, 1], ["r1", 1060, 2], ["r1", 1120, 3], ["r1", 1180, 4]])
    expect(events.every((e) => e.vmUuid === "vm-web1")).toBe(true)
    expect(replicaOf("web1")).toMatchObject({ ackedGeneration: 4, lastSyncS: 1180 })
    expect(replicaOf("db1")).toMatchObject({ ackedGeneration: 0, lastSyncS: null })
  })

  it("sees updates made while it sleeps: disabling stops the syncs", async () => {
    fleet(0, { web1: { sleep_time: 30 } })
    const stop = new AbortController()
    const timer = virtualTimer(0, (now) => {
      if (now >= 100 && replicaOf("web1").syncStatus === "enabled") {
        updateState(dir, (s) => ({ value: 0, state: { ...s, replication: Result.getOrThrow(
          updateReplica(s.replication, s, "web1", "r1", { enabled: false }, now)).state } }))
      }
      if (now >= 400) stop.abort()
    })
    const events: CycleEvent[] = []
    await runScheduler(dir, { kernels: referenceKernels(), agentFor, timer, signal: stop.signal,
      onCycle: (e) => events.push(e) })
    expect(events.map((e) => e.atS)).toEqual([0, 30, 60, 90])
    expect(replicaOf("web1").syncStatus).toBe("paused")
  })

  it("honours bwlimit through the token bucket (virtual clock), and unlimited never waits",
    async () => {
    const rate = 1_000_000
    fleet(0, { web1: { sleep_time: 60, bwlimit: rate }, db1: { sleep_time: 60 } })
    for (const vm of ["web1", "db1"]) {
      randomWrites(imagePaths(hostDir(dir, "h1"), `vm-${vm}`).image, sizeBytes, 60, prng(3))
    }
    let virtualMs = 0, sleptMs = 0
    const throttleClock: ThrottleClock = {
      nowMs: () => virtualMs,
      sleepMs: async (ms) => { virtualMs += ms; sleptMs += ms },
    }
    const stop = new AbortController()
    const events: CycleEvent[] = []
    await runScheduler(dir, { kernels: referenceKernels(), agentFor, throttleClock, signal:
      stop.signal, timer: virtualTimer(0, () => stop.abort()), onCycle: (e) => events.push(e) })
    const limited = events.find((e) => e.vmUuid === "vm-web1")!
    const free = events.find((e) => e.vmUuid === "vm-db1")!
    expect(limited.payloadBytes).toBeGreaterThan(200_000)
    // Everything past the first 0.1 s burst is paid for at the rate (frame headers add more).
    expect(sleptMs).toBeGreaterThanOrEqual(((limited.payloadBytes - rate / 10) / rate) * 1000)
    expect(limited.throttledMs).toBeCloseTo(sleptMs, 6)
    expect(free.throttledMs).toBe(0)
  })

  it("a cycle left in flight by a dead process is recovered; its generation is not reused",
    async () => {
    fleet(0, { web1: { sleep_time: 60 } })
    const deadPid = 2 ** 22 + 12_345 // above Linux's pid_max: never a live process
    updateState(dir, (s) => {
      const t = Result.getOrThrow(startSync(s.replication, s, "web1", "r1", 1))
      return { value: 0, state: { ...s, replication: t.state,
        cycles: { [replicaKey("vm-web1", "r1")]: { pid: deadPid, generation: 1 } } } }
    })
    expect(replicaOf("web1").inFlight).not.toBeNull()
    randomWrites(imagePaths(hostDir(dir, "h1"), "vm-web1").image, sizeBytes, 5, prng(4))
    const r = await syncNow(dir, "web1", "r1",
      { kernels: referenceKernels(), agentFor, nowS: () => 5 })
    expect(Result.getOrThrow(r.outcome).generation).toBe(2)
    expect(replicaOf("web1")).toMatchObject({ ackedGeneration: 2, inFlight: null, lastSyncS: 5 })
    expect(loadState(dir).cycles).toEqual({})
  })
})
