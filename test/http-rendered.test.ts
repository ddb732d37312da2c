// Cached read renderings (adapters/http/rendered.ts): identity bytes, gzip on request, ETag/304,
// and a new rendering after every accepted change.
import { gunzipSync } from "node:zlib"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type App, startApp } from "../adapters/http/app.ts"
import { defaultOffer, fixtureConfig, tokens } from "../adapters/http/fixtures.ts"
import { acceptsGzip } from "../adapters/http/rendered.ts"
import { pciDetail } from "../core/pci/index.ts"

let started: App
beforeAll(() => {
  started = startApp({ config: fixtureConfig(), offer: defaultOffer(), journalPath: null })
})
afterAll(async () => {
  await started.app.close()
})

const detail = "/v2/ops/os-pci/detail"

function get(url: string, headers: Record<string, string> = {}, token: string = tokens.admin) {
  return started.app.inject({ method: "GET", url, headers: { "x-auth-token": token, ...headers } })
}

function expectedDetail(host?: string): unknown {
  const r = pciDetail(started.engine.world().cluster.pci, host === undefined ? {} : { host })
  if (r._tag === "Failure") throw new Error(r.failure.message)
  return r.success
}

describe("os-pci renderings", () => {
  it("without Accept-Encoding: the core's view as JSON, tagged, Vary set", async () => {
    const r = await get(detail)
    expect(r.statusCode).toBe(200)
    expect(r.headers["content-encoding"]).toBeUndefined()
    expect(r.headers["content-type"]).toBe("application/json; charset=utf-8")
    expect(r.headers["vary"]).toBe("Accept-Encoding")
    expect(r.headers["etag"]).toMatch(/^"[A-Za-z0-9_-]{27}"$/)
    expect(JSON.parse(r.body)).toEqual(expectedDetail())
    expect(Number(r.headers["content-length"])).toBe(r.rawPayload.length)
  })

  it("with gzip accepted: the same bytes gzipped, under their own tag", async () => {
    const plain = await get(detail)
    const zipped = await get(detail, { "accept-encoding": "gzip, deflate" })
    expect(zipped.headers["content-encoding"]).toBe("gzip")
    expect(gunzipSync(zipped.rawPayload).equals(plain.rawPayload)).toBe(true)
    expect(zipped.rawPayload.length).toBeLessThan(plain.rawPayload.length / 4)
    expect(zipped.headers["etag"]).not.toBe(plain.headers["etag"])
    for (const refused of ["gzip;q=0", "identity", "br", "*;q=0", "gzip;q=0, *"]) {
      const r = await get(detail, { "accept-encoding": refused })
      expect(r.headers["content-encoding"], refused).toBeUndefined()
    }
    expect((await get(detail, { "accept-encoding": "*" })).headers["content-encoding"])
      .toBe("gzip")
  })

  it("If-None-Match with the current tag is 304 without a body; another tag is 200", async () => {
    const first = await get(detail)
    const tag = String(first.headers["etag"])
    const again = await get(detail, { "if-none-match": tag })
    expect(again.statusCode).toBe(304)
    expect(again.rawPayload.length).toBe(0)
    expect((await get(detail, { "if-none-match": `"other", W/${tag}` })).statusCode).toBe(304)
    expect((await get(detail, { "if-none-match": "\"other\"" })).statusCode).toBe(200)
  })

  it("a member is refused before any rendering or tag is consulted", async () => {
    const tag = String((await get(detail)).headers["etag"])
    const r = await get("/v2/acme/os-pci/detail", { "if-none-match": tag }, tokens.acme)
    expect(r.statusCode).toBe(403)
    expect(r.headers["etag"]).toBeUndefined()
  })

  it("an accepted change makes a new rendering: new content, new tag, old tag no longer 304",
    async () => {
      const whole = await get(detail)
      const hostTag = new Map<string, string>()
      for (const host of ["az1-r01-gpu-01", "az1-r02-gpu-01", "az2-r01-gpu-01"]) {
        hostTag.set(host, String((await get(`${detail}?host=${host}`)).headers["etag"]))
      }
      const create = await started.app.inject({ method: "POST", url: "/v2/acme/servers",
        headers: { "x-auth-token": tokens.acme, "content-type": "application/json" },
        payload: { server: { name: "g1", flavorRef: "m1.small",
          pci_requests: [{ alias: "a100", count: 1 }] } } })
      expect(create.statusCode).toBe(202)
      const id = (JSON.parse(create.body) as { server: { id: string } }).server.id
      const shown = await get(`/v2/acme/servers/${id}`)
      const host = (JSON.parse(shown.body) as { server: Record<string, string> })
        .server["OS-EXT-SRV-ATTR:host"]!
      const path = `${detail}?host=${host}`
      const oldTag = hostTag.get(host) ?? String(whole.headers["etag"])
      const after = await get(path, { "if-none-match": oldTag })
      expect(after.statusCode).toBe(200)
      expect(after.headers["etag"]).not.toBe(oldTag)
      expect(JSON.parse(after.body)).toEqual(expectedDetail(host))
      const statuses = (JSON.parse(after.body) as { pci_devices: Array<{ status: string }> })
        .pci_devices.map((d) => d.status)
      expect(statuses).toContain("allocated")
      expect((await get(detail, { "if-none-match": String(whole.headers["etag"]) })).statusCode)
        .toBe(200)
      // A failed change (unknown flavor) leaves the state, so the rendering and tag stand.
      const refused = await started.app.inject({ method: "POST", url: "/v2/acme/servers",
        headers: { "x-auth-token": tokens.acme, "content-type": "application/json" },
        payload: { server: { name: "g2", flavorRef: "nope" } } })
      expect(refused.statusCode).toBe(400)
      expect((await get(path, { "if-none-match": String(after.headers["etag"]) })).statusCode)
        .toBe(304)
    })

  it("the prebuilt header sets: lengths of what is sent, HEAD alike, 304 with its variant's tag",
    async () => {
      for (const headers of [{}, { "accept-encoding": "gzip, deflate" }] as Array<Record<string,
        string>>) {
        const r = await get(detail, headers)
        expect(Number(r.headers["content-length"])).toBe(r.rawPayload.length)
        expect(r.headers["content-type"]).toBe("application/json; charset=utf-8")
        const head = await started.app.inject({ method: "HEAD", url: detail,
          headers: { "x-auth-token": tokens.admin, ...headers } })
        expect(head.statusCode).toBe(200)
        expect(head.rawPayload.length).toBe(0)
        for (const h of ["content-length", "etag", "content-encoding", "vary"]) {
          expect(head.headers[h], h).toBe(r.headers[h])
        }
        const tag = String(r.headers["etag"])
        const again = await get(detail, { ...headers, "if-none-match": tag })
        expect(again.statusCode).toBe(304)
        expect(again.headers["etag"]).toBe(tag)
        expect(again.headers["vary"]).toBe("Accept-Encoding")
        expect(again.headers["content-encoding"]).toBeUndefined()
      }
      // The other variant's tag does not match.
      const plainTag = String((await get(detail)).headers["etag"])
      expect((await get(detail, { "accept-encoding": "gzip", "if-none-match": plainTag }))
        .statusCode).toBe(200)
    })

  it("an unknown host filter is 404 and is not cached", async () => {
    expect((await get(`${detail}?host=nope`)).statusCode).toBe(404)
    expect((await get(`${detail}?host=nope`)).statusCode).toBe(404)
  })
})

describe("acceptsGzip", () => {
  it.each([
    [undefined, false], ["", false], ["gzip", true], ["GZIP", true], ["x-gzip", true],
    ["deflate, gzip;q=0.5", true], ["gzip;q=0", false], ["gzip; q=0.0", false], ["*", true],
    ["*;q=0", false], ["br, *", true], ["identity", false], ["gzip;q=abc", false],
  ] as const)("%s → %s", (header, expected) => {
    expect(acceptsGzip(header)).toBe(expected)
  })

  it("answers by the value alone when values repeat and alternate (it remembers the last)", () => {
    const values = ["gzip", "gzip;q=0", "gzip;q=0", "*", "identity", "identity", "gzip, deflate"]
    expect(values.map((v) => acceptsGzip(v))).toEqual([true, false, false, true, false, false,
      true])
    const expected = new Map([["gzip", true], ["gzip;q=0", false], ["*", true],
      ["identity", false], ["gzip, deflate", true]])
    for (const v of [...values, ...[...values].reverse(), "gzip", "gzip"]) {
      expect(acceptsGzip(v), v).toBe(expected.get(v))
    }
  })
})

describe("server list renderings (per tenant)", () => {
  const list = (tenant: "acme" | "globex", headers: Record<string, string> = {}) =>
    get(`/v2/${tenant}/servers`, headers, tokens[tenant])
  const names = (r: { body: string }) =>
    (JSON.parse(r.body) as { servers: Array<{ name: string }> }).servers.map((s) => s.name)
  const create = (tenant: "acme" | "globex", name: string) => started.app.inject({
    method: "POST", url: `/v2/${tenant}/servers`, payload: { server: { name,
      flavorRef: "m1.small" } }, headers: { "x-auth-token": tokens[tenant] } })

  it("each tenant's list is its own; a create changes only what its tenant sees", async () => {
    expect((await create("acme", "list-a")).statusCode).toBe(202)
    expect((await create("globex", "list-g")).statusCode).toBe(202)
    const acme = await list("acme")
    const globex = await list("globex")
    expect(names(acme)).toContain("list-a")
    expect(names(acme)).not.toContain("list-g")
    expect(names(globex)).toEqual(["list-g"])
    expect(acme.headers["etag"]).not.toBe(globex.headers["etag"])
    const acmeTag = String(acme.headers["etag"])
    expect((await list("acme", { "if-none-match": acmeTag })).statusCode).toBe(304)
    const created = await create("acme", "list-a2")
    expect((await list("acme", { "if-none-match": acmeTag })).statusCode).toBe(200)
    expect(names(await list("acme"))).toContain("list-a2")
    const id = (JSON.parse(created.body) as { server: { id: string } }).server.id
    const deleted = await started.app.inject({ method: "DELETE", url: `/v2/acme/servers/${id}`,
      headers: { "x-auth-token": tokens.acme } })
    expect(deleted.statusCode).toBe(204)
    expect(names(await list("acme"))).not.toContain("list-a2")
    expect(names(await list("globex"))).toEqual(["list-g"])
  })
})
