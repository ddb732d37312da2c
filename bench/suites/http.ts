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
 * drained), and the pmem add → show → delete cycle (two journalled writes in three requests);
 * then `/healthz` and the detail (identity and gzip) again from wrk (`bench/wrk.ts`; C, bodies
 * not decoded), which costs a fraction of autocannon's CPU per response (autocannon 9 appends
 * every body to a JS string), so those rows show what the server serves when the load generator
 * is not the bound. Two more servers, loaded in turn on the same CPU, give the figures their
 * scale: the floor (a bare Node `http` server answering the same 102 KB body with the same
 * headers, from both clients), and the same app as `corral serve` with its read cache off
 * (adapters/http/read-cache.ts), from wrk. Both clients: 10 keep-alive connections, no
 * pipelining. Target: ≥ 10,000 req/s for the read route with p99 under 10 ms.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { availableParallelism, loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { type BenchRecord, record } from "../lib.ts"
import { runWrk } from "../wrk.ts"

const suite = "http"
/** Each read case runs `rounds` times for `roundS`, the cases interleaved round by round. */
const rounds = 3
const roundS = 2
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
  requests: { average: number; total: number }
  throughput: { average: number }
  latency: { p99: number; p50: number }
  non2xx: number
  errors: number
  /** The load generator's CPU time when it ran in a child process (wrk), in µs. */
  cpuUs?: number
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

const root = join(import.meta.dirname, "..", "..")

function writeConfig(dir: string): string {
  const config = join(dir, "config.json")
  writeFileSync(config, JSON.stringify({ tokens: [
    { token: adminToken, tenant: "ops", role: "admin" },
    { token: memberToken, tenant: "bench", role: "member" }] }))
  return config
}

function serve(dir: string, pinning: Pinning | null, logs: boolean)
  : Promise<{ child: ChildProcess; base: string }> {
  return spawnServer(pinning, [process.execPath, "--import", "tsx", "adapters/cli/main.ts",
    "serve", "--config", writeConfig(dir), "--journal",
    join(dir, `journal-${logs ? "logs" : "quiet"}.jsonl`), "--port", "0",
    ...(logs ? [] : ["--quiet"])])
}

/**
 * The same app as `corral serve --quiet` (default scenario, the config above, no journal: this
 * server only reads) with the read cache off: every request goes through Fastify.
 */
function serveCacheOff(dir: string, pinning: Pinning | null)
  : Promise<{ child: ChildProcess; base: string }> {
  const at = (path: string) => JSON.stringify(pathToFileURL(join(root, path)).href)
  const script = join(dir, "cache-off.mts")
  writeFileSync(script, `import { readFileSync } from "node:fs"
import { startApp } from ${at("adapters/http/app.ts")}
import { parseConfig } from ${at("adapters/http/config.ts")}
import { defaultScenarioPath, parseOffer } from ${at("adapters/offer.ts")}
const config = parseConfig(readFileSync(${JSON.stringify(writeConfig(dir))}, "utf8"))
const offer = parseOffer(readFileSync(defaultScenarioPath, "utf8"))
if (config._tag === "Failure" || offer._tag === "Failure") throw new Error("bad config or offer")
const { app } = startApp({ config: config.success, offer: offer.success, journalPath: null,
  readCache: false })
console.log("listening on " + await app.listen({ port: 0, host: "127.0.0.1" }))
process.once("SIGTERM", () => { app.close().then(() => process.exit(0)) })
`)
  return spawnServer(pinning, [process.execPath, "--import", "tsx", script])
}

/**
 * The floor: a bare Node `http` server answering every request with `body` and the headers
 * the read route sends (tag, Vary, type, length; keep-alive as Fastify sets it).
 */
function serveBare(dir: string, pinning: Pinning | null, body: Buffer)
  : Promise<{ child: ChildProcess; base: string }> {
  const bodyPath = join(dir, "floor-body.json")
  writeFileSync(bodyPath, body)
  const script = join(dir, "floor.mjs")
  writeFileSync(script, `import { createServer } from "node:http"
import { readFileSync } from "node:fs"
const body = readFileSync(${JSON.stringify(bodyPath)})
const headers = { etag: '"floor"', vary: "Accept-Encoding",
  "content-type": "application/json; charset=utf-8", "content-length": String(body.length) }
const server = createServer((req, res) => { res.writeHead(200, headers); res.end(body) })
server.keepAliveTimeout = 72_000
server.listen(0, "127.0.0.1", () =>
  console.log("listening on http://127.0.0.1:" + server.address().port))
process.once("SIGTERM", () => server.close(() => process.exit(0)))
`)
  return spawnServer(pinning, [process.execPath, script])
}

/** Starts a server process (pinned to the server CPU) and waits for "listening on URL". */
function spawnServer(pinning: Pinning | null, node: string[])
  : Promise<{ child: ChildProcess; base: string }> {
  const command = pinning === null ? node : ["taskset", "-c", String(pinning.serverCpu), ...node]
  const child = spawn(command[0]!, command.slice(1),
    { cwd: root, stdio: ["ignore", "pipe", "inherit"] })
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
    child.on("exit", (code) => reject(new Error(`${node.slice(1).join(" ")} exited ${code}`)))
  })
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return
  const exited = new Promise((r) => child.once("exit", r))
  child.kill("SIGTERM")
  await exited
}

/** One load case: a name, the server, the requests, and the target where the issue sets one. */
interface LoadCase {
  readonly name: string
  readonly url: string
  readonly requests: CannonRequest[]
  /** Which load generator runs it (default autocannon). */
  readonly client?: "autocannon" | "wrk"
  readonly target?: number
  /** The server process, whose CPU time is read from /proc around each round. */
  readonly serverPid: number
}

const clockTicksPerS = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100
  } catch {
    return 100
  }
})()

/** A process's user + system CPU time in µs (all threads), or NaN where /proc is absent. */
function processCpuUs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return (Number(fields[11]) + Number(fields[12])) * 1e6 / clockTicksPerS
  } catch {
    return Number.NaN
  }
}

/** CPU time per request of the server and of the load generator, over some rounds. */
interface CpuTally {
  requests: number
  serverUs: number
  loadUs: number
}

async function cannon(c: LoadCase, duration: number): Promise<CannonResult> {
  const r = c.client === "wrk" ? await wrkLoad(c, duration)
    : await autocannon({ url: c.url, connections, duration, requests: c.requests })
  if (r.errors > 0 || r.non2xx > 0) {
    throw new Error(`${c.name}: ${r.errors} errors, ${r.non2xx} non-2xx responses`)
  }
  return r
}

/**
 * A GET case through wrk (one thread, the same connections, no pipelining), its report in
 * autocannon's shape; wrk inherits this process's CPU pinning.
 */
async function wrkLoad(c: LoadCase, durationS: number): Promise<CannonResult> {
  const request = c.requests[0]!
  if (c.requests.length !== 1 || (request.method ?? "GET") !== "GET") {
    throw new Error(`${c.name}: wrk runs one GET`)
  }
  const r = await runWrk(new URL(request.path ?? "/", c.url).href,
    { durationS, connections,
      ...(request.headers === undefined ? {} : { headers: request.headers }) })
  return { requests: { average: r.requestsPerS, total: r.total },
    throughput: { average: r.bytesPerS }, latency: { p99: round2(r.p99Ms), p50: round2(r.p50Ms) },
    non2xx: r.non2xx, errors: r.errors, cpuUs: r.cpuUs }
}

function round2(ms: number): number {
  return Math.round(ms * 100) / 100
}

function recordsOf(c: LoadCase, reqPerS: number, p99Ms: number): BenchRecord[] {
  return [
    record(suite, `${c.name} req/s`, reqPerS, "req/s", "higher", c.target),
    record(suite, `${c.name} p99`, p99Ms, "ms", "lower",
      c.target === undefined ? undefined : p99MsTarget),
  ]
}

function median(values: ReadonlyArray<number>): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/**
 * Runs the cases interleaved (round 1 of each, then round 2 of each, …) so that load from
 * elsewhere on the machine falls on every case alike; records the median of the rounds.
 */
async function interleaved(cases: ReadonlyArray<LoadCase>): Promise<BenchRecord[]> {
  const results = cases.map(() => [] as CannonResult[])
  const cpu = cases.map((): CpuTally => ({ requests: 0, serverUs: 0, loadUs: 0 }))
  for (let round = 0; round < rounds; round++) {
    for (const [k, c] of cases.entries()) {
      const server0 = processCpuUs(c.serverPid)
      const load0 = process.cpuUsage()
      const r = await cannon(c, roundS)
      const load = process.cpuUsage(load0)
      results[k]!.push(r)
      const tally = cpu[k]!
      tally.requests += r.requests.total
      tally.serverUs += processCpuUs(c.serverPid) - server0
      tally.loadUs += r.cpuUs ?? load.user + load.system
    }
  }
  return cases.flatMap((c, k) => {
    const rs = results[k]!
    const bytes = rs[0]!.throughput.average / rs[0]!.requests.average
    const { requests, serverUs, loadUs } = cpu[k]!
    console.log(`${c.name}: ${rs.map((r) => Math.round(r.requests.average)).join(" / ")} ` +
      `req/s, p99 ${rs.map((r) => r.latency.p99).join(" / ")} ms, ${Math.round(bytes)} ` +
      `B/response; CPU per request: server ${(serverUs / requests).toFixed(0)} µs, ` +
      `${c.client ?? "autocannon"} client ${(loadUs / requests).toFixed(0)} µs`)
    return [...recordsOf(c, median(rs.map((r) => r.requests.average)),
      median(rs.map((r) => r.latency.p99))),
    ...(Number.isNaN(serverUs) ? [] : [record(suite, `${c.name} server CPU`,
      serverUs / requests, "µs/req", "lower")]),
    record(suite, `${c.name} ${c.client ?? "autocannon"} client CPU`, loadUs / requests,
      "µs/req", "lower")]
  })
}

async function load(c: LoadCase): Promise<BenchRecord[]> {
  const r = await cannon(c, durationS)
  console.log(`${c.name}: ${Math.round(r.requests.average)} req/s, p50 ${r.latency.p50} ms, ` +
    `p99 ${r.latency.p99} ms`)
  return recordsOf(c, r.requests.average, r.latency.p99)
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

/** The servers of one run, each in its own process on the server CPU, loaded in turn. */
interface Servers {
  readonly quiet: { child: ChildProcess; base: string }
  readonly logged: { child: ChildProcess; base: string }
  readonly cacheOff: { child: ChildProcess; base: string }
  readonly bare: { child: ChildProcess; base: string }
}

async function startServers(dir: string, pinning: Pinning | null, children: ChildProcess[])
  : Promise<Servers> {
  const started = <T extends { child: ChildProcess }>(s: T): T => {
    children.push(s.child)
    return s
  }
  const quiet = started(await serve(dir, pinning, false))
  const logged = started(await serve(dir, pinning, true))
  const cacheOff = started(await serveCacheOff(dir, pinning))
  const body = Buffer.from(await (await fetch(`${quiet.base}/v2/ops/os-pci/detail`,
    { headers: { "x-auth-token": adminToken } })).arrayBuffer())
  const bare = started(await serveBare(dir, pinning, body))
  const pids = [quiet, logged, cacheOff, bare].map((s) => s.child.pid).join(", ")
  console.log(pinning === null
    ? `servers (pids ${pids}) and autocannon (pid ${process.pid}) not pinned: ` +
      `${availableParallelism()} CPUs, CORRAL_BENCH_PIN=${process.env["CORRAL_BENCH_PIN"] ?? ""}`
    : `servers (pids ${pids}; loaded in turn) on CPU ${pinning.serverCpu}, autocannon and ` +
      `wrk (this process, pid ${process.pid}) on CPU ${pinning.loadCpu}`)
  return { quiet, logged, cacheOff, bare }
}

/** Case names, shared by the cases and the ratios. */
function caseNames(devices: number) {
  return {
    healthz: "GET /healthz (baseline)",
    detail: `GET os-pci/detail (64 hosts, ${devices} devices)`,
    gzip: "GET os-pci/detail, gzip accepted",
    logs: "GET os-pci/detail, request logs on",
    floor: "bare Node http, the same body (floor)",
    wrkHealthz: "wrk: GET /healthz",
    wrkDetail: "wrk: GET os-pci/detail",
    wrkGzip: "wrk: GET os-pci/detail, gzip accepted",
    wrkCacheOff: "wrk: GET os-pci/detail, read cache off",
    wrkFloor: "wrk: bare Node http, the same body (floor)",
  }
}

function readCases(s: Servers, names: ReturnType<typeof caseNames>): LoadCase[] {
  const admin = { "x-auth-token": adminToken }
  const gzip = { ...admin, "accept-encoding": "gzip, deflate" }
  const detail = "/v2/ops/os-pci/detail"
  const get = (path: string, headers?: Record<string, string>): CannonRequest[] =>
    [{ method: "GET", path, ...(headers === undefined ? {} : { headers }) }]
  const serverPid = s.quiet.child.pid!
  const barePid = s.bare.child.pid!
  return [
    { name: names.healthz, url: s.quiet.base, requests: get("/healthz"), serverPid },
    { name: names.detail, url: s.quiet.base, requests: get(detail, admin), target: 10_000,
      serverPid },
    { name: names.gzip, url: s.quiet.base, requests: get(detail, gzip), target: 10_000,
      serverPid },
    { name: "GET os-pci/detail?host= (one NFV host)", url: s.quiet.base,
      requests: get(`${detail}?host=az1-r01-nfv-01`, admin), target: 10_000, serverPid },
    { name: names.logs, url: s.logged.base, requests: get(detail, admin),
      serverPid: s.logged.child.pid! },
    { name: names.floor, url: s.bare.base, requests: get("/"), serverPid: barePid },
    // The same requests from wrk (C, no body decoding, a fraction of autocannon's CPU per
    // response): what the server serves when the load generator is not the bound.
    { name: names.wrkHealthz, url: s.quiet.base, requests: get("/healthz"), serverPid,
      client: "wrk" },
    { name: names.wrkDetail, url: s.quiet.base, requests: get(detail, admin), target: 10_000,
      serverPid, client: "wrk" },
    { name: names.wrkGzip, url: s.quiet.base, requests: get(detail, gzip), target: 10_000,
      serverPid, client: "wrk" },
    { name: names.wrkCacheOff, url: s.cacheOff.base, requests: get(detail, admin),
      serverPid: s.cacheOff.child.pid!, client: "wrk" },
    { name: names.wrkFloor, url: s.bare.base, requests: get("/"), serverPid: barePid,
      client: "wrk" },
  ]
}

/**
 * Ratios measured in this run: per client, the detail's rate against `/healthz` and against the
 * bare Node floor, and (the steadiest figure on a busy machine) what a detail request costs the
 * server beside what `/healthz` costs; the logs and the read cache, on against off.
 */
function ratioRecords(records: ReadonlyArray<BenchRecord>, names: ReturnType<typeof caseNames>)
  : BenchRecord[] {
  const rate = (name: string) => records.find((r) => r.case === `${name} req/s`)!.value
  const serverCpu = (name: string) =>
    records.find((r) => r.case === `${name} server CPU`)?.value ?? Number.NaN
  const out: BenchRecord[] = []
  const ratio = (name: string, value: number, better: "higher" | "lower") =>
    out.push(record(suite, name, value, "ratio", better))
  const perClient = (client: string, healthz: string, detail: string, gzip: string,
    floor: string) => {
    ratio(`${client}os-pci/detail / healthz`, rate(detail) / rate(healthz), "higher")
    ratio(`${client}os-pci/detail gzip / healthz`, rate(gzip) / rate(healthz), "higher")
    ratio(`${client}os-pci/detail / bare Node floor`, rate(detail) / rate(floor), "higher")
    ratio(`${client}os-pci/detail gzip / bare Node floor`, rate(gzip) / rate(floor), "higher")
    ratio(`${client}os-pci/detail server CPU / healthz server CPU`,
      serverCpu(detail) / serverCpu(healthz), "lower")
    ratio(`${client}os-pci/detail gzip server CPU / healthz server CPU`,
      serverCpu(gzip) / serverCpu(healthz), "lower")
    ratio(`${client}os-pci/detail server CPU / bare Node floor server CPU`,
      serverCpu(detail) / serverCpu(floor), "lower")
  }
  perClient("", names.healthz, names.detail, names.gzip, names.floor)
  ratio("os-pci/detail logs on / logs off", rate(names.logs) / rate(names.detail), "higher")
  perClient("wrk: ", names.wrkHealthz, names.wrkDetail, names.wrkGzip, names.wrkFloor)
  ratio("wrk: os-pci/detail read cache on / off", rate(names.wrkDetail) /
    rate(names.wrkCacheOff), "higher")
  ratio("wrk: os-pci/detail server CPU read cache on / off", serverCpu(names.wrkDetail) /
    serverCpu(names.wrkCacheOff), "lower")
  return out
}

/** Runs the suite. */
export async function run(): Promise<BenchRecord[]> {
  const dir = mkdtempSync(join(tmpdir(), "corral-bench-http-"))
  const pinning = pinLoadGenerator()
  const children: ChildProcess[] = []
  try {
    const servers = await startServers(dir, pinning, children)
    console.log(`load average before: ${loadavg().map((l) => l.toFixed(2)).join(" ")}; ` +
      `${connections} connections; ${rounds} interleaved rounds of ${roundS} s per read case`)
    const devices = ((await (await fetch(`${servers.quiet.base}/v2/ops/os-pci`,
      { headers: { "x-auth-token": adminToken } })).json()) as { pci_devices: unknown[] })
      .pci_devices.length
    const names = caseNames(devices)
    const cases = readCases(servers, names)
    for (const c of cases) await warmUp(c)
    const records = await interleaved(cases)
    const ids = await makeServers(servers.quiet.base)
    records.push(...await load({ name: "pmem add+show+del cycle", url: servers.quiet.base,
      requests: pmemCycle(ids), serverPid: servers.quiet.child.pid! }))
    console.log(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(" ")}`)
    return [...records, ...ratioRecords(records, names)]
  } finally {
    for (const child of children) await stop(child)
    unpin(pinning)
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Warm-up (JIT, caches), not measured. */
async function warmUp(c: LoadCase): Promise<void> {
  await cannon(c, warmupS / 2)
}
