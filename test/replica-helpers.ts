/**
 * Helpers for the real-path replica tests: spawned agents and CLI processes, seeded writes,
 * SHA-256 of files, a small replica fleet in a state directory.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { createHash } from "node:crypto"
import {
  closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync,
} from "node:fs"
import { tmpdir } from "node:os"
import { afterAll, beforeEach } from "vitest"
import { mulberry32 } from "../core/random.ts"
import { join } from "node:path"
import { Result } from "effect"
import {
  addVm, applyEffects, putHost, type RuntimeState, updateState,
} from "../adapters/replica/runtime.ts"
import { createReplica } from "../core/replication/index.ts"

const agentMain = join(import.meta.dirname, "..", "adapters", "replica", "agent-main.ts")

/** A spawned agent process and its port. */
export interface SpawnedAgent {
  readonly child: ChildProcess
  readonly port: number
}

/** Every agent spawned by a test file, so afterAll can kill them even after a failure. */
export const spawned = new Set<ChildProcess>()

/** Spawns `agent-main.ts --dir dir` and waits for its `listening <port>` line. */
export function spawnAgent(dir: string, port = 0): Promise<SpawnedAgent> {
  const child = spawn(process.execPath, ["--import", "tsx", agentMain, "--dir", dir,
    "--port", String(port)], { stdio: ["ignore", "pipe", "pipe"] })
  spawned.add(child)
  child.on("exit", () => spawned.delete(child))
  return new Promise((resolve, reject) => {
    let out = "", errText = ""
    child.stderr!.on("data", (d: Buffer) => { errText += d.toString() })
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString()
      const m = /listening (\d+)\s/.exec(out)
      if (m !== null) resolve({ child, port: Number(m[1]) })
    })
    child.once("exit", (code) => reject(new Error(`agent exited ${code}: ${errText}`)))
  })
}

/** SIGKILLs an agent and waits for it to be gone. */
export function killAgent(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    child.once("exit", () => resolve())
    child.kill("SIGKILL")
  })
}

/** Kills every agent still running (for afterAll). */
export async function killAll(): Promise<void> {
  await Promise.all([...spawned].map(killAgent))
}

/** A small seeded PRNG (mulberry32) so random writes are reproducible. */
export const prng = mulberry32

/** Writes `count` random runs (1 byte to 10 KiB, may cross blocks) into the file. */
export function randomWrites(path: string, sizeBytes: number, count: number,
  random: () => number): void {
  const fd = openSync(path, "r+")
  try {
    for (let i = 0; i < count; i++) {
      const length = 1 + Math.floor(random() * 10_240)
      const offset = Math.floor(random() * (sizeBytes - length))
      const data = Buffer.alloc(length)
      for (let j = 0; j < length; j++) data[j] = Math.floor(random() * 256)
      writeSync(fd, data, 0, length, offset)
    }
  } finally { closeSync(fd) }
}

/** SHA-256 of a file, hex. */
export function sha256File(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex")
}

/** SHA-256 of bytes, hex. */
export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex")
}

const cliMain = join(import.meta.dirname, "..", "adapters", "cli", "main.ts")

/** A spawned `corral` process, its stdout lines so far, and its exit. */
export interface SpawnedCli {
  readonly child: ChildProcess
  readonly lines: string[]
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; err: string }>
}

/** Spawns `corral ARGS…` (the TypeScript CLI through tsx). */
export function spawnCorral(args: ReadonlyArray<string>, env: NodeJS.ProcessEnv = {}): SpawnedCli {
  const child = spawn(process.execPath, ["--import", "tsx", cliMain, ...args],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } })
  spawned.add(child)
  const lines: string[] = []
  let out = "", err = ""
  child.stdout!.on("data", (d: Buffer) => {
    out += d.toString()
    const parts = out.split("\n")
    out = parts.pop()!
    lines.push(...parts)
  })
  child.stderr!.on("data", (d: Buffer) => { err += d.toString() })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; err: string }>(
    (resolve) => child.once("exit", (code, signal) => {
      spawned.delete(child)
      resolve({ code, signal, err })
    }))
  return { child, lines, exited }
}

/** Polls `check` every few milliseconds until it holds (or `timeoutMs` passes: throws). */
export async function until(check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not reached in time")
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}

/**
 * A state directory with hosts h1 and h2 and, per entry of `replicas`, a VM on h1 (`vm-NAME`,
 * a sparse image of `sizeBytes`) with replica r1 on h2 created at `nowS` with that body.
 */
export function replicaFleet(dir: string, nowS: number, replicas: Record<string, object>,
  sizeBytes: number): void {
  const host = (name: string) => ({ name, status: "up" as const, zpools: ["zones"],
    freeVcpus: 32, freeRamMb: 65536, vcpuCapacity: 32, ramCapacityMb: 65536 })
  updateState(dir, (s0) => {
    let s: RuntimeState = putHost(dir, putHost(dir, s0, host("h1")), host("h2"))
    for (const [hostname, body] of Object.entries(replicas)) {
      const vm = { uuid: `vm-${hostname}`, hostname, host: "h1", status: "running" as const,
        vcpus: 1, ramMb: 512, pendingTaskCount: 0, diskIds: ["0"] }
      s = Result.getOrThrow(addVm(dir, s, vm, sizeBytes))
      const t = Result.getOrThrow(createReplica(s.replication, s, hostname, "r1",
        { node: "h2", ...body }, nowS))
      s = applyEffects(dir, { ...s, replication: t.state }, vm.uuid, t.effects)
    }
    return { state: s, value: undefined }
  })
}

/**
 * A fresh master and slave directory for every test of a file, under one temporary root that is
 * removed after the file. Read `master` and `slave` inside a test (they change per test).
 */
export function perTestDirs(prefix: string): { readonly root: string; readonly master: string;
  readonly slave: string } {
  const root = mkdtempSync(join(tmpdir(), prefix))
  let index = 0, master = "", slave = ""
  afterAll(() => rmSync(root, { recursive: true, force: true }))
  beforeEach(() => {
    index++
    master = join(root, `m${index}`)
    slave = join(root, `s${index}`)
    mkdirSync(master)
    mkdirSync(slave)
  })
  return { root, get master() { return master }, get slave() { return slave } }
}
