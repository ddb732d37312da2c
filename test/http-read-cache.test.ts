// The read cache in front of the framework (adapters/http/read-cache.ts): the same requests sent
// through real HTTP to a server with the cache and to one without it get the same status,
// headers (Date aside, in the same order), bodies and request log lines, before and after a
// change of state; and the cache did answer.
import { request as httpRequest, Agent } from "node:http"
import { Result } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type App, startApp } from "../adapters/http/app.ts"
import type { Sources } from "../adapters/http/engine.ts"
import { defaultOffer, fixtureConfig, tokens } from "../adapters/http/fixtures.ts"
import type { LineOutput } from "../adapters/http/log.ts"
import { ReadCache, readUrlsMax } from "../adapters/http/read-cache.ts"
import { Rendered } from "../adapters/http/rendered.ts"

/** Ids and times drawn in order, so both servers make the same servers with the same ids. */
function countingSources(): Sources {
  let n = 0
  let ms = Date.UTC(2026, 0, 1)
  return {
    nowMs: () => (ms += 1_000),
    newId: () => `00000000-0000-4000-8000-${(++n).toString(16).padStart(12, "0")}`,
  }
}

function recorder(): LineOutput & { chunks: string[] } {
  const chunks: string[] = []
  return { chunks, write: (chunk, done) => { chunks.push(chunk); done(null) } }
}

interface Served {
  readonly started: App
  readonly base: URL
  readonly agent: Agent
  readonly log: ReturnType<typeof recorder>
}

async function serve(readCache: boolean): Promise<Served> {
  const log = recorder()
  const started = startApp({ config: fixtureConfig(), offer: defaultOffer(), journalPath: null,
    sources: countingSources(), logger: true, logOutput: log, readCache })
  const base = new URL(await started.app.listen({ port: 0, host: "127.0.0.1" }))
  // One keep-alive connection per server: requests go in order, as a client's would.
  return { started, base, agent: new Agent({ keepAlive: true, maxSockets: 1 }), log }
}

interface Answer {
  readonly status: number
  /** Raw header lines in order, Date left out. */
  readonly headers: ReadonlyArray<string>
  readonly body: Buffer
}

function call(s: Served, method: string, path: string, headers: Record<string, string>,
  body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: s.base.hostname, port: s.base.port, method, path, headers,
      agent: s.agent }, (res) => {
      const chunks: Buffer[] = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("end", () => {
        const lines: string[] = []
        for (let i = 0; i < res.rawHeaders.length; i += 2) {
          const name = res.rawHeaders[i]!
          if (name.toLowerCase() !== "date") lines.push(`${name}: ${res.rawHeaders[i + 1]!}`)
        }
        resolve({ status: res.statusCode ?? 0, headers: lines, body: Buffer.concat(chunks) })
      })
      res.on("error", reject)
    })
    req.on("error", reject)
    req.end(body)
  })
}

let on: Served
let off: Served
beforeAll(async () => {
  on = await serve(true)
  off = await serve(false)
})
afterAll(async () => {
  for (const s of [on, off]) {
    s.agent.destroy()
    if (s.started.app.server.listening) await s.started.app.close()
  }
})

const who: Record<string, string | undefined> = {
  admin: tokens.admin, acme: tokens.acme, globex: tokens.globex,
  unknown: "not-a-configured-token", none: undefined,
}
const routes: ReadonlyArray<readonly [string, string]> = [
  ["GET", "/v2/ops/os-pci/detail"],
  ["GET", "/v2/acme/os-pci/detail"],
  ["GET", "/v2/ops/os-pci"],
  ["GET", "/v2/ops/os-pci/detail?host=az1-r01-gpu-01"],
  ["GET", "/v2/ops/os-pci/detail?host=no-such-host"],
  ["GET", "/v2/ops/os-pci/detail/"],
  ["GET", "/v2/acme/servers"],
  ["GET", "/v2/globex/servers"],
  ["GET", "/v2/ops/os-pci/1"],
  ["GET", "/healthz"],
  ["HEAD", "/v2/ops/os-pci/detail"],
]
const encodings = [undefined, "gzip, deflate", "gzip;q=0", "*"]

/** Both servers' answers to the whole matrix, each request sent twice in a row. */
async function matrix(): Promise<{ requests: number; detailBody: Buffer }> {
  let requests = 0
  let detailBody: Buffer = Buffer.alloc(0)
  for (const [method, path] of routes) {
    // The route's current tags (identity and gzip), read from the server without the cache.
    const tags: string[] = []
    for (const ae of [undefined, "gzip"]) {
      const probe = await call(off, "GET", path, { "x-auth-token": tokens.admin,
        ...(ae === undefined ? {} : { "accept-encoding": ae }) })
      const etag = probe.headers.find((h) => h.toLowerCase().startsWith("etag: "))
      if (etag !== undefined) tags.push(etag.slice(6))
      if (path === "/v2/ops/os-pci/detail" && ae === undefined) detailBody = probe.body
      // The same request to the server with the cache, so both logs stay alike.
      await call(on, "GET", path, { "x-auth-token": tokens.admin,
        ...(ae === undefined ? {} : { "accept-encoding": ae }) })
    }
    const noneMatches = [undefined, "*", ...tags, ...tags.slice(0, 1).map((t) =>
      `"other", W/${t}`)]
    for (const [name, token] of Object.entries(who)) {
      for (const ae of encodings) {
        for (const inm of noneMatches) {
          const headers: Record<string, string> = {
            ...(token === undefined ? {} : { "x-auth-token": token }),
            ...(ae === undefined ? {} : { "accept-encoding": ae }),
            ...(inm === undefined ? {} : { "if-none-match": inm }),
          }
          for (let i = 0; i < 2; i++) {
            const cell = `${method} ${path} as ${name}, accept-encoding ${ae}, ` +
              `if-none-match ${inm}, try ${i + 1}`
            const [a, b] = await Promise.all([call(on, method, path, headers),
              call(off, method, path, headers)])
            expect(a.status, cell).toBe(b.status)
            expect(a.headers, cell).toEqual(b.headers)
            expect(a.body.equals(b.body), cell).toBe(true)
            requests++
          }
        }
      }
    }
  }
  return { requests, detailBody }
}

/** The log lines, time and duration aside (both vary) and the listening line (its port). */
function logLines(s: Served): unknown[] {
  return s.log.chunks.join("").split("\n").filter((l) => l !== "").map((l) => {
    const { time: _time, ms: _ms, ...rest } = JSON.parse(l) as Record<string, unknown>
    return rest
  }).filter((l) => !String(l["msg"]).startsWith("Server listening at "))
}

async function change(s: Served, method: string, path: string, body?: unknown): Promise<Answer> {
  return call(s, method, path, { "x-auth-token": tokens.acme,
    ...(body === undefined ? {} : { "content-type": "application/json" }) },
  body === undefined ? undefined : JSON.stringify(body))
}

describe("read cache on and off answer alike", () => {
  it("tokens × routes × Accept-Encoding × If-None-Match, before and after changes", async () => {
    const before = await matrix()
    const hitsBefore = on.started.readCache!.hits
    // About one cell in six is a success of a cacheable route (the rest are refusals, faults,
    // HEAD, or routes the cache does not serve), and the first of each goes to the framework.
    expect(hitsBefore).toBeGreaterThan(before.requests / 8)
    expect(off.started.readCache).toBeNull()
    // A change that claims a PCI device and adds a server to acme's list: every learned URL
    // must now answer from the new state.
    const create = { server: { name: "g1", flavorRef: "m1.small",
      pci_requests: [{ alias: "a100", count: 1 }] } }
    const [a, b] = [await change(on, "POST", "/v2/acme/servers", create),
      await change(off, "POST", "/v2/acme/servers", create)]
    expect([a.status, b.status]).toEqual([202, 202])
    expect(a.body.equals(b.body)).toBe(true)
    const after = await matrix()
    expect(after.detailBody.equals(before.detailBody)).toBe(false)
    expect(on.started.readCache!.hits).toBeGreaterThan(hitsBefore + after.requests / 8)
    // And after the server is deleted again.
    const id = (JSON.parse(a.body.toString()) as { server: { id: string } }).server.id
    for (const s of [on, off]) {
      expect((await change(s, "DELETE", `/v2/acme/servers/${id}`)).status).toBe(204)
    }
    const last = await matrix()
    expect(last.detailBody.equals(before.detailBody)).toBe(true)
    // The same log lines in the same order: ids, methods, urls, statuses and tenants.
    await on.started.app.close()
    await off.started.app.close()
    expect(on.started.readCache!.size).toBe(0) // closing: every request goes to the framework
    expect(logLines(on).length).toBeGreaterThan(3 * before.requests)
    expect(logLines(on)).toEqual(logLines(off))
  }, 120_000)
})

describe("read cache bounds", () => {
  it("remembers at most readUrlsMax URLs, then starts again; nothing once closing", () => {
    const cache = new ReadCache({ principals: new Map(), nextRequestId: () => "req-1",
      log: null, logger: () => { throw new Error("no logger") } })
    const rendered = new Rendered(Buffer.from("{}"))
    const read = { refusal: () => null, rendering: () => Result.succeed(rendered) }
    for (let i = 0; i < readUrlsMax; i++) cache.learn(`/u${i}`, read)
    expect(cache.size).toBe(readUrlsMax)
    cache.learn("/u0", read)
    expect(cache.size).toBe(readUrlsMax)
    cache.learn("/one-more", read)
    expect(cache.size).toBe(1)
    cache.close()
    cache.learn("/after-close", read)
    expect(cache.size).toBe(0)
  })
})
