// Request logs (adapters/http/log.ts): one JSON line per request, batched, written one batch at
// a time off the event loop, bounded, flushed on close.
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it, vi } from "vitest"
import { startApp } from "../adapters/http/app.ts"
import { defaultOffer, fixtureConfig, tokens } from "../adapters/http/fixtures.ts"
import { BatchedLines, fdOutput, type LineOutput } from "../adapters/http/log.ts"

/** An output that records chunks; writes complete at once, or when `complete` is called. */
function recorder(manual = false) {
  const waiting: Array<(error: Error | null) => void> = []
  const out = {
    chunks: [] as string[],
    write(chunk: string, done: (error: Error | null) => void) {
      out.chunks.push(chunk)
      if (manual) waiting.push(done)
      else done(null)
    },
    complete(error: Error | null = null) {
      const done = waiting.shift()
      if (done === undefined) throw new Error("no write in flight")
      done(error)
    },
  }
  return out satisfies LineOutput
}

const noDelay = { batchDelayMs: 60_000 }

describe("BatchedLines", () => {
  it("holds lines until a batch is full, then hands them over in one write", () => {
    const out = recorder()
    const lines = new BatchedLines(out, { batchBytes: 30, backlogBytesMax: 1_000, ...noDelay })
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

  it("keeps one write in flight; lines meanwhile go out in order when it completes", () => {
    const out = recorder(true)
    const lines = new BatchedLines(out, { batchBytes: 4, backlogBytesMax: 1_000, ...noDelay })
    lines.write("a1\n")
    lines.write("a2\n")
    expect(out.chunks).toEqual(["a1\na2\n"])
    lines.write("b1\n")
    lines.write("b2\n")
    lines.write("b3\n")
    lines.flush()
    expect(out.chunks).toHaveLength(1)
    out.complete()
    expect(out.chunks).toEqual(["a1\na2\n", "b1\nb2\nb3\n"])
    out.complete()
  })

  it("drops lines past the backlog bound (in flight included) and says how many", () => {
    const out = recorder(true)
    const lines = new BatchedLines(out, { batchBytes: 60, backlogBytesMax: 100, ...noDelay })
    lines.write("x".repeat(59) + "\n") // 60 bytes in flight
    lines.write("a\n")
    lines.write("b".repeat(37) + "\n") // 60 + 2 + 38 = 100: kept
    lines.write("c\n") // over: dropped
    lines.write("d\n")
    out.complete()
    lines.flush()
    const written = out.chunks[1]!.split("\n").filter((l) => l !== "")
    expect(written.slice(0, 2)).toEqual(["a", "b".repeat(37)])
    expect(JSON.parse(written[2]!)).toMatchObject({ msg: "log lines dropped", dropped: 2 })
    out.complete()
  })

  it("counts the lines of a failed write and arms no timer for the count alone", () => {
    vi.useFakeTimers()
    try {
      const out = recorder(true)
      const lines = new BatchedLines(out, { batchBytes: 1_000, batchDelayMs: 100,
        backlogBytesMax: 10_000 })
      lines.write("one\n")
      lines.write("two\n")
      lines.flush()
      out.complete(new Error("EPIPE"))
      expect(vi.getTimerCount()).toBe(0)
      lines.write("three\n")
      vi.advanceTimersByTime(100)
      expect(out.chunks).toHaveLength(2)
      const second = out.chunks[1]!.split("\n").filter((l) => l !== "")
      expect(second[0]).toBe("three")
      expect(JSON.parse(second[1]!)).toMatchObject({ dropped: 2 })
      out.complete()
    } finally {
      vi.useRealTimers()
    }
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

  it("fdOutput writes the whole chunk to the descriptor, then calls back", async () => {
    const dir = mkdtempSync(join(tmpdir(), "corral-log-"))
    try {
      const path = join(dir, "log.jsonl")
      const fd = openSync(path, "w")
      const chunk = "é".repeat(100_000) + "\n"
      await new Promise<void>((resolve, reject) =>
        fdOutput(fd).write(chunk, (e) => (e === null ? resolve() : reject(e))))
      closeSync(fd)
      expect(readFileSync(path, "utf8")).toBe(chunk)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
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
        // The keys and their order as the framework's logger writes them.
        expect(Object.keys(l)).toEqual(["level", "time", "pid", "hostname", "reqId", "method",
          "url", "status", "ms", ...(l["tenant"] === undefined ? [] : ["tenant"]), "msg"])
        expect(l["level"]).toBe(30)
        expect(l["pid"]).toBe(process.pid)
        expect(Math.abs(Number(l["time"]) - Date.now())).toBeLessThan(600_000)
      }
      expect(lines.filter((l) => l["msg"] === "incoming request")).toEqual([])
    })

  it("a URL with a backslash is escaped into valid JSON", async () => {
    const out = recorder()
    const { app } = startApp({ config: fixtureConfig(), offer: defaultOffer(),
      journalPath: null, logger: true, logOutput: out })
    const url = "/v2/acme/servers?name=\"a\\b\u00e9\u2028"
    const r = await app.inject({ method: "GET", url, headers: { "x-auth-token": tokens.acme } })
    expect(r.statusCode).toBe(200)
    await app.close()
    const requests = out.chunks.join("").split("\n").filter((l) => l !== "")
      .map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l["msg"] === "request")
    // The injector percent-encodes the quote and the non-ASCII; the backslash stays raw.
    expect(requests.map((l) => l["url"]))
      .toEqual(["/v2/acme/servers?name=%22a\\b%C3%A9%E2%80%A8"])
  })
})
