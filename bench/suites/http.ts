/**
 * `npm run bench -- http`: the HTTP server under load on loopback, measured with autocannon.
 * The server runs as `corral serve` in a child process (default scenario, journal with fsync on
 * a temporary file); the load generator runs in this process. On a machine with two or more
 * CPUs and `taskset`, the server is pinned to CPU 0 and this process to CPU 1 so they do not
 * take turns on one core (`CORRAL_BENCH_PIN=0` leaves both to the scheduler); the output says
 * which ran where. Side by side in one run: the bare `/healthz` (the framework's floor),
 * `GET os-pci/detail` for the whole fleet as it is (no Accept-Encoding, as autocannon sends)
 * and gzipped (`Accept-Encoding: gzip, deflate`, as python-requests and keystoneauth send),
 * the same for one host, the whole fleet with request logs on (a second server, its stdout
 * drained), and the pmem add → show → delete cycle (two journalled writes in three requests).
 * Target: ≥ 10,000 req/s for the read route with p99 under 10 ms.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { availableParallelism, loadavg, tmpdir } from "node:os"
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
  throughput: { average: number }
  latency: { p99: number; p50: number }
  non2xx: number
  errors: number
}
type Cannon = (options: Record<string, unknown>) => Promise<CannonResult>
const autocannon = createRequire(import.meta.url)("autocannon") as Cannon

/** The CPU affinity of this run: which CPU the server and the load generator are pinned to. */
interface Pinning {
  readonly serverCpu: number
  readonly loadCpu: number
  /** This process's mask before pinning (hex, as taskset prints it), restored at the end. */
  readonly savedMask: string
}

/** Pins this process (every thread) to CPU 1 when there are 2+ CPUs and taskset works. */
function pinLoadGenerator(): Pinning | null {
  if (process.env["CORRAL_BENCH_PIN"] === "0" || availableParallelism() < 2) return null
  try {
    const shown = execFileSync("taskset", ["-p", String(process.pid)], { encoding: "utf8" })
    const savedMask = /mask:\s*([0-9a-f]+)/.exec(shown)?.[1]
    if (savedMask === undefined) return null
    execFileSync("taskset", ["-a", "-p", "-c", "1", String(process.pid)], { stdio: "ignore" })
    return { serverCpu: 0, loadCpu: 1, savedMask }
  } catch {
    return null
  }
}

function unpin(pinning: Pinning | null): void {
  if (pinning === null) return
  execFileSync("taskset", ["-a", "-p", pinning.savedMask, String(process.pid)], { stdio: "ignore" })
}

function serve(dir: string, pinning: Pinning | null, logs: boolean)
  : Promise<{ child: ChildProcess; base: string }> {
  const config = join(dir, "config.json")
  writeFileSync(config, JSON.stringify({ tokens: [
    { token: adminToken, tenant: "ops", role: "admin" },
    { token: memberToken, tenant: "bench", role: "member" }] }))
  const node = [process.execPath, "--import", "tsx", "adapters/cli/main.ts", "serve",
    "--config", config, "--journal", join(dir, `journal-${logs ? "logs" : "quiet"}.jsonl`),
    "--port", "0", ...(logs ? [] : ["--quiet"])]
  const command = pinning === null ? node : ["taskset", "-c", String(pinning.serverCpu), ...node]
  const child = spawn(command[0]!, command.slice(1),
    { cwd: join(import.meta.dirname, "..", ".."), stdio: ["ignore", "pipe", "inherit"] })
  return new Promise((resolve, reject) => {
    let out = ""
    let found = false
    child.stdout!.on("data", (d: Buffer) => {
      if (found) return // request logs: drained and dropped
      out += d.toString()
      const m = /listening on (http:\/\/\S+)/.exec(out)
      if (m !== null) {
        found = true
        out = ""
        resolve({ child, base: m[1]! })
      }
    })
    child.on("exit", (code) => reject(new Error(`corral serve exited ${code}`)))
  })
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return
  const exited = new Promise((r) => child.once("exit", r))
  child.kill("SIGTERM")
  await exited
}

async function load(name: string, url: string, requests: CannonRequest[], target?: number)
  : Promise<BenchRecord[]> {
  const r = await autocannon({ url, connections, duration: durationS, requests })
  if (r.errors > 0 || r.non2xx > 0) {
    throw new Error(`${name}: ${r.errors} errors, ${r.non2xx} non-2xx responses`)
  }
  console.log(`${name}: ${Math.round(r.requests.average)} req/s, p50 ${r.latency.p50} ms, ` +
    `p99 ${r.latency.p99} ms, ${Math.round(r.throughput.average / r.requests.average)} B/response`)
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
  const pinning = pinLoadGenerator()
  const children: ChildProcess[] = []
  try {
    const { child, base } = await serve(dir, pinning, false)
    children.push(child)
    console.log(pinning === null
      ? `server (pid ${child.pid}) and autocannon (pid ${process.pid}) not pinned: ` +
        `${availableParallelism()} CPUs, CORRAL_BENCH_PIN=${process.env["CORRAL_BENCH_PIN"] ?? ""}`
      : `server (pid ${child.pid}) on CPU ${pinning.serverCpu}, autocannon (this process, ` +
        `pid ${process.pid}) on CPU ${pinning.loadCpu}; load average ` +
        `${loadavg().map((l) => l.toFixed(2)).join(" ")}`)
    const admin = { "x-auth-token": adminToken }
    const gzip = { ...admin, "accept-encoding": "gzip, deflate" }
    const detail = "/v2/ops/os-pci/detail"
    const oneHost = `${detail}?host=az1-r01-nfv-01`
    await warmUp(base, [{ method: "GET", path: "/healthz" },
      { method: "GET", path: detail, headers: admin }, { method: "GET", path: detail, headers: gzip },
      { method: "GET", path: oneHost, headers: admin }])
    const records: BenchRecord[] = []
    records.push(...await load("GET /healthz (baseline)", base, [{ method: "GET",
      path: "/healthz" }]))
    const devices = ((await (await fetch(`${base}/v2/ops/os-pci`, { headers: admin })).json()) as
      { pci_devices: unknown[] }).pci_devices.length
    records.push(...await load(`GET os-pci/detail (64 hosts, ${devices} devices)`, base,
      [{ method: "GET", path: detail, headers: admin }], 10_000))
    records.push(...await load("GET os-pci/detail, gzip accepted", base,
      [{ method: "GET", path: detail, headers: gzip }], 10_000))
    records.push(...await load("GET os-pci/detail?host= (one NFV host)", base,
      [{ method: "GET", path: oneHost, headers: admin }], 10_000))
    const ids = await makeServers(base)
    records.push(...await load("pmem add+show+del cycle", base, pmemCycle(ids)))
    await stop(child)
    const logged = await serve(dir, pinning, true)
    children.push(logged.child)
    await warmUp(logged.base, [{ method: "GET", path: detail, headers: admin }])
    records.push(...await load("GET os-pci/detail, request logs on", logged.base,
      [{ method: "GET", path: detail, headers: admin }]))
    const rate = (name: string) => records.find((r) => r.case === `${name} req/s`)!.value
    const healthz = rate("GET /healthz (baseline)")
    records.push(record(suite, "os-pci/detail / healthz",
      rate(`GET os-pci/detail (64 hosts, ${devices} devices)`) / healthz, "ratio", "higher"))
    records.push(record(suite, "os-pci/detail gzip / healthz",
      rate("GET os-pci/detail, gzip accepted") / healthz, "ratio", "higher"))
    records.push(record(suite, "os-pci/detail logs on / logs off",
      rate("GET os-pci/detail, request logs on") /
      rate(`GET os-pci/detail (64 hosts, ${devices} devices)`), "ratio", "higher"))
    return records
  } finally {
    for (const child of children) await stop(child)
    unpin(pinning)
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Warm-up (JIT, caches), not measured: the given routes in turn. */
async function warmUp(base: string, requests: CannonRequest[]): Promise<void> {
  await autocannon({ url: base, connections, duration: warmupS, requests })
}
