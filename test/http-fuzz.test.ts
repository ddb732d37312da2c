// Hostile bodies: every route that takes a body answers 4xx (never 5xx) to malformed input, and
// the server's state is exactly as before (same world value, same journal length).
import fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type App, startApp } from "../adapters/http/app.ts"
import { defaultOffer, fixtureConfig, tokens } from "../adapters/http/fixtures.ts"

let started: App
let serverId = ""
let volumeUuid = ""

beforeAll(async () => {
  started = startApp({ config: fixtureConfig(), offer: defaultOffer(), journalPath: null })
  const app = started.app
  const headers = { "x-auth-token": tokens.acme, "content-type": "application/json" }
  const created = await app.inject({ method: "POST", url: "/v2/acme/servers", headers,
    payload: { server: { name: "fuzz", flavorRef: "m1.small", "os-pmem:device": "DRAM" } } })
  serverId = created.json().server.id
  await app.inject({ method: "POST", url: `/v2.1/acme/servers/${serverId}/action`, headers,
    payload: { "add-pmem-vol": [{ name: "keep", size: 64, device: "DRAM" }] } })
  const shown = await app.inject({ method: "GET", url: `/v2/acme/servers/${serverId}`, headers })
  volumeUuid = shown.json().server["os-pmem:volumes"][0].volume_uuid
  await app.inject({ method: "POST", url: `/vm/${serverId}/replica/r1`,
    headers: { ...headers, "x-auth-token": tokens.admin },
    payload: { node: "az1-r02-compute-01" } })
})
afterAll(async () => {
  await started.app.close()
})

type Kind = "string" | "int" | "bool"
interface Target {
  readonly method: "POST" | "PUT"
  readonly url: () => string
  readonly token: string
  readonly valid: () => Record<string, unknown>
  /** Leaves of `valid` by path with their kind (a wrong type there is always refused). */
  readonly leaves: ReadonlyArray<{ path: ReadonlyArray<string | number>; kind: Kind }>
}

const targets: ReadonlyArray<Target> = [
  { method: "POST", url: () => "/v2/acme/servers", token: tokens.acme,
    valid: () => ({ server: { name: "ok", flavorRef: "m1.small" } }),
    leaves: [{ path: ["server", "name"], kind: "string" },
      { path: ["server", "flavorRef"], kind: "string" }] },
  { method: "POST", url: () => `/v2.1/acme/servers/${serverId}/action`, token: tokens.acme,
    valid: () => ({ "add-pmem-vol": [{ name: "v", size: 1024, affinity: true, device: "DRAM" }] }),
    leaves: [{ path: ["add-pmem-vol", 0, "name"], kind: "string" },
      { path: ["add-pmem-vol", 0, "size"], kind: "int" },
      { path: ["add-pmem-vol", 0, "device"], kind: "string" }] },
  { method: "POST", url: () => `/v2.1/acme/servers/${serverId}/action`, token: tokens.acme,
    valid: () => ({ "del-pmem-vol": [{ volume_uuid: volumeUuid }] }),
    leaves: [{ path: ["del-pmem-vol", 0, "volume_uuid"], kind: "string" }] },
  { method: "POST", url: () => "/v2/acme/vclusters", token: tokens.acme,
    valid: () => ({ vcluster: { name: "c", instances: [{ name: "s", type: "server",
      spec: { imageRef: "i", flavorRef: "m1.small" } }] } }),
    leaves: [{ path: ["vcluster", "name"], kind: "string" },
      { path: ["vcluster", "instances", 0, "name"], kind: "string" },
      { path: ["vcluster", "instances", 0, "spec", "flavorRef"], kind: "string" }] },
  { method: "POST", url: () => "/guests", token: tokens.admin,
    valid: () => ({ guest: { userid: "FUZZ1", vcpus: 1, memory: 512 } }),
    leaves: [{ path: ["guest", "userid"], kind: "string" },
      { path: ["guest", "vcpus"], kind: "int" },
      { path: ["guest", "memory"], kind: "int" }] },
  { method: "PUT", url: () => `/vm/${serverId}/replica/r1`, token: tokens.admin,
    valid: () => ({ sleep_time: 5, enabled: true }),
    leaves: [{ path: ["sleep_time"], kind: "int" }, { path: ["enabled"], kind: "bool" }] },
]

const wrongFor: Record<Kind, fc.Arbitrary<unknown>> = {
  string: fc.oneof(fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.string(),
    { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 2 })),
  int: fc.oneof(fc.constantFrom(-1, 0.5, 1e308, -1e308, 2 ** 53, 2 ** 31), fc.string(),
    fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 2 })),
  bool: fc.oneof(fc.integer(),
    fc.string({ maxLength: 3 }).filter((s) => !/^(true|false)$/i.test(s)),
    fc.constant(null), fc.dictionary(fc.string({ maxLength: 3 }), fc.boolean(), { maxKeys: 2 })),
}

function setAt(doc: Record<string, unknown>, path: ReadonlyArray<string | number>,
  value: unknown): Record<string, unknown> {
  let at: any = doc
  for (const key of path.slice(0, -1)) at = at[key]
  at[path[path.length - 1]!] = value
  return doc
}

/** A body text that must be refused, built from a valid body by one hostile change. */
function hostile(t: Target): fc.Arbitrary<string> {
  const leaf = fc.constantFrom(...t.leaves)
  const text = JSON.stringify(t.valid())
  return fc.oneof(
    leaf.chain((l) => wrongFor[l.kind].map((v) => JSON.stringify(setAt(t.valid(), l.path, v)))),
    fc.tuple(leaf, fc.string({ minLength: 1, maxLength: 8 }).filter((k) => !["name", "size",
      "affinity", "device", "volume_uuid", "sleep_time", "enabled", "bwlimit", "reserve_resources",
      "flavorRef", "imageRef", "availability_zone", "pci_requests", "type", "spec", "instances",
      "groupings", "policy", "userid", "vcpus", "memory", "disk_list", "user_profile"]
      .includes(k)))
      .map(([l, key]) => {
        const doc = t.valid()
        let at: any = doc
        for (const k of l.path.slice(0, -1)) at = at[k]
        at[key] = 1
        return JSON.stringify(doc)
      }),
    fc.tuple(fc.constantFrom("__proto__", "constructor", "prototype"),
      fc.jsonValue({ maxDepth: 2 }))
      .map(([key, v]) => text.replace("{", `{${JSON.stringify(key)}: ${JSON.stringify(v)}, `)),
    fc.tuple(leaf, fc.integer({ min: 33, max: 200 })).map(([l, depth]) =>
      JSON.stringify(setAt(t.valid(), l.path, "@@")).replace('"@@"',
        "[".repeat(depth) + "1" + "]".repeat(depth))),
    fc.integer({ min: 1, max: text.length - 1 }).map((cut) => text.slice(0, cut)),
    fc.jsonValue({ maxDepth: 3 }).filter((v) => typeof v !== "object" || v === null ||
      Array.isArray(v)).map((v) => JSON.stringify(v)),
  )
}

describe("hostile bodies", () => {
  it("are refused with 4xx, never 5xx, and leave the state unchanged", async () => {
    const cases = fc.constantFrom(...targets).chain((t) => hostile(t).map((body) => ({ t, body })))
    await fc.assert(fc.asyncProperty(cases, async ({ t, body }) => {
      const world = started.engine.world()
      const seq = started.engine.seq()
      const r = await started.app.inject({ method: t.method, url: t.url(), payload: body,
        headers: { "x-auth-token": t.token, "content-type": "application/json" } })
      expect(r.statusCode, `${r.statusCode} ${r.body} for ${body}`).toBeGreaterThanOrEqual(400)
      expect(r.statusCode, r.body).toBeLessThan(500)
      expect(started.engine.world()).toBe(world)
      expect(started.engine.seq()).toBe(seq)
      expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined()
      expect(Object.keys(Object.prototype)).toEqual([])
    }))
  })
  it("the valid bodies the generator starts from are accepted (so it can fail)", async () => {
    for (const t of targets.slice(0, 4)) {
      const r = await started.app.inject({ method: t.method, url: t.url(), payload: t.valid(),
        headers: { "x-auth-token": t.token, "content-type": "application/json" } })
      expect(r.statusCode, r.body).toBeLessThan(300)
    }
  })
})
