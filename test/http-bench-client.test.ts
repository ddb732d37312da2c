// The http bench's lean load generator (bench/suites/http.ts): counts every answered request,
// the bytes as sent, and refuses answers it cannot vouch for (non-200, no Content-Length).
import { createServer, type RequestListener, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { afterEach, describe, expect, it } from "vitest"
import { leanLoad } from "../bench/suites/http.ts"

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

describe("leanLoad", () => {
  it("counts each answered request once, with its bytes, across reads of a large body",
    async () => {
      const body = Buffer.alloc(300_000, 120) // more than one read buffer
      let served = 0
      const seen = new Set<string>()
      const base = await serve((req, res) => {
        served++
        seen.add(`${req.method} ${req.url} ${req.headers["x-auth-token"]}`)
        res.writeHead(200, { "content-length": body.length, "content-type": "text/plain" })
        res.end(body)
      })
      const r = await leanLoad(base, { method: "GET", path: "/big?x=1",
        headers: { "x-auth-token": "t" } }, 0.3)
      expect(r.errors).toBe(0)
      expect(r.non2xx).toBe(0)
      expect(r.requests.total).toBeGreaterThan(0)
      expect(r.requests.total).toBe(served)
      expect([...seen]).toEqual(["GET /big?x=1 t"])
      const perResponse = r.throughput.average / r.requests.average
      expect(Math.round(perResponse)).toBeGreaterThan(body.length)
      expect(Math.round(perResponse)).toBeLessThan(body.length + 200)
      expect(r.latency.p50).toBeLessThanOrEqual(r.latency.p99)
    })

  it("counts a non-200 answer as non2xx", async () => {
    const base = await serve((_req, res) => {
      res.writeHead(404, { "content-length": 2 })
      res.end("no")
    })
    const r = await leanLoad(base, { method: "GET", path: "/" }, 0.1)
    expect(r.non2xx).toBeGreaterThan(0)
    expect(r.requests.total).toBe(0)
  })

  it("counts an answer without Content-Length (chunked) as an error", async () => {
    const base = await serve((_req, res) => {
      res.writeHead(200)
      res.write("a")
      res.end("b")
    })
    const r = await leanLoad(base, { method: "GET", path: "/" }, 0.1)
    expect(r.errors).toBeGreaterThan(0)
    expect(r.requests.total).toBe(0)
  })
})
