/**
 * `npm run bench -- http`: the HTTP server under load on loopback, measured with autocannon.
 * The server runs as `corral serve` in a child process (default scenario, journal with fsync on
 * a temporary file, no request logs); the load generator runs here. Side by side in one run:
 * the bare `/healthz` (the framework's floor), `GET os-pci/detail` for the whole fleet and for
 * one host, and the pmem add → show → delete cycle (two journalled writes in three requests).
 * Target: ≥ 10,000 req/s for the read route with p99 under 10 ms.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type BenchRecord, record } from "../lib.ts"

const suite = "http"
const durationS = 5
const warmupS = 3
const p99MsTarget = 10
const connections = 10
const serversForWrites = 2 * connections
const adminToken = "bench-admin-token"
const memberToken = "bench-member-token"

interface CannonRequest {
  method?: string
  path?: string
  body?: string
  headers?: Record<string, string>
  setupRequest?: (req: CannonRequest, context: Record<string, unknown>) => CannonRequest
  onResponse?: (status: number, body: string, context: Record<string, unknown>) => void
}
interface CannonResult {
  requests: { average: number }
  latency: { p99: number; p50: number }
  non2xx: number
  errors: number
}
type Cannon = (options: Record<string, unknown>) => Promise<CannonResult>
const autocannon = createRequire(import.meta.url)("autocannon") as Cannon

function serve(dir: string): Promise<{ child: ChildProcess; base: string }> {
  const config = join(dir, "config.json")
  writeFileSync(config, JSON.stringify({ tokens: [
    { token: adminToken, tenant: "ops", role: "admin" },
    { token: memberToken, tenant: "bench", role: "member" }] }))
  const child = spawn(process.execPath, ["--import", "tsx", "adapters/cli/main.ts", "serve",
    "--config", config, "--journal", join(dir, "journal.jsonl"), "--port", "0", "--quiet"],
  { cwd: join(import.meta.dirname, "..", ".."), stdio: ["ignore", "pipe", "inherit"] })
  return new Promise((resolve, reject) => {
    let out = ""
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString()
      const m = /listening on (http:\/\/\S+)/.exec(out)
      if (m !== null) resolve({ child, base: m[1]! })
    })
    child.on("exit", (code) => reject(new Error(`corral serve exited ${code}`)))
  })
}

async function load(name: string, url: string, requests: CannonRequest[], target?: number)
  : Promise<BenchRecord[]> {
  const r = await autocannon({ url, connections, duration: durationS, requests })
  if (r.errors > 0 || r.non2xx > 0) {
    throw new Error(`${name}: ${r.errors} errors, ${r.non2xx} non-2xx responses`)
  }
  console.log(`${name}: ${Math.round(r.requests.average)} req/s, p50 ${r.latency.p50} ms, ` +
    `p99 ${r.latency.p99} ms`)
  return [
    record(suite, `${name} req/s`, r.requests.average, "req/s", "higher", target),
    record(suite, `${name} p99`, r.latency.p99, "ms", "lower",
      target === undefined ? undefined : p99MsTarget),
  ]
}

async function makeServers(base: string): Promise<string[]> {
  const ids: string[] = []
  for (let i = 0; i < serversForWrites; i++) {
    const r = await fetch(`${base}/v2/bench/servers`, { method: "POST",
      headers: { "x-auth-token": memberToken, "content-type": "application/json" },
      body: JSON.stringify({ server: { name: `b${i}`, flavorRef: "m1.small",
        "os-pmem:device": "DRAM" } }) })
    if (r.status !== 202) throw new Error(`server create: ${r.status} ${await r.text()}`)
    ids.push(((await r.json()) as { server: { id: string } }).server.id)
  }
  return ids
}

/** add → show (learns the uuid) → delete, each cycle on a server borrowed from a pool. */
function pmemCycle(ids: string[]): CannonRequest[] {
  const free = [...ids]
  const headers = { "x-auth-token": memberToken, "content-type": "application/json" }
  return [
    { method: "POST", headers, setupRequest: (req, ctx) => {
      const id = free.shift()
      if (id === undefined) throw new Error("server pool exhausted")
      ctx["id"] = id
      return { ...req, path: `/v2.1/bench/servers/${id}/action`,
        body: JSON.stringify({ "add-pmem-vol": [{ name: "v", size: 16, device: "DRAM" }] }) }
    } },
    { method: "GET", headers, setupRequest: (req, ctx) =>
      ({ ...req, path: `/v2/bench/servers/${String(ctx["id"])}` }),
    onResponse: (_status, body, ctx) => {
      ctx["uuid"] = (JSON.parse(body) as { server: { "os-pmem:volumes": Array<{
        volume_uuid: string }> } }).server["os-pmem:volumes"][0]!.volume_uuid
    } },
    { method: "POST", headers, setupRequest: (req, ctx) => ({ ...req,
      path: `/v2.1/bench/servers/${String(ctx["id"])}/action`,
      body: JSON.stringify({ "del-pmem-vol": [{ volume_uuid: ctx["uuid"] }] }) }),
    onResponse: (_status, _body, ctx) => { free.push(String(ctx["id"])) } },
  ]
}

/** Runs the suite. */
export async function run(): Promise<BenchRecord[]> {
  const dir = mkdtempSync(join(tmpdir(), "corral-bench-http-"))
  const { child, base } = await serve(dir)
  try {
    const admin = { "x-auth-token": adminToken }
    const records: BenchRecord[] = []
    // Warm-up (JIT, caches), not measured: every read route in turn.
    await autocannon({ url: base, connections, duration: warmupS, requests: [
      { method: "GET", path: "/healthz" },
      { method: "GET", path: "/v2/ops/os-pci/detail", headers: admin },
      { method: "GET", path: "/v2/ops/os-pci/detail?host=az1-r01-nfv-01", headers: admin }] })
    records.push(...await load("GET /healthz (baseline)", base, [{ method: "GET",
      path: "/healthz" }]))
    const devices = ((await (await fetch(`${base}/v2/ops/os-pci`, { headers: admin })).json()) as
      { pci_devices: unknown[] }).pci_devices.length
    records.push(...await load(`GET os-pci/detail (64 hosts, ${devices} devices)`, base,
      [{ method: "GET", path: "/v2/ops/os-pci/detail", headers: admin }], 10_000))
    records.push(...await load("GET os-pci/detail?host= (one NFV host)", base,
      [{ method: "GET", path: "/v2/ops/os-pci/detail?host=az1-r01-nfv-01", headers: admin }],
      10_000))
    const ids = await makeServers(base)
    records.push(...await load("pmem add+show+del cycle", base, pmemCycle(ids)))
    const healthz = records[0]!.value
    const detail = records[2]!.value
    records.push(record(suite, "os-pci/detail / healthz", detail / healthz, "ratio", "higher"))
    return records
  } finally {
    child.kill("SIGTERM")
    await new Promise((r) => child.once("exit", r))
    rmSync(dir, { recursive: true, force: true })
  }
}
