// Tenant isolation: tenants × routes × methods, each cell asserting 401/403/404 or success.
// A member sees only its tenant's servers, volumes and vclusters: another tenant's object is 404
// (it may not learn that it exists); a path naming another tenant is 403; admin-only routes
// (replicas, hypervisors, PCI inventory, the connector) are 403 for members; no token is 401.
import { beforeAll, describe, expect, it } from "vitest"
import { type App, startApp } from "../adapters/http/app.ts"
import { defaultOffer, fixtureConfig, tokens } from "../adapters/http/fixtures.ts"

type Who = "acme" | "globex" | "admin" | "none" | "bogus"
const everyone: ReadonlyArray<Who> = ["acme", "globex", "admin", "none", "bogus"]

let started: App

async function send(who: Who, method: string, url: string, payload?: unknown) {
  const headers: Record<string, string> = { "content-type": "application/json" }
  if (who === "bogus") headers["x-auth-token"] = "not-a-known-token"
  else if (who !== "none") headers["x-auth-token"] = tokens[who]
  const r = await started.app.inject({ method: method as "GET", url, headers,
    ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }) })
  return { status: r.statusCode, json: r.body === "" ? undefined : r.json() }
}

async function newServer(tenant: "acme" | "globex"): Promise<string> {
  const r = await send(tenant, "POST", `/v2/${tenant}/servers`,
    { server: { name: `${tenant}-vm`, flavorRef: "m1.small", "os-pmem:device": "DRAM" } })
  expect(r.status).toBe(202)
  return r.json.server.id
}

const ids = { server: "", vcluster: "", volume: "" }

beforeAll(async () => {
  started = startApp({ config: fixtureConfig(), offer: defaultOffer(), journalPath: null })
  ids.server = await newServer("acme")
  const action = `/v2.1/acme/servers/${ids.server}/action`
  await send("acme", "POST", action, { "add-pmem-vol": [{ name: "v1", size: 16, device: "DRAM" }] })
  const shown = await send("acme", "GET", `/v2/acme/servers/${ids.server}`)
  ids.volume = shown.json.server["os-pmem:volumes"][0].volume_uuid
  const vc = await send("acme", "POST", "/v2/acme/vclusters", { vcluster: { name: "c",
    instances: [{ name: "s", type: "server", spec: { imageRef: "i", flavorRef: "m1.small" } }] } })
  ids.vcluster = vc.json.vcluster.id
})

/** Expected status class per caller: a number, or "ok" for any 2xx. */
type Expect = Record<Who, number | "ok">
const member = (acme: number | "ok", globex: number | "ok", admin: number | "ok"): Expect =>
  ({ acme, globex, admin, none: 401, bogus: 401 })
const adminOnly: Expect = member(403, 403, "ok")

interface Cell {
  readonly name: string
  readonly method: string
  readonly url: () => string
  readonly body?: () => unknown
  readonly expect: Expect
}

const matrix: ReadonlyArray<Cell> = [
  { name: "list servers in acme", method: "GET", url: () => "/v2/acme/servers",
    expect: member("ok", 403, "ok") },
  { name: "show acme's server under acme", method: "GET",
    url: () => `/v2/acme/servers/${ids.server}`, expect: member("ok", 403, "ok") },
  { name: "show acme's server under globex", method: "GET",
    url: () => `/v2/globex/servers/${ids.server}`, expect: member(403, 404, 404) },
  { name: "delete acme's server under globex", method: "DELETE",
    url: () => `/v2/globex/servers/${ids.server}`, expect: member(403, 404, 404) },
  { name: "create a server in acme", method: "POST", url: () => "/v2/acme/servers",
    body: () => ({ server: { name: "x", flavorRef: "m1.small" } }), expect: member(202, 403, 202) },
  { name: "pmem action on acme's server under acme", method: "POST",
    url: () => `/v2.1/acme/servers/${ids.server}/action`,
    body: () => ({ "del-pmem-vol": [{ volume_uuid: "00000000-0000-0000-0000-000000000000" }] }),
    expect: member(404, 403, 404) },
  { name: "pmem delete of acme's volume under globex", method: "POST",
    url: () => `/v2.1/globex/servers/${ids.server}/action`,
    body: () => ({ "del-pmem-vol": [{ volume_uuid: ids.volume }] }),
    expect: member(403, 404, 404) },
  { name: "show acme's vcluster under acme", method: "GET",
    url: () => `/v2/acme/vclusters/${ids.vcluster}`, expect: member("ok", 403, "ok") },
  { name: "show acme's vcluster under globex", method: "GET",
    url: () => `/v2/globex/vclusters/${ids.vcluster}`, expect: member(403, 404, 404) },
  { name: "delete acme's vcluster under globex", method: "DELETE",
    url: () => `/v2/globex/vclusters/${ids.vcluster}`, expect: member(403, 404, 404) },
  { name: "create a vcluster in globex", method: "POST", url: () => "/v2/globex/vclusters",
    body: () => ({ vcluster: { name: "g", instances: [{ name: "s", type: "server",
      spec: { imageRef: "i", flavorRef: "m1.small" } }] } }), expect: member(403, 202, 202) },
  { name: "os-pci", method: "GET", url: () => "/v2/acme/os-pci", expect: adminOnly },
  { name: "os-pci/detail", method: "GET", url: () => "/v2/acme/os-pci/detail", expect: adminOnly },
  { name: "os-pci/1", method: "GET", url: () => "/v2/acme/os-pci/1", expect: adminOnly },
  { name: "os-hypervisors", method: "GET", url: () => "/v2/acme/os-hypervisors",
    expect: adminOnly },
  { name: "os-hypervisors/{host}", method: "GET",
    url: () => "/v2/acme/os-hypervisors/az1-r01-compute-01", expect: adminOnly },
  { name: "replica list", method: "GET", url: () => `/vm/${ids.server}/replica`,
    expect: adminOnly },
  { name: "replica show", method: "GET", url: () => `/vm/${ids.server}/replica/r9`,
    expect: member(403, 403, 404) },
  { name: "replica create", method: "POST", url: () => `/vm/${ids.server}/replica/r1`,
    body: () => ({ node: "nowhere" }), expect: member(403, 403, 400) },
  { name: "replica update", method: "PUT", url: () => `/vm/${ids.server}/replica/r9`,
    body: () => ({ sleep_time: 1 }), expect: member(403, 403, 404) },
  { name: "replica delete", method: "DELETE", url: () => `/vm/${ids.server}/replica/r9`,
    expect: member(403, 403, 404) },
  { name: "replica failover", method: "PUT", url: () => `/vm/${ids.server}/replica/r9/failover`,
    body: () => ({}), expect: member(403, 403, 404) },
  { name: "replica reinit", method: "PUT", url: () => `/vm/${ids.server}/replica/r9/reinit`,
    expect: member(403, 403, 404) },
  { name: "connector guests", method: "GET", url: () => "/guests", expect: adminOnly },
  { name: "connector host", method: "GET", url: () => "/host", expect: adminOnly },
  { name: "connector guest create", method: "POST", url: () => "/guests",
    body: () => ({ guest: { userid: "T1", vcpus: 1, memory: 512 } }),
    expect: member(403, 403, 201) },
  { name: "connector stop", method: "POST", url: () => "/guests/T1/action",
    body: () => ({ action: "stop", timeout: 300, poll_interval: 10 }), expect: adminOnly },
  { name: "healthz", method: "GET", url: () => "/healthz",
    expect: { acme: 200, globex: 200, admin: 200, none: 200, bogus: 200 } },
]

describe("tenant isolation matrix", () => {
  for (const cell of matrix) {
    it.each(everyone)(`${cell.method} ${cell.name} as %s`, async (who) => {
      const r = await send(who, cell.method, cell.url(), cell.body?.())
      const want = cell.expect[who]
      if (want === "ok") expect(r.status, JSON.stringify(r.json)).toBeLessThan(300)
      else expect(r.status, JSON.stringify(r.json)).toBe(want)
      if (r.status >= 400 && r.json !== undefined && !cell.url().startsWith("/guests") &&
        cell.url() !== "/host") {
        const [key] = Object.keys(r.json)
        expect(r.json[key!].code).toBe(r.status)
      }
    })
  }
  it("a member's list never shows another tenant's servers", async () => {
    const other = await newServer("globex")
    const listed = await send("acme", "GET", "/v2/acme/servers")
    expect(listed.json.servers.map((s: { id: string }) => s.id)).not.toContain(other)
    expect(listed.json.servers.map((s: { id: string }) => s.id)).toContain(ids.server)
  })
  it("refused requests changed nothing: acme's server and volume are intact", async () => {
    const shown = await send("acme", "GET", `/v2/acme/servers/${ids.server}`)
    expect(shown.json.server["os-pmem:volumes"].map((v: { volume_uuid: string }) =>
      v.volume_uuid)).toEqual([ids.volume])
    expect((await send("acme", "GET", `/v2/acme/vclusters/${ids.vcluster}`)).status).toBe(200)
  })
})
