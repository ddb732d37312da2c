// `corral replica` end to end over a state directory, with an in-process agent on loopback.
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest"
import { command } from "../adapters/cli/commands/replica.ts"
import { type AgentHandle, startAgent } from "../adapters/replica/agent.ts"
import { hostDir, loadState } from "../adapters/replica/runtime.ts"
import { referenceKernels } from "../core/kernels/index.ts"

const roots: string[] = []
const agents: AgentHandle[] = []
let dir = ""
let out: string[] = [], errs: string[] = []

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "corral-replica-cli-"))
  roots.push(dir)
  out = []; errs = []
  vi.spyOn(console, "log").mockImplementation((s: unknown) => { out.push(String(s)) })
  vi.spyOn(console, "error").mockImplementation((s: unknown) => { errs.push(String(s)) })
})
afterEach(() => { vi.restoreAllMocks() })
afterAll(async () => {
  await Promise.all(agents.map((a) => a.close()))
  for (const r of roots) rmSync(r, { recursive: true, force: true })
})

async function corral(...args: string[]): Promise<{ code: number; json: unknown }> {
  out = []; errs = []
  const code = await command.run([...args, "--dir", dir])
  const text = code === 0 ? out.join("\n") : errs.join("\n")
  let json: unknown = null
  try { json = JSON.parse(text) } catch { json = text }
  return { code, json }
}

async function agentFor(host: string): Promise<string> {
  const a = await startAgent(hostDir(dir, host), referenceKernels())
  agents.push(a)
  return String(a.port)
}

function scribble(path: string, offset: number, byte: number): void {
  const fd = openSync(path, "r+")
  try { writeSync(fd, Buffer.alloc(6000, byte), 0, 6000, offset) } finally { closeSync(fd) }
}

async function fleet(): Promise<void> {
  expect((await corral("host-add", "h1")).code).toBe(0)
  expect((await corral("host-add", "h2", "--zpools", "zones,data", "--vcpus", "4")).code).toBe(0)
  expect((await corral("vm-add", "web1", "--host", "h1", "--size-mb", "2", "--vcpus", "2",
    "--ram-mb", "512")).code).toBe(0)
  expect((await corral("vm-add", "db1", "--host", "h1", "--size-mb", "1")).code).toBe(0)
}

describe("corral replica", () => {
  it("create, sync-now, failover, reinit, sync back, delete — images converge", async () => {
    await fleet()
    const created = await corral("create", "web1", "r1", "--node", "h2", "--sleep-time", "10",
      "--disk-zpool", "0=data")
    expect(created.code).toBe(0)
    expect(loadState(dir).hosts.find((h) => h.name === "h2")!.freeVcpus).toBe(2)
    const master = join(hostDir(dir, "h1"), "vm-web1.img")
    const slave = join(hostDir(dir, "h2"), "vm-web1.img")
    scribble(master, 10_000, 7)
    const port2 = await agentFor("h2")
    const sync = await corral("sync-now", "web1", "r1", "--agent-port", port2)
    expect(sync).toMatchObject({ code: 0, json: { generation: 1, changedBlockCount: 2 } })
    expect(readFileSync(slave).equals(readFileSync(master))).toBe(true)
    expect((await corral("show", "web1", "r1")).json).toMatchObject({ last_generation: 1,
      status: "enabled", reinit_required: false })

    expect((await corral("failover", "web1", "r1")).code).toBe(0)
    expect((await corral("failover", "web1", "r1")).json).toMatchObject({ status: 428 })
    expect((await corral("update", "web1", "r1", "--enabled", "false")).json)
      .toMatchObject({ status: 428 })
    scribble(slave, 500_000, 9) // the new master writes
    expect((await corral("reinit", "web1", "r1")).code).toBe(0)
    const port1 = await agentFor("h1")
    const back = await corral("sync-now", "web1", "r1", "--agent-port", port1)
    expect(back).toMatchObject({ code: 0, json: { generation: 2, changedBlockCount: 2 } })
    expect(readFileSync(master).equals(readFileSync(slave))).toBe(true)

    expect((await corral("list", "web1")).json).toEqual(["r1"])
    expect((await corral("delete", "web1", "r1")).code).toBe(0)
    expect((await corral("list", "web1", "--full")).json).toEqual([])
  })

  const refusals: Array<[string, string[], number, RegExp]> = [
    ["unknown VM", ["show", "nope", "r1"], 404, /could not be found/],
    ["bad sleep_time", ["create", "db1", "r1", "--node", "h2", "--sleep-time", "90000"], 400,
      /sleep_time/],
    ["target is the master's host", ["create", "db1", "r1", "--node", "h1"], 400, /node/],
    ["a second replica of web1", ["create", "web1", "r1", "--node", "h2"], 409, /one slave/],
    ["replica exists", ["create", "web1", "r0", "--node", "h2"], 406, /already exists/],
    ["reinit without failover", ["reinit", "web1", "r0"], 428, /no reinit is required/],
  ]
  it.each(refusals)("refuses: %s", async (_n, args, status, message) => {
    await fleet()
    await corral("create", "web1", "r0", "--node", "h2")
    const r = await corral(...args)
    expect(r.code).toBe(1)
    expect(r.json).toMatchObject({ status })
    expect(JSON.stringify(r.json)).toMatch(message)
  })

  it("a sync to an unreachable agent acknowledges nothing", async () => {
    await fleet()
    await corral("create", "web1", "r1", "--node", "h2")
    const r = await corral("sync-now", "web1", "r1", "--agent-port", "1")
    expect(r).toMatchObject({ code: 1, json: { status: 409 } })
    expect((await corral("show", "web1", "r1")).json).toMatchObject({ last_generation: 0,
      last_sync: null })
  })

  it("bad usage exits 2", async () => {
    expect((await corral("show")).code).toBe(2)
    expect((await corral("frobnicate", "a", "b")).code).toBe(2)
  })
})
