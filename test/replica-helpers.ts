/** Helpers for the real-path replica tests: spawned agents, seeded writes, SHA-256 of files. */
import { type ChildProcess, spawn } from "node:child_process"
import { createHash } from "node:crypto"
import { closeSync, openSync, readFileSync, writeSync } from "node:fs"
import { join } from "node:path"

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
      const m = /listening (\d+)/.exec(out)
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
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

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
