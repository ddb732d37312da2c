// Crash recovery: `corral serve` is killed with SIGKILL during a stream of writes. After a
// restart on the same journal, every acknowledged write is there, nothing is half-applied (the
// hypervisors' usage adds up to the servers present), and a torn last line is dropped.
import { type ChildProcess, spawn } from "node:child_process"
import { appendFileSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { tokens } from "../adapters/http/fixtures.ts"

const root = join(import.meta.dirname, "..")
const dir = mkdtempSync(join(tmpdir(), "corral-crash-"))
const journal = join(dir, "journal.jsonl")
const config = join(dir, "config.json")
writeFileSync(config, JSON.stringify({ tokens: [
  { token: tokens.acme, tenant: "acme", role: "member" },
  { token: tokens.admin, tenant: "ops", role: "admin" },
] }))
const children: ChildProcess[] = []

/** Starts `corral serve` on a free port; resolves with its base URL once it listens. */
function serve(): Promise<{ child: ChildProcess; base: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", "adapters/cli/main.ts", "serve",
    "--config", config, "--journal", journal, "--port", "0", "--quiet"],
  { cwd: root, stdio: ["ignore", "pipe", "pipe"] })
  children.push(child)
  return new Promise((resolve, reject) => {
    let out = ""
    let errText = ""
    child.stderr!.on("data", (d: Buffer) => { errText += d.toString() })
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString()
      const m = /listening on (http:\/\/\S+)/.exec(out)
      if (m !== null) resolve({ child, base: m[1]! })
    })
    child.on("exit", (code) => reject(new Error(`serve exited ${code}: ${errText}`)))
  })
}

const acme = { "x-auth-token": tokens.acme, "content-type": "application/json" }
const admin = { "x-auth-token": tokens.admin }

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL")
})

describe("crash recovery", () => {
  it("keeps every acknowledged write across SIGKILL and drops a torn tail", async () => {
    const first = await serve()
    const created = new Map<string, string>()
    const deleted = new Set<string>()
    const deleting = new Set<string>() // sent; maybe applied even if never acknowledged
    let acked = 0
    const killAfter = 30 + Math.floor(Math.random() * 30)
    let stop = false
    const worker = async (w: number) => {
      for (let i = 0; !stop; i++) {
        try {
          const victim = i % 4 === 3 ? [...created.keys()].find((id) => !deleting.has(id))
            : undefined
          if (victim !== undefined) {
            deleting.add(victim)
            const r = await fetch(`${first.base}/v2/acme/servers/${victim}`,
              { method: "DELETE", headers: acme })
            if (r.status === 204) deleted.add(victim)
          } else {
            const name = `w${w}-${i}`
            const r = await fetch(`${first.base}/v2/acme/servers`, { method: "POST", headers: acme,
              body: JSON.stringify({ server: { name, flavorRef: "m1.small" } }) })
            if (r.status === 202) created.set(((await r.json()) as any).server.id, name)
          }
          if (++acked >= killAfter && !stop) {
            stop = true
            first.child.kill("SIGKILL")
          }
        } catch {
          return // the server died under this request: it was not acknowledged
        }
      }
    }
    await Promise.all([0, 1, 2, 3].map(worker))
    await new Promise((r) => first.child.exitCode !== null || first.child.signalCode !== null
      ? r(null) : first.child.once("exit", r))
    expect(created.size).toBeGreaterThan(0)
    appendFileSync(journal, '{"seq": 100000, "atMs": 1, "op": "server.cre')
    const second = await serve()
    const listed = await (await fetch(`${second.base}/v2/acme/servers`, { headers: acme })).json()
    const present = new Map((listed as any).servers.map((s: { id: string; name: string }) =>
      [s.id, s.name]))
    for (const [id, name] of created) {
      if (deleted.has(id)) expect(present.has(id), `deleted ${id} came back`).toBe(false)
      else if (!deleting.has(id)) expect(present.get(id), `acknowledged ${id} lost`).toBe(name)
    }
    const hypervisors = await (await fetch(`${second.base}/v2/ops/os-hypervisors`,
      { headers: admin })).json() as { hypervisors: Array<{ hypervisor_hostname: string }> }
    let vcpusUsed = 0
    for (const h of hypervisors.hypervisors) {
      const one = await (await fetch(`${second.base}/v2/ops/os-hypervisors/${
        h.hypervisor_hostname}`, { headers: admin })).json() as any
      vcpusUsed += one.hypervisor.vcpus_used
    }
    expect(vcpusUsed).toBe(present.size * 2)
    second.child.kill("SIGTERM")
    await new Promise((r) => second.child.once("exit", r))
    expect(second.child.exitCode).toBe(0)
  })
})
