// The HTTP bench's wrk client (bench/wrk.ts): its report parser, and a real run that counts
// requests and refuses errors. wrk comes from scripts/system-deps.sh (pretest).
import { createServer, type RequestListener, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { afterEach, describe, expect, it } from "vitest"
import { parseWrk, runWrk } from "../bench/wrk.ts"

const report = `Running 2s test @ http://127.0.0.1:4000/v2/ops/os-pci/detail
  1 threads and 10 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   840.12us  301.55us  12.01ms   91.20%
    Req/Sec    11.95k   410.22    12.50k    80.00%
  Latency Distribution
     50%  790.00us
     75%    0.92ms
     90%    1.10ms
     99%    2.31ms
  23790 requests in 2.00s, 87.46MB read
  Non-2xx or 3xx responses: 3
  Socket errors: connect 0, read 1, write 0, timeout 2
Requests/sec:  11894.37
Transfer/sec:     43.73MB
`

describe("parseWrk", () => {
  it("reads rate, count, percentiles in any unit, transfer and errors", () => {
    expect(parseWrk(report)).toEqual({ requestsPerS: 11894.37, total: 23790, p50Ms: 0.79,
      p99Ms: 2.31, bytesPerS: 43.73 * 1024 ** 2, non2xx: 3, errors: 3 })
  })

  it("reads a clean report as no errors, and seconds as milliseconds", () => {
    const clean = report.replace(/ {2}Non-2xx.*\n {2}Socket.*\n/, "").replace("2.31ms", "1.50s")
    expect(parseWrk(clean)).toMatchObject({ non2xx: 0, errors: 0, p99Ms: 1500 })
  })

  it("names what is missing instead of returning zeros", () => {
    expect(() => parseWrk(report.replace(/Requests\/sec.*\n/, ""))).toThrow(/Requests\/sec/)
    expect(() => parseWrk(report.replace(/ {5}99%.*\n/, ""))).toThrow(/99% latency/)
  })
})

let server: Server | null = null
afterEach(async () => {
  const s = server
  server = null
  if (s !== null) await new Promise((r) => s.close(r))
})

async function serve(listener: RequestListener): Promise<string> {
  const s = createServer({ keepAliveTimeout: 10_000 }, listener)
  server = s
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r))
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`
}

describe("runWrk", () => {
  it("counts each answered request once and sends the headers asked for", async () => {
    const body = Buffer.alloc(300_000, 120)
    let served = 0
    const seen = new Set<string>()
    const base = await serve((req, res) => {
      served++
      seen.add(`${req.method} ${req.url} ${req.headers["x-auth-token"]}`)
      res.writeHead(200, { "content-length": body.length })
      res.end(body)
    })
    const r = await runWrk(`${base}/big?x=1`, { durationS: 1, connections: 2,
      headers: { "x-auth-token": "t" } })
    expect(r.non2xx).toBe(0)
    expect(r.errors).toBe(0)
    expect(r.total).toBeGreaterThan(0)
    expect(r.total).toBeLessThanOrEqual(served)
    expect([...seen]).toEqual(["GET /big?x=1 t"])
    expect(r.p50Ms).toBeLessThanOrEqual(r.p99Ms)
    expect(r.cpuUs).toBeGreaterThanOrEqual(0)
  })

  it("reports answers of 400 and above", async () => {
    const base = await serve((_req, res) => {
      res.writeHead(404, { "content-length": 2 })
      res.end("no")
    })
    const r = await runWrk(`${base}/`, { durationS: 1, connections: 1 })
    expect(r.non2xx).toBe(r.total)
    expect(r.total).toBeGreaterThan(0)
  })
})
