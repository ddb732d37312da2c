// Request logs (adapters/http/log.ts): one JSON line per request, batched, bounded, flushed
// on close.
import { describe, expect, it, vi } from "vitest"
import { startApp } from "../adapters/http/app.ts"
import { defaultOffer, fixtureConfig, tokens } from "../adapters/http/fixtures.ts"
import { BatchedLines, type LineOutput } from "../adapters/http/log.ts"

/** An output that records what it was handed and reports a settable backlog. */
function recorder(): LineOutput & { chunks: string[]; backlog: number } {
  const out = {
    chunks: [] as string[],
    backlog: 0,
    write(chunk: string) {
      out.chunks.push(chunk)
      return true
    },
    get writableLength() {
      return out.backlog
    },
  }
  return out
}

describe("BatchedLines", () => {
  it("holds lines until a batch is full, then hands them over in one write", () => {
    const out = recorder()
    const lines = new BatchedLines(out, { batchBytes: 30, batchDelayMs: 60_000,
      backlogBytesMax: 1_000 })
    lines.write("0123456789\n")
    lines.write("0123456789\n")
    expect(out.chunks).toEqual([])
    lines.write("0123456789\n")
    expect(out.chunks).toEqual(["0123456789\n".repeat(3)])
    lines.write("tail\n")
    lines.flush()
    expect(out.chunks).toEqual(["0123456789\n".repeat(3), "tail\n"])
    lines.flush()
    expect(out.chunks).toHaveLength(2)
  })
  it("hands a partial batch over once its delay has passed (fake clock)", () => {
    vi.useFakeTimers()
    try {
      const out = recorder()
      const lines = new BatchedLines(out, { batchBytes: 1_000, batchDelayMs: 100,
        backlogBytesMax: 10_000 })
      lines.write("one\n")
      vi.advanceTimersByTime(99)
      lines.write("two\n")
      expect(out.chunks).toEqual([])
      vi.advanceTimersByTime(1)
      expect(out.chunks).toEqual(["one\ntwo\n"])
      vi.advanceTimersByTime(1_000)
      expect(out.chunks).toHaveLength(1)
    } finally {
      vi.useRealTimers()
    }
  })
  it("drops lines past the backlog bound and says how many in the next batch", () => {
    const out = recorder()
    const lines = new BatchedLines(out, { batchBytes: 1_000, batchDelayMs: 60_000,
      backlogBytesMax: 100 })
    out.backlog = 95
    lines.write("a\n")
    lines.write("b\n")
    lines.write("c\n") // 95 + 4 pending + 2 > 100
    lines.write("d\n")
    out.backlog = 0
    lines.flush()
    expect(out.chunks).toHaveLength(1)
    const written = out.chunks[0]!.split("\n").filter((l) => l !== "")
    expect(written.slice(0, 2)).toEqual(["a", "b"])
    expect(JSON.parse(written[2]!)).toMatchObject({ msg: "log lines dropped", dropped: 2 })
  })
})

describe("request logs through the server", () => {
  it("one line per request with method, url, status, time and tenant; flushed on close",
    async () => {
      const out = recorder()
      const { app } = startApp({ config: fixtureConfig(), offer: defaultOffer(),
        journalPath: null, logger: true, logOutput: out })
      const get = (url: string, token?: string) => app.inject({ method: "GET", url,
        headers: token === undefined ? {} : { "x-auth-token": token } })
      expect((await get("/healthz")).statusCode).toBe(200)
      expect((await get("/v2/acme/servers", tokens.acme)).statusCode).toBe(200)
      expect((await get("/v2/acme/os-pci/detail", tokens.acme)).statusCode).toBe(403)
      expect((await get("/v2/acme/servers")).statusCode).toBe(401)
      expect(out.chunks).toEqual([]) // batched: nothing written per request
      await app.close()
      const lines = out.chunks.join("").split("\n").filter((l) => l !== "")
        .map((l) => JSON.parse(l) as Record<string, unknown>)
      const requests = lines.filter((l) => l["msg"] === "request")
      expect(requests.map((l) => [l["method"], l["url"], l["status"], l["tenant"]])).toEqual([
        ["GET", "/healthz", 200, undefined],
        ["GET", "/v2/acme/servers", 200, "acme"],
        ["GET", "/v2/acme/os-pci/detail", 403, "acme"],
        ["GET", "/v2/acme/servers", 401, undefined],
      ])
      for (const l of requests) {
        expect(typeof l["ms"]).toBe("number")
        expect(l["reqId"]).toBeDefined()
      }
      expect(lines.filter((l) => l["msg"] === "incoming request")).toEqual([])
    })
})
