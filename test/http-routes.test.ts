// Every route of the seeds through real HTTP on a loopback port, with the seeds' example bodies.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type App, startApp } from "../adapters/http/app.ts"
import { defaultOffer, fixtureConfig, tokens } from "../adapters/http/fixtures.ts"

let started: App
let base = ""

beforeAll(async () => {
  // The vcluster seed's flavorRef, as a flavor of this server.
  const offer = defaultOffer()
  const flavors = { ...offer.flavors, "123-456-789": { vcpus: 2, ramMb: 4096, diskGb: 20 } }
  started = startApp({ config: fixtureConfig(4096), offer: { ...offer, flavors },
    journalPath: null })
  base = await started.app.listen({ port: 0, host: "127.0.0.1" })
})
afterAll(async () => {
  await started.app.close()
})

type Token = keyof typeof tokens
async function call(method: string, path: string, who: Token | null, body?: unknown | string) {
  const headers: Record<string, string> = {}
  if (who !== null) headers["x-auth-token"] = tokens[who]
  if (body !== undefined) headers["content-type"] = "application/json"
  const response = await fetch(base + path, { method, headers,
    ...(body === undefined ? {}
      : { body: typeof body === "string" ? body : JSON.stringify(body) }) })
  const text = await response.text()
  return { status: response.status, json: text === "" ? undefined : JSON.parse(text) as any }
}

async function newServer(name: string, extra: Record<string, unknown> = {}, who: Token = "acme") {
  const tenant = who === "admin" ? "ops" : who
  const r = await call("POST", `/v2/${tenant}/servers`, who,
    { server: { name, flavorRef: "m1.small", ...extra } })
  expect(r.status).toBe(202)
  return r.json.server.id as string
}

describe("service routes", () => {
  it("/healthz answers without a token", async () => {
    expect(await call("GET", "/healthz", null)).toEqual({ status: 200, json: { status: "ok" } })
  })
  it("no token is 401, an unknown one too, as an OpenStack fault", async () => {
    const r = await call("GET", "/v2/acme/servers", null)
    expect(r).toEqual({ status: 401, json: { unauthorized: { code: 401,
      message: "X-Auth-Token is required" } } })
    const res = await fetch(base + "/v2/acme/servers", { headers: { "x-auth-token": "nope" } })
    expect(res.status).toBe(401)
  })
  it("a body over the limit is 413 overLimit", async () => {
    const r = await call("POST", "/v2/acme/servers", "acme", { server: { name: "x".repeat(5000) } })
    expect(r.status).toBe(413)
    expect(r.json.overLimit.code).toBe(413)
  })
  it("malformed JSON is 400 saying where it broke; an unknown field is 400 naming it", async () => {
    const bad = await call("POST", "/v2/acme/servers", "acme", '{"server": {"name": "a",}}')
    expect(bad.status).toBe(400)
    expect(bad.json.badRequest.message).toMatch(/^body is not valid JSON at line 1, column 25 /)
    const extra = await call("POST", "/v2/acme/servers", "acme",
      { server: { name: "a", flavorRef: "m1.small", colour: "red" } })
    expect(extra.status).toBe(400)
    expect(extra.json.badRequest.message).toMatch(/^server\.colour:/)
  })
  it("an unknown route is 404 itemNotFound", async () => {
    expect((await call("GET", "/v2/acme/nothing-here", "acme")).status).toBe(404)
  })
})

describe("servers and hypervisors", () => {
  it("create, show, list and delete a server", async () => {
    const id = await newServer("web-1")
    const shown = await call("GET", `/v2/acme/servers/${id}`, "acme")
    expect(shown.status).toBe(200)
    expect(shown.json.server).toMatchObject({ id, name: "web-1", tenant_id: "acme",
      "os-pci:pci_devices": [], "os-pmem:volumes": [] })
    const listed = await call("GET", "/v2/acme/servers", "acme")
    expect(listed.json.servers).toContainEqual({ id, name: "web-1" })
    expect((await call("DELETE", `/v2/acme/servers/${id}`, "acme")).status).toBe(204)
    expect((await call("GET", `/v2/acme/servers/${id}`, "acme")).status).toBe(404)
    expect((await call("DELETE", `/v2/acme/servers/${id}`, "acme")).status).toBe(404)
  })
  it("an unknown flavor is 400 at server.flavorRef; no capacity is 409", async () => {
    const r = await call("POST", "/v2/acme/servers", "acme",
      { server: { name: "a", flavorRef: "x" } })
    expect(r.status).toBe(400)
    expect(r.json.badRequest.message).toMatch(/^server\.flavorRef: one of the flavors/)
    const many = await call("POST", "/v2/acme/servers", "acme", { server: { name: "gpu",
      flavorRef: "m1.small", pci_requests: [{ alias: "a100", count: 3 }] } })
    expect(many.status).toBe(409)
    expect(many.json.conflictingRequest.code).toBe(409)
    expect(many.json.conflictingRequest.message).toMatch(/^No valid host was found/)
  })
  it("lists hypervisors and shows one with pci_stats (admin)", async () => {
    const list = await call("GET", "/v2/ops/os-hypervisors", "admin")
    expect(list.status).toBe(200)
    expect(list.json.hypervisors).toHaveLength(64)
    const gpu = await call("GET", "/v2/ops/os-hypervisors/az1-r01-gpu-01", "admin")
    expect(gpu.json.hypervisor.pci_stats).toEqual([
      { count: 1, vendor_id: "10de", product_id: "20b0", numa_node: 0, dev_type: "type-PCI",
        extra_info: {} },
      { count: 1, vendor_id: "10de", product_id: "20b0", numa_node: 1, dev_type: "type-PCI",
        extra_info: {} },
    ])
    expect((await call("GET", "/v2/ops/os-hypervisors/nope", "admin")).status).toBe(404)
  })
})

describe("PCI (seed pci-api)", () => {
  it("a server with a PCI request shows os-pci:pci_devices; pci_stats drop by one", async () => {
    const detailPath = "/v2/ops/os-pci/detail?host=az1-r01-gpu-01"
    const statuses = async () => ((await call("GET", detailPath, "admin")).json.pci_devices as
      Array<{ status: string }>).map((d) => d.status)
    expect(await statuses()).toEqual(["available", "available"]) // rendered and cached
    const id = await newServer("gpu-1", { pci_requests: [{ alias: "a100", count: 1 }] })
    expect(await statuses()).toEqual(["allocated", "available"]) // a new state, a new rendering
    const shown = await call("GET", `/v2/acme/servers/${id}`, "acme")
    const devices = shown.json.server["os-pci:pci_devices"] as Array<{ id: number }>
    expect(devices).toHaveLength(1)
    const device = await call("GET", `/v2/ops/os-pci/${devices[0]!.id}`, "admin")
    expect(device.json.pci_device).toMatchObject({ instance_uuid: id, status: "allocated",
      vendor_id: "10de", product_id: "20b0", dev_type: "type-PCI" })
    const stats = await call("GET", "/v2/ops/os-hypervisors/az1-r01-gpu-01", "admin")
    expect(stats.json.hypervisor.pci_stats.map((s: { count: number }) => s.count)).toEqual([1])
    await call("DELETE", `/v2/acme/servers/${id}`, "acme")
    const after = await call("GET", `/v2/ops/os-pci/${devices[0]!.id}`, "admin")
    expect(after.json.pci_device).toMatchObject({ instance_uuid: null, status: "available" })
  })
  it("os-pci lists summaries, os-pci/detail the seed's detail fields", async () => {
    const list = await call("GET", "/v2/ops/os-pci?host=az1-r01-nfv-01", "admin")
    expect(Object.keys(list.json.pci_devices[0]).sort()).toEqual(["address", "compute_node_id",
      "id", "product_id", "status", "vendor_id"])
    const detail = await call("GET", "/v2/ops/os-pci/detail", "admin")
    expect(Object.keys(detail.json.pci_devices[0]).sort()).toEqual(["address", "compute_node_id",
      "created_at", "deleted", "deleted_at", "dev_id", "dev_type", "extra_info", "id",
      "instance_uuid", "label", "product_id", "status", "updated_at", "vendor_id"])
    expect((await call("GET", "/v2/ops/os-pci/999999", "admin")).status).toBe(404)
    expect((await call("GET", "/v2/ops/os-pci/abc", "admin")).status).toBe(400)
  })
})

const seedAdd = `{
   "add-pmem-vol":[
      {
         "name":”pmem volume1”,
         "size":1024,
         "affinity":"True",
         "device":"”DRAM”"
      },
      {
         "name":”pmem volume2”,
         "size":1024,
         "affinity":"True",
         "device":"”DRAM”"
      }
   ]`

describe("pmem (seed pmem-volume-api)", () => {
  it("the seed's add example as written (no closing brace) is 400; repaired, 202", async () => {
    const id = await newServer("pmem-1", { "os-pmem:device": "DRAM" })
    const path = `/v2.1/acme/servers/${id}/action`
    expect((await call("POST", path, "acme", seedAdd)).status).toBe(400)
    const added = await call("POST", path, "acme", seedAdd + "\n}")
    expect(added).toEqual({ status: 202, json: undefined })
    const shown = await call("GET", `/v2/acme/servers/${id}`, "acme")
    const volumes = shown.json.server["os-pmem:volumes"] as Array<{ volume_uuid: string }>
    expect(volumes.map((v: any) => [v.name, v.size, v.device])).toEqual([
      ["pmem volume1", 1024, "DRAM"], ["pmem volume2", 1024, "DRAM"]])
    // The seed's delete example, with its typographic quotes, naming a real volume.
    const del = `{ “del-pmem-vol”:[{"volume_uuid":"${volumes[0]!.volume_uuid}"}]}`
    expect((await call("POST", path, "acme", del)).status).toBe(202)
    const again = await call("GET", `/v2/acme/servers/${id}`, "acme")
    expect(again.json.server["os-pmem:volumes"]).toHaveLength(1)
    // As written ("uuid" is no uuid): 400 naming the field.
    const asWritten = await call("POST", path, "acme",
      '{ “del-pmem-vol”:[{"volume_uuid":"uuid"}]}')
    expect(asWritten.status).toBe(400)
    expect(asWritten.json.badRequest.message).toMatch(/del-pmem-vol\[0\]\.volume_uuid/)
  })
  it("a duplicate name is refused and nothing is added; an unknown volume is 404", async () => {
    const id = await newServer("pmem-2", { "os-pmem:device": "NVDIMM0" })
    const path = `/v2.1/acme/servers/${id}/action`
    const vol = { name: "v", size: 2048, affinity: false, device: "NVDIMM0" }
    expect((await call("POST", path, "acme", { "add-pmem-vol": [vol] })).status).toBe(202)
    const dup = await call("POST", path, "acme", { "add-pmem-vol": [{ ...vol, name: "w" }, vol] })
    expect(dup.status).toBe(409)
    const shown = await call("GET", `/v2/acme/servers/${id}`, "acme")
    expect(shown.json.server["os-pmem:volumes"]).toHaveLength(1)
    const gone = await call("POST", path, "acme",
      { "del-pmem-vol": [{ volume_uuid: "00000000-0000-0000-0000-000000000000" }] })
    expect(gone.status).toBe(404)
    expect((await call("POST", `/v2.1/acme/servers/nope/action`, "acme",
      { "add-pmem-vol": [vol] })).status).toBe(404)
  })
})

describe("replicas (seed vm-replica-api)", () => {
  it("create, list, show, update, failover, reinit, delete, with the seed's status codes",
    async () => {
      const id = await newServer("db-1")
      const vm = `/vm/${id}/replica`
      expect((await call("GET", vm, "admin")).json).toEqual({ replicas: [] })
      const created = await call("POST", `${vm}/rep1`, "admin",
        { node: "az1-r02-compute-01", sleep_time: 30, bwlimit: 1_000_000 })
      expect(created.status).toBe(201)
      expect(created.json.replica).toMatchObject({ repname: "rep1", node: "az1-r02-compute-01",
        sleep_time: 30, bwlimit: 1_000_000, enabled: true, status: "enabled" })
      expect((await call("POST", `${vm}/rep1`, "admin", { node: "az1-r02-compute-01" })).status)
        .toBe(406)
      expect((await call("POST", `${vm}/rep2`, "admin", { node: "az1-r02-compute-02" })).status)
        .toBe(409)
      expect((await call("GET", "/vm/db-1/replica", "admin")).json).toEqual({ replicas: ["rep1"] })
      expect((await call("GET", `${vm}/rep1`, "admin")).json.replica.repname).toBe("rep1")
      const updated = await call("PUT", `${vm}/rep1`, "admin", { enabled: false, sleep_time: 5 })
      expect(updated.json.replica).toMatchObject({ enabled: false, sleep_time: 5 })
      const failed = await call("PUT", `${vm}/rep1/failover`, "admin", { force: false })
      expect(failed.status).toBe(200)
      expect(failed.json.replica).toMatchObject({ reinit_required: true,
        master_node: "az1-r02-compute-01" })
      expect((await call("PUT", `${vm}/rep1`, "admin", { sleep_time: 9 })).status).toBe(428)
      expect((await call("DELETE", `/v2/acme/servers/${id}`, "acme")).status).toBe(409)
      const reinit = await call("PUT", `${vm}/rep1/reinit`, "admin")
      expect(reinit.json.replica).toMatchObject({ reinit_required: false })
      expect((await call("DELETE", `${vm}/rep1`, "admin")).status).toBe(200)
      expect((await call("GET", `${vm}/rep1`, "admin")).status).toBe(404)
      expect((await call("DELETE", `/v2/acme/servers/${id}`, "acme")).status).toBe(204)
    })
  it("a bad node is 400 naming node", async () => {
    const id = await newServer("db-2")
    const r = await call("POST", `/vm/${id}/replica/r`, "admin", { node: "nowhere" })
    expect(r.status).toBe(400)
    expect(r.json.badRequest.message).toMatch(/^node:/)
  })
})

/** The seed's use case 2, repaired into JSON as docs/vcluster.md does (arrays; group-4). */
const seedVcluster = {
  vcluster: {
    name: "new-virtual-cluster",
    instances: [
      { name: "db-server-1", type: "server", spec: { imageRef: "xxx-yyy-zzz",
        flavorRef: "123-456-789" } },
      { name: "db-vol-1", type: "volume", spec: { size: 10, volume_type: "" } },
      { name: "db-server-2", type: "server", spec: { imageRef: "xxx-yyy-zzz",
        flavorRef: "123-456-789" } },
      { name: "db-vol-2", type: "volume", spec: { size: 10, volume_type: "" } },
    ],
    groupings: [
      { name: "group-1", membersRef: ["db-server-1", "db-vol-1"], spec: { rule: "affinity" } },
      { name: "group-2", membersRef: ["db-server-2", "db-vol-2"], spec: { rule: "affinity" } },
      { name: "group-3", membersRef: ["db-server-1", "db-server-2"],
        spec: { rule: "anti-affinity" } },
      { name: "group-4", membersRef: ["db-vol-1", "db-vol-2"], spec: { rule: "anti-affinity" } },
    ],
  },
}

describe("vclusters (seed vcluster-api)", () => {
  it("create (POST …/vclusters/), show, delete; rules hold; other tenants get 404", async () => {
    const created = await call("POST", "/v2/acme/vclusters/", "acme", seedVcluster)
    expect(created.status).toBe(202)
    const id = created.json.vcluster.id as string
    const shown = await call("GET", `/v2/acme/vclusters/${id}`, "acme")
    expect(shown.status).toBe(200)
    const hostOf = new Map((shown.json.vcluster.instances as Array<{ name: string; host: string }>)
      .map((i) => [i.name, i.host]))
    expect(hostOf.get("db-vol-1")).toBe(hostOf.get("db-server-1"))
    expect(hostOf.get("db-server-1")).not.toBe(hostOf.get("db-server-2"))
    expect((await call("GET", `/v2/globex/vclusters/${id}`, "globex")).status).toBe(404)
    expect((await call("DELETE", `/v2/globex/vclusters/${id}`, "globex")).status).toBe(404)
    expect((await call("DELETE", `/v2/acme/vclusters/${id}`, "acme")).status).toBe(204)
    expect((await call("GET", `/v2/acme/vclusters/${id}`, "acme")).status).toBe(404)
  })
  it("the seed's text as written is 400; a dangling member is 400 with its path", async () => {
    const asWritten = '{ "vcluster" : { "name" : "new-virtual-cluster", "instances" : { ' +
      '"instance": { "name": "db-server-1" } "instance": {} } } }'
    expect((await call("POST", "/v2/acme/vclusters/", "acme", asWritten)).status).toBe(400)
    const dangling = structuredClone(seedVcluster)
    dangling.vcluster.groupings[0]!.membersRef = ["db-server-1", "nope"]
    const r = await call("POST", "/v2/acme/vclusters/", "acme", dangling)
    expect(r.status).toBe(400)
    expect(r.json.badRequest.message).toMatch(/vcluster\.groupings\[0\]\.membersRef\[1\]/)
  })
})

describe("z/VM connector (seed zvm-cloud-connector-api)", () => {
  const ok = (output: unknown) => ({ overallRC: 0, rc: 0, rs: 0, modID: null, errmsg: "", output })
  it("guest lifecycle: create, start, stop with timeout, info, disks, NIC, delete", async () => {
    const created = await call("POST", "/guests", "admin", { guest: { userid: "LINUX01",
      vcpus: 2, memory: 2048, disk_list: [{ size: "1g", is_boot_disk: true }] } })
    expect(created.status).toBe(201)
    expect(created.json.output[0]).toMatchObject({ vdev: "0100", disk_pool: "ECKD:POOL1" })
    expect((await call("GET", "/guests", "admin")).json).toEqual(ok(["LINUX01"]))
    expect((await call("POST", "/guests/LINUX01/action", "admin", { action: "start" })).json)
      .toEqual(ok(""))
    expect((await call("GET", "/guests/LINUX01/power_state", "admin")).json).toEqual(ok("on"))
    const stop = await call("POST", "/guests/LINUX01/action", "admin",
      { action: "stop", timeout: 300, poll_interval: 10 })
    expect(stop.json).toEqual(ok(""))
    expect((await call("GET", "/guests/LINUX01/power_state", "admin")).json).toEqual(ok("off"))
    const info = await call("GET", "/guests/LINUX01/info", "admin")
    expect(info.json.output).toMatchObject({ power_state: "off", max_mem_kb: 2048 * 1024,
      num_cpu: 2 })
    const disks = await call("POST", "/guests/LINUX01/disks", "admin",
      { disk_info: { disk_list: [{ size: "512M", disk_pool: "FBA:FBA1" }] } })
    expect(disks.json.output[0]).toMatchObject({ vdev: "0101", disk_pool: "FBA:FBA1" })
    expect((await call("DELETE", "/guests/LINUX01/disks", "admin",
      { vdev_info: { disk_vdev_list: ["0101"] } })).json).toEqual(ok(""))
    expect((await call("POST", "/guests/LINUX01/nic", "admin", { nic: { vdev: "1000" } })).json)
      .toEqual(ok("1000"))
    expect((await call("PUT", "/vswitches/VSW1/users/LINUX01", "admin")).status).toBe(200)
    expect((await call("PUT", "/guests/LINUX01/nic/1000", "admin",
      { info: { couple: true, vswitch: "VSW1" } })).status).toBe(200)
    expect((await call("GET", "/guests/LINUX01/nic", "admin")).json).toEqual(ok({ 1000: "VSW1" }))
    expect((await call("GET", "/guests/LINUX01", "admin")).json.output.user_direct)
      .toContain("NICDEF 1000 TYPE QDIO DEVICES 3 LAN SYSTEM VSW1")
    expect((await call("DELETE", "/guests/LINUX01", "admin")).json).toEqual(ok(""))
    expect((await call("GET", "/guests", "admin")).json).toEqual(ok([]))
  })
  it("host, disk pool, vswitches and images", async () => {
    const host = await call("GET", "/host", "admin")
    expect(host.json.output).toMatchObject({ vcpus: 32, memory_mb: 131072, zvm_host: "zvm1" })
    const pool = await call("GET", "/host/diskpool?poolname=FBA:FBA1", "admin")
    expect(pool.json.output).toEqual({ disk_total: 256, disk_used: 0, disk_available: 256 })
    expect((await call("GET", "/vswitches", "admin")).json).toEqual(ok(["VSW1", "VSW2"]))
    expect((await call("GET", "/images", "admin")).json).toEqual(ok([]))
  })
  it("failures carry the connector's fields", async () => {
    const bad = await call("POST", "/guests", "admin", { guest: { userid: "WAYTOOLONG", vcpus: 2,
      memory: 2048 } })
    expect(bad.status).toBe(400)
    expect(bad.json).toMatchObject({ overallRC: 100, rc: 100, rs: 3, modID: 400, output: "" })
    expect(bad.json.errmsg).toMatch(/^userid:/)
    const missing = await call("GET", "/guests/NOBODY/info", "admin")
    expect(missing.status).toBe(404)
    expect(missing.json).toMatchObject({ overallRC: 404, rc: 404, rs: 1, modID: 10 })
    const envelope = await call("POST", "/guests", "admin", { userid: "X" })
    expect(envelope.json.errmsg).toMatch(/^guest:/)
    const action = await call("POST", "/guests/NOBODY/action", "admin", { action: "fly" })
    expect(action.status).toBe(400)
  })
})

describe("server create through the placement solver (a fresh server)", () => {
  let solo: App
  beforeAll(() => {
    solo = startApp({ config: fixtureConfig(), offer: defaultOffer(), journalPath: null })
  })
  afterAll(async () => {
    await solo.app.close()
  })
  const inject = async (method: "GET" | "POST", url: string, who: Token, payload?: unknown) => {
    const r = await solo.app.inject({ method, url, headers: { "x-auth-token": tokens[who] },
      ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) })
    return { status: r.statusCode, json: r.body === "" ? undefined : JSON.parse(r.body) as any }
  }
  const create = (server: Record<string, unknown>) =>
    inject("POST", "/v2/acme/servers", "acme", { server: { flavorRef: "m1.small", ...server } })
  const hostOf = async (id: string): Promise<string> =>
    (await inject("GET", `/v2/acme/servers/${id}`, "admin")).json.server["OS-EXT-SRV-ATTR:host"]
  const hypervisor = async (host: string) =>
    (await inject("GET", `/v2/ops/os-hypervisors/${host}`, "admin")).json.hypervisor

  it("zone and pmem device are the solver's filters; pack joins the most used host", async () => {
    const inAz2 = await create({ name: "in-az2", availability_zone: "az2" })
    expect(inAz2.status).toBe(202)
    const az2Host = await hostOf(inAz2.json.server.id)
    expect((await hypervisor(az2Host)).zone).toBe("az2")
    // No zone asked: the pack policy puts it beside the first (first fit in inventory order
    // would have taken az1's first host), and the special-hardware weigher keeps it off GPU,
    // NFV and pmem hosts.
    const plain = await create({ name: "plain" })
    expect(await hostOf(plain.json.server.id)).toBe(az2Host)
    expect(az2Host).toMatch(/-compute-/)
    const nv = await create({ name: "nv", availability_zone: "az2", "os-pmem:device": "NVDIMM1" })
    expect(nv.status).toBe(202)
    const nvHost = await hypervisor(await hostOf(nv.json.server.id))
    expect(nvHost.zone).toBe("az2")
    expect(nvHost.pmem_devices.map((d: { device: string }) => d.device)).toContain("NVDIMM1")
  })

  it("an unknown zone or pmem device is 400 naming the field; nothing is created", async () => {
    const before = (await inject("GET", "/v2/acme/servers", "acme")).json.servers.length
    const zone = await create({ name: "z", availability_zone: "az9" })
    expect(zone.status).toBe(400)
    expect(zone.json.badRequest.message)
      .toMatch(/^server\.availability_zone: one of the zones \(az1, az2\)/)
    const device = await create({ name: "d", "os-pmem:device": "NVDIMM7" })
    expect(device.status).toBe(400)
    expect(device.json.badRequest.message).toMatch(/^server\.os-pmem:device:/)
    expect((await inject("GET", "/v2/acme/servers", "acme")).json.servers).toHaveLength(before)
  })

  it("when the devices run out the solver's NoValidHost is 409 naming the filter", async () => {
    // 8 GPU hosts with two A100 each: 8 servers asking for two fit, the 9th finds no host.
    for (let i = 0; i < 8; i++) {
      expect((await create({ name: `gpu-${i}`, pci_requests: [{ alias: "a100", count: 2 }] }))
        .status).toBe(202)
    }
    const r = await create({ name: "gpu-8", pci_requests: [{ alias: "a100", count: 2 }] })
    expect(r.status).toBe(409)
    expect(r.json.conflictingRequest.message).toMatch(new RegExp("^No valid host was found " +
      "for [0-9a-f-]{36} \\(unschedulable, PciFilter\\)\\. PciFilter returned 0 of 64 hosts\\."))
  })
})
