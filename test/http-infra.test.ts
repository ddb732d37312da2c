// The HTTP server's infrastructure: configuration, body limits, the journal and the engine.
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Result } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { bodyDepthMax, parseBody, syntaxErrorOffset } from "../adapters/http/body.ts"
import { decodeConfig, parseConfig } from "../adapters/http/config.ts"
import { type Operations, startEngine } from "../adapters/http/engine.ts"
import { type JournalEntry, openJournal, parseJournal } from "../adapters/http/journal.ts"
import { startApp } from "../adapters/http/app.ts"
import { defaultOffer, fixtureConfig, tokens } from "../adapters/http/fixtures.ts"
import { findServer } from "../core/cluster/index.ts"
import { err, invalid, ok } from "../core/errors.ts"

const tmp = () => mkdtempSync(join(tmpdir(), "corral-http-"))

describe("config", () => {
  it.each([
    [{ tokens: [] }, null],
    [{ tokens: [{ token: "abcdefgh", tenant: "t1" }] }, null],
    [{ tokens: [{ token: "short", tenant: "t1" }] }, "tokens[0].token"],
    [{ tokens: [{ token: "abcdefgh", tenant: "t1", role: "root" }] }, "tokens[0].role"],
    [{ tokens: [{ token: "abcdefgh", tenant: "t 1" }] }, "tokens[0].tenant"],
    [{ tokens: [], bodyLimitBytes: 10 }, "bodyLimitBytes"],
    [{ tokens: [], extra: 1 }, "extra"],
    [{ tokens: [{ token: "abcdefgh", tenant: "a" }, { token: "abcdefgh", tenant: "b" }] },
      "tokens[1].token"],
  ])("%j → %s", (input, path) => {
    const r = decodeConfig(input)
    if (path === null) expect(Result.isSuccess(r)).toBe(true)
    else {
      expect(Result.isFailure(r)).toBe(true)
      if (Result.isFailure(r)) expect(r.failure.path).toBe(path)
    }
  })
  it("defaults the role to member and the body limit to 1 MiB", () => {
    const r = parseConfig('{"tokens": [{"token": "abcdefgh", "tenant": "t1"}]}')
    expect(Result.isSuccess(r) && r.success.tokens[0]!.role).toBe("member")
    expect(Result.isSuccess(r) && r.success.bodyLimitBytes).toBe(1_048_576)
  })
})

describe("body", () => {
  it.each([
    ["", undefined, null],
    ['{"a": 1}', { a: 1 }, null],
    ['{"a": ', undefined, ""],
    ['{"__proto__": {"x": 1}}', undefined, "__proto__"],
    ['{"a": [{"constructor": 1}]}', undefined, "a[0].constructor"],
    ['{"a": {"prototype": 1}}', undefined, "a.prototype"],
    ["[".repeat(bodyDepthMax + 1) + "]".repeat(bodyDepthMax + 1), undefined,
      "[0]".repeat(bodyDepthMax)],
  ])("%s", (text, value, path) => {
    const r = parseBody(text)
    if (path === null) expect(Result.isSuccess(r) && r.success).toEqual(value)
    else {
      expect(Result.isFailure(r)).toBe(true)
      if (Result.isFailure(r)) expect(r.failure.path).toBe(path)
    }
  })
  it("malformed JSON names the line and column where it broke", () => {
    const r = parseBody('{"server": {\n  "name": "a",\n}}')
    expect(Result.isFailure(r) && r.failure.message).toMatch(/at line 3, column 1 \(offset 28\)/)
  })
  it("the syntax scanner agrees with JSON.parse and never points past a truncation", () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }), fc.nat(), (value, k) => {
      const text = JSON.stringify(value, null, k % 3)
      expect(syntaxErrorOffset(text)).toBe(-1)
      const cut = text.slice(0, k % (text.length + 1))
      let valid = true
      try {
        JSON.parse(cut)
      } catch {
        valid = false
      }
      const at = syntaxErrorOffset(cut)
      if (valid) expect(at).toBe(-1)
      else expect(at >= 0 && at <= cut.length).toBe(true)
    }), { numRuns: 300 })
  })
  it("never lets a prototype key through, whatever the nesting", () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }), fc.constantFrom("__proto__",
      "constructor"), (value, key) => {
      const text = JSON.stringify({ wrap: [value, { [key]: 1 }] }).replace('"k"', `"${key}"`)
      const r = parseBody(text.replace(/"(__proto__|constructor)"/, `"${key}"`))
      expect(Result.isFailure(r)).toBe(true)
      expect(Object.prototype).not.toHaveProperty("x")
    }), { numRuns: 200 })
  })
})

const entry = (seq: number, op = "add"): JournalEntry =>
  ({ seq, atMs: 1000 + seq, op, tenant: "t", params: {}, body: { n: seq }, ids: [`id${seq}`] })

describe("journal", () => {
  it("appends fsynced lines and reads them back", () => {
    const path = join(tmp(), "j.jsonl")
    const j = openJournal(path)
    expect(j.entries).toEqual([])
    j.append(entry(1))
    j.append(entry(2))
    j.close()
    const again = openJournal(path)
    expect(again.entries).toEqual([entry(1), entry(2)])
    expect(again.tornBytes).toBe(0)
    again.close()
  })
  it("drops a torn last line and truncates the file there", () => {
    const path = join(tmp(), "j.jsonl")
    writeFileSync(path, JSON.stringify(entry(1)) + "\n")
    appendFileSync(path, JSON.stringify(entry(2)).slice(0, 25))
    const j = openJournal(path)
    expect(j.entries).toEqual([entry(1)])
    expect(j.tornBytes).toBe(25)
    j.append(entry(2))
    j.close()
    expect(readFileSync(path, "utf8").split("\n").filter((l) => l !== "").length).toBe(2)
  })
  it("refuses a corrupt line before the tail and a gap in seq", () => {
    expect(() => parseJournal("garbage\n" + JSON.stringify(entry(1)) + "\n")).toThrow(/malformed/)
    expect(() => parseJournal(JSON.stringify(entry(2)) + "\n")).toThrow(/seq/)
  })
  it("refuses an append out of sequence", () => {
    const j = openJournal(join(tmp(), "j.jsonl"))
    expect(() => j.append(entry(2))).toThrow(/seq/)
    j.close()
  })
  it("every prefix of a journal's bytes opens to a prefix of its entries", () => {
    const text = [1, 2, 3].map((n) => JSON.stringify(entry(n)) + "\n").join("")
    fc.assert(fc.property(fc.integer({ min: 0, max: text.length }), (cut) => {
      const { entries, goodBytes } = parseJournal(text.slice(0, cut))
      expect(entries).toEqual([1, 2, 3].slice(0, entries.length).map((n) => entry(n)))
      expect(goodBytes).toBeLessThanOrEqual(cut)
    }), { numRuns: 300 })
  })
})

describe("engine", () => {
  type W = { readonly total: number; readonly ids: ReadonlyArray<string> }
  const ops: Operations<W> = {
    add: (w, e) => {
      const n = (e.body as { n?: unknown })?.n
      if (typeof n !== "number") return err(invalid("n", "a number"))
      return ok({ world: { total: w.total + n, ids: [...w.ids, ...e.ids] },
        reply: { status: 200, body: { total: w.total + n } } })
    },
  }
  let counter = 0
  const sources = { nowMs: () => 5, newId: () => `id-${++counter}` }
  it("journals successes only and replays them to the same world", async () => {
    const path = join(tmp(), "j.jsonl")
    const engine = startEngine({ total: 0, ids: [] }, ops, openJournal(path), sources)
    expect(Result.isSuccess(await engine.apply({ op: "add", tenant: "t", params: {},
      body: { n: 2 }, idsCount: 1 }))).toBe(true)
    const before = engine.world()
    const bad = await engine.apply({ op: "add", tenant: "t", params: {}, body: { n: "x" },
      idsCount: 1 })
    expect(Result.isFailure(bad)).toBe(true)
    expect(engine.world()).toBe(before)
    await engine.apply({ op: "add", tenant: "t", params: {}, body: { n: 3 }, idsCount: 2 })
    const final = engine.world()
    engine.close()
    const replayed = startEngine({ total: 0, ids: [] }, ops, openJournal(path),
      { nowMs: () => 99, newId: () => "never" })
    expect(replayed.world()).toEqual(final)
    expect(replayed.seq()).toBe(2)
    replayed.close()
  })
  it("group-commits concurrent changes: all durable, all visible once acknowledged", async () => {
    const path = join(tmp(), "j.jsonl")
    const engine = startEngine({ total: 0, ids: [] }, ops, openJournal(path), sources)
    const replies = await Promise.all([1, 2, 3, 4, 5].map((n) => engine.apply({ op: "add",
      tenant: "t", params: {}, body: { n }, idsCount: 0 })))
    expect(replies.every((r) => Result.isSuccess(r))).toBe(true)
    expect(engine.world().total).toBe(15)
    engine.close()
    expect(parseJournal(readFileSync(path, "utf8")).entries.map((e) => e.body))
      .toEqual([1, 2, 3, 4, 5].map((n) => ({ n })))
  })
  it("refuses changes after the journal failed", async () => {
    const path = join(tmp(), "j.jsonl")
    const journal = openJournal(path)
    const engine = startEngine({ total: 0, ids: [] }, ops, journal, sources)
    journal.close()
    await expect(engine.apply({ op: "add", tenant: "t", params: {}, body: { n: 1 },
      idsCount: 0 })).rejects.toThrow(/closed/)
    await expect(engine.apply({ op: "add", tenant: "t", params: {}, body: { n: 1 },
      idsCount: 0 })).rejects.toThrow(/refused/)
    expect(engine.world().total).toBe(0)
  })
  it("throws on a journal entry that no longer applies", () => {
    const path = join(tmp(), "j.jsonl")
    writeFileSync(path, JSON.stringify({ ...entry(1), body: { n: "x" } }) + "\n")
    expect(() => startEngine({ total: 0, ids: [] }, ops, openJournal(path))).toThrow(/replay/)
  })
})

describe("server create in the journal", () => {
  it("records the host the solver chose, and a replay puts the server there again", async () => {
    const path = join(tmp(), "j.jsonl")
    const options = { config: fixtureConfig(), offer: defaultOffer(), journalPath: path }
    const first = startApp(options)
    const created = await first.app.inject({ method: "POST", url: "/v2/acme/servers",
      headers: { "x-auth-token": tokens.acme, "content-type": "application/json" },
      payload: { server: { name: "web", flavorRef: "m1.small" } } })
    expect(created.statusCode).toBe(202)
    const id = (created.json() as { server: { id: string } }).server.id
    const chosen = findServer(first.engine.world().cluster, id)!.host
    await first.app.close()
    const [entry] = parseJournal(readFileSync(path, "utf8")).entries
    expect(entry!.decided).toEqual({ host: chosen })

    // A journal written when the solver preferred another host replays to that host.
    const other = first.engine.world().cluster.inventory.hosts
      .find((h) => h.name !== chosen && h.pciDevices.length === 0 && h.pmemDevices.length === 0)!
    writeFileSync(path, JSON.stringify({ ...entry, decided: { host: other.name } }) + "\n")
    const again = startApp(options)
    expect(again.replayed).toBe(1)
    expect(findServer(again.engine.world().cluster, id)!.host).toBe(other.name)
    await again.app.close()
  })
})
