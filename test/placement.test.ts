import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { type ClusterState, createServer, usageAt, usageList } from "../core/cluster/index.ts"
import {
  filterNames,
  type NoValidHost,
  noValidHostFault,
  placeGang,
  placeOne,
  type PlacementRequest,
  rejectionReasons,
  schedule,
} from "../core/placement/index.ts"
import { host } from "./builders.ts"
import { clusterOf, placed, server, type ServerBuilder, volume, withGroups }
  from "./placement-builders.ts"

function hostOf(state: ClusterState, s: ServerBuilder, policy: "pack" | "spread" = "pack") {
  const r = placeOne(state, s.instance(), { policy })
  if (Result.isFailure(r)) throw new Error(r.failure.message)
  return r.success.host
}

function rejected(state: ClusterState, request: PlacementRequest): NoValidHost {
  const r = placeGang(state, request)
  if (Result.isSuccess(r)) throw new Error(`expected a rejection, got ${JSON.stringify(r.success)}`)
  if (r.failure._tag !== "NoValidHost") throw new Error(r.failure.message)
  return r.failure
}

function hostsOf(state: ClusterState, request: PlacementRequest): string[] {
  const r = placeGang(state, request)
  if (Result.isFailure(r)) throw new Error(r.failure.message)
  return r.success.placements.map((p) => p.host)
}

describe("filters: each removes the hosts it should, and says so", () => {
  const cases: Array<[string, ClusterState, ServerBuilder, string]> = [
    ["HostStatusFilter", clusterOf(host("h1").status("down"), host("h2").status("maintenance")),
      server("a"), filterNames.hostStatus],
    ["VcpuFilter", clusterOf(host("h1").cpus(2)), server("a").cpus(3), filterNames.vcpu],
    ["VcpuFilter with a ratio", clusterOf(host("h1").cpus(2).ratios(2, 1)), server("a").cpus(5),
      filterNames.vcpu],
    ["RamFilter", clusterOf(host("h1").ram(1024)), server("a").ram(2048), filterNames.ram],
    ["DiskPoolFilter by size", clusterOf(host("h1").diskPool("p", 100)), server("a").disk(101),
      filterNames.diskPool],
    ["DiskPoolFilter by kind", clusterOf(host("h1").diskPool("ECKD:P1", 1000)),
      server("a").disk(10, { kind: "FBA" }), filterNames.diskPool],
    ["DiskPoolFilter by name", clusterOf(host("h1").diskPool("ECKD:P1", 1000)),
      server("a").disk(10, { pool: "ECKD:P2" }), filterNames.diskPool],
    ["NumaFitFilter", clusterOf(host("h1").cpus(8).ram(8192)
      .numa({ id: 0, cpus: 4, ramMb: 4096 }, { id: 1, cpus: 4, ramMb: 4096 })),
    server("a").cpus(6).ram(2048).numa(1), filterNames.numa],
  ]
  it.each(cases)("%s", (_, state, s, filter) => {
    const e = rejected(state, { instances: [s.instance()] })
    expect(e.reason).toBe(filter)
    expect(e.code).toBe(filter === filterNames.hostStatus ? "unschedulable" : "unresolvable")
    const count = e.filters.find((f) => f.filter === filter)!
    expect(count.hostsOut).toBe(0)
    expect(count.hostsIn).toBeGreaterThan(0)
    expect(e.message).toContain(`${filter} returned 0 of`)
  })

  it("counts hosts per filter in order, Nova-style", () => {
    const state = clusterOf(host("h1").status("down"), host("h2").cpus(1), host("h3").ram(512),
      host("h4"), host("h5"))
    const r = placeOne(state, server("a").cpus(2).instance())
    if (Result.isFailure(r)) throw r.failure
    expect(r.success.host).toBe("h4")
    const e = rejected(state, { instances: [server("a").cpus(2).ram(100_000).instance()] })
    expect(e.filters.slice(0, 4)).toEqual([
      { filter: filterNames.hostStatus, hostsIn: 5, hostsOut: 4 },
      { filter: filterNames.availabilityZone, hostsIn: 4, hostsOut: 4 },
      { filter: filterNames.vcpu, hostsIn: 4, hostsOut: 3 },
      { filter: filterNames.ram, hostsIn: 3, hostsOut: 0 },
    ])
    expect(e.code).toBe("unresolvable")
  })

  it("RAM full now but not when empty: unschedulable", () => {
    const state = placed(clusterOf(host("h1").ram(4096)), server("x").ram(4096))
    const e = rejected(state, { instances: [server("a").ram(1024).instance()] })
    expect(e).toMatchObject({ code: "unschedulable", reason: filterNames.ram })
    expect(noValidHostFault(e).conflictingRequest.code).toBe(409)
  })

  it("a volume lands on a host with a pool of its type", () => {
    const state = clusterOf(host("h1").diskPool("ECKD:A", 100), host("h2").diskPool("FBA:B", 100))
    expect(hostOf(state, volume("v", 50, { kind: "FBA" }))).toBe("h2")
  })
})

describe("group filters", () => {
  const racks = () => clusterOf(host("a1").rack("r1"), host("a2").rack("r1"),
    host("b1").rack("r2"), host("b2").rack("r2"))

  it("affinity follows the members already placed, at its scope", () => {
    const s = withGroups(racks(), { id: "g", rule: "affinity", scope: "rack" })
    const s1 = placed(s, server("x").groups("g").cpus(16))
    expect(usageAt(s1, 0).vcpusUsed).toBe(16)
    expect(hostOf(s1, server("y").groups("g"))).toBe("a2")
  })

  it("anti-affinity with maxPerDomain counts members per domain", () => {
    const s = withGroups(racks(), { id: "g", rule: "anti-affinity", scope: "rack", maxPerDomain: 2 })
    const hosts = hostsOf(s, { instances: ["p", "q", "r", "t"].map((n) => server(n).groups("g")
      .instance()) })
    const perRack = new Map<string, number>()
    for (const h of hosts) perRack.set(h[0]!, (perRack.get(h[0]!) ?? 0) + 1)
    expect([...perRack.values()]).toEqual([2, 2])
    const e = rejected(s, { instances: ["p", "q", "r", "t", "u"].map((n) => server(n).groups("g")
      .instance()) })
    expect(e).toMatchObject({ code: "unresolvable", reason: filterNames.antiAffinity })
  })

  it("anti-affinity across 3 racks in a 2-rack cluster is unresolvable", () => {
    const s = withGroups(racks(), { id: "g", rule: "anti-affinity", scope: "rack" })
    const e = rejected(s, { instances: ["p", "q", "r"].map((n) => server(n).groups("g").instance()) })
    expect(e.code).toBe("unresolvable")
    expect(e.reason).toBe(filterNames.antiAffinity)
    expect(e.detail).toMatch(/can hold 2 members in 2 racks; it would have 3/)
  })

  it("contradictory hard rules among the request's members are unresolvable at once", () => {
    const e = rejected(racks(), {
      groups: [{ id: "near", rule: "affinity" }, { id: "far", rule: "anti-affinity", scope: "rack" }],
      instances: [server("p").groups("near", "far").instance(),
        server("q").groups("near", "far").instance()],
    })
    expect(e).toMatchObject({ code: "unresolvable", reason: rejectionReasons.contradictoryRules })
    expect(e.detail).toMatch(/p, q/)
  })
})

describe("weighers", () => {
  const two = () => clusterOf(host("h1").cpus(8), host("h2").cpus(8))
  it("pack fills the fuller host; spread the emptier; ties go to the lowest index", () => {
    const s = placed(two(), server("x").cpus(4))
    expect(usageAt(s, 0).vcpusUsed).toBe(4)
    expect(hostOf(s, server("a"), "pack")).toBe("h1")
    expect(hostOf(s, server("a"), "spread")).toBe("h2")
    expect(hostOf(two(), server("a"), "spread")).toBe("h1")
  })

  it("soft affinity pulls towards members; soft anti-affinity pushes away", () => {
    const s0 = withGroups(two(), { id: "sa", rule: "soft-affinity" },
      { id: "sn", rule: "soft-anti-affinity" })
    const s1 = placed(s0, server("x").groups("sa"), server("y").groups("sn"))
    expect(usageAt(s1, 0).instanceCount).toBe(2)
    const spread = placed(two(), server("z").cpus(1))
    const s2 = placed(withGroups(spread, { id: "sa", rule: "soft-affinity" }),
      server("w").groups("sa").cpus(1))
    expect(hostOf(s2, server("a").groups("sa"), "spread")).toBe("h1")
    // pack and soft anti-affinity pull equally hard (1.0 each, Nova's default): a tie, lowest
    // index; with the soft rule weighted 2 it wins.
    expect(hostOf(s1, server("b").groups("sn"), "pack")).toBe("h1")
    const heavier = placeOne(s1, server("b").groups("sn").instance(),
      { weights: { policy: 1, softAffinity: 1, softAntiAffinity: 2, specialHardware: 0 } })
    expect(Result.isSuccess(heavier) && heavier.success.host).toBe("h2")
  })

  it("soft rules never reject", () => {
    const s = withGroups(clusterOf(host("h1")), { id: "sn", rule: "soft-anti-affinity" })
    expect(hostsOf(s, { instances: ["a", "b", "c"].map((n) => server(n).groups("sn").instance()) }))
      .toEqual(["h1", "h1", "h1"])
  })
})

describe("gangs", () => {
  it("are all or nothing: schedule commits every member or none", () => {
    const s = clusterOf(host("h1").cpus(4), host("h2").cpus(4))
    const ok = schedule(s, { servers: [server("a").cpus(4).build(), server("b").cpus(4).build()] })
    if (Result.isFailure(ok)) throw ok.failure
    expect(ok.success.servers.map((x) => x.host).sort()).toEqual(["h1", "h2"])
    const no = schedule(s, { servers: ["a", "b", "c"].map((n) => server(n).cpus(4).build()) })
    expect(Result.isFailure(no)).toBe(true)
  })

  it("backtrack when the greedy choice blocks a later member", () => {
    // pack puts the small one on the fuller host, which the big one then needs; the search
    // must undo that to fit both.
    const s = placed(clusterOf(host("h1").cpus(8), host("h2").cpus(8)), server("x").cpus(4))
    const hosts = hostsOf(s, { groups: [{ id: "g", rule: "anti-affinity" }], instances: [
      server("small").cpus(2).groups("g").instance(), server("big").cpus(6).groups("g").instance()] })
    expect(hosts).toEqual(["h1", "h2"])
  })

  it("collapse host-scope affinity: a server and its volume land together", () => {
    const s = clusterOf(host("h1").diskPool("ECKD:A", 100), host("h2").diskPool("ECKD:B", 1000))
    const hosts = hostsOf(s, { groups: [{ id: "g", rule: "affinity" }], instances: [
      server("db").groups("g").instance(), volume("vol", 500, { kind: "ECKD" }).groups("g")
        .instance()] })
    expect(hosts).toEqual(["h2", "h2"])
  })

  it("reject bad requests with paths", () => {
    const s = clusterOf(host("h1"))
    const r = placeGang(s, { instances: [server("a").cpus(-1).instance(), server("a").instance()] })
    if (Result.isSuccess(r) || r.failure._tag !== "BadRequest") throw new Error("expected BadRequest")
    expect(r.failure.issues!.map((i) => i.path)).toEqual(["instances[0].vcpus", "instances[1].name"])
  })

  it("report a budget that ran out as such", () => {
    const s = withGroups(clusterOf(...["a", "b", "c", "d"].map((n) => host(n))),
      { id: "g", rule: "anti-affinity" })
    const e = rejected(s, { nodeBudget: 2,
      instances: ["p", "q", "r", "t"].map((n) => server(n).groups("g").instance()) })
    expect(e).toMatchObject({ code: "unschedulable", reason: rejectionReasons.nodeBudgetExhausted })
  })
})

describe("device filters (through corral/pci and corral/pmem)", () => {
  const vf = { count: 2, spec: [{ vendor_id: "8086", product_id: "1520" }] }
  const withPci = (s: ServerBuilder) => ({ ...s.instance(), pci: [vf] })
  const withPmem = (s: ServerBuilder, sizeMb: number, device = "NVDIMM0") =>
    ({ ...s.instance(), pmem: [{ name: "v0", sizeMb, affinity: false, device }] })

  it("PciFilter keeps hosts with enough free matching devices; the claim commits and frees", () => {
    const state = clusterOf(host("plain"), host("nic").sriov(4, 3))
    const r = placeOne(state, withPci(server("a")))
    expect(Result.isSuccess(r) && r.success.host).toBe("nic")
    const s1 = schedule(state, { servers: [{ ...server("a").build(), pci: [vf] }] })
    if (Result.isFailure(s1)) throw s1.failure
    expect(s1.success.servers[0]!.pciDevices).toHaveLength(2)
    const e = rejected(s1.success.state, { instances: [withPci(server("b"))] })
    expect(e).toMatchObject({ code: "unschedulable", reason: filterNames.pci })
    expect(e.filters.find((f) => f.filter === filterNames.pci)).toEqual(
      { filter: filterNames.pci, hostsIn: 2, hostsOut: 0 })
  })

  it("PmemFilter keeps hosts whose named device has room", () => {
    const state = clusterOf(host("small").pmem("NVDIMM0", 1024), host("big").pmem("NVDIMM0", 8192))
    const r = placeOne(state, withPmem(server("a"), 4096))
    expect(Result.isSuccess(r) && r.success.host).toBe("big")
    const e = rejected(state, { instances: [withPmem(server("a"), 16384)] })
    expect(e).toMatchObject({ code: "unresolvable", reason: filterNames.pmem })
    const missing = rejected(state, { instances: [withPmem(server("a"), 2, "NVDIMM9")] })
    expect(missing.reason).toBe(filterNames.pmem)
  })

  it("a gang's PCI claims count against each other", () => {
    const state = clusterOf(host("n1").sriov(4, 2), host("n2").sriov(4, 2))
    const r = placeGang(state, { instances: [withPci(server("a")), withPci(server("b"))] })
    if (Result.isFailure(r)) throw r.failure
    expect(r.success.placements.map((p) => p.host).sort()).toEqual(["n1", "n2"])
    const e = rejected(state, { instances: ["a", "b", "c"].map((n) => withPci(server(n))) })
    expect(e).toMatchObject({ code: "unresolvable", reason: filterNames.pci })
  })
})

describe("zone and pmem device constraints", () => {
  const zoned = () => clusterOf(host("a1").zone("az1").cpus(8), host("a2").zone("az1").cpus(4),
    host("b1").zone("az2").cpus(16).pmem("NVDIMM0", 4096), host("b2").zone("az2").status("down"))

  it("a zone keeps only its hosts, counted by AvailabilityZoneFilter", () => {
    const s1 = placed(zoned(), server("x").zone("az1"))
    expect(usageList(s1).map((u) => u.vcpusUsed)).toEqual([0, 1, 0, 0])
    expect(hostOf(s1, server("a").zone("az1"))).toBe("a2")
    expect(hostOf(s1, server("a").zone("az1"), "spread")).toBe("a1")
    expect(hostOf(zoned(), server("a").cpus(2).zone("az2"))).toBe("b1")
    const e = rejected(zoned(), { instances: [server("a").cpus(10).zone("az1").instance()] })
    expect(e.filters.slice(0, 3)).toEqual([
      { filter: filterNames.hostStatus, hostsIn: 4, hostsOut: 3 },
      { filter: filterNames.availabilityZone, hostsIn: 3, hostsOut: 2 },
      { filter: filterNames.vcpu, hostsIn: 2, hostsOut: 0 },
    ])
    expect(e).toMatchObject({ code: "unresolvable", reason: filterNames.vcpu })
  })

  it("a zone no host is in is unresolvable, and says so", () => {
    const e = rejected(zoned(), { instances: [server("a").zone("az9").instance()] })
    expect(e).toMatchObject({ code: "unresolvable", reason: filterNames.availabilityZone,
      instance: "a" })
    expect(e.detail).toContain("no host is in zone az9")
    expect(e.filters.find((f) => f.filter === filterNames.availabilityZone)!.hostsOut).toBe(0)
  })

  it("a zone whose hosts are all down is unschedulable", () => {
    const state = clusterOf(host("a1").zone("az1"), host("b1").zone("az2").status("down"))
    const e = rejected(state, { instances: [server("a").zone("az2").instance()] })
    expect(e).toMatchObject({ code: "unschedulable", reason: filterNames.availabilityZone })
    expect(e.filters.slice(0, 2)).toEqual([
      { filter: filterNames.hostStatus, hostsIn: 2, hostsOut: 1 },
      { filter: filterNames.availabilityZone, hostsIn: 1, hostsOut: 0 },
    ])
  })

  it("a pmem device keeps only hosts that have it, counted by PmemFilter", () => {
    expect(hostOf(zoned(), server("a").pmemDevice("NVDIMM0"))).toBe("b1")
    const missing = rejected(zoned(), { instances: [server("a").pmemDevice("NVDIMM7").instance()] })
    expect(missing).toMatchObject({ code: "unresolvable", reason: filterNames.pmem })
    expect(missing.detail).toContain("no host has a pmem device named NVDIMM7")
    const both = rejected(zoned(), { instances:
      [server("a").zone("az1").pmemDevice("NVDIMM0").instance()] })
    expect(both).toMatchObject({ code: "unresolvable", reason: filterNames.pmem })
    expect(both.filters.find((f) => f.filter === filterNames.pmem)).toEqual(
      { filter: filterNames.pmem, hostsIn: 2, hostsOut: 0 })
  })

  it("a gang keeps each member in its own zone", () => {
    const hosts = hostsOf(zoned(), { instances: [server("a").zone("az2").instance(),
      server("b").zone("az1").instance(), server("c").zone("az1").instance()] })
    expect(hosts[0]).toBe("b1")
    expect(hosts.slice(1).every((h) => h.startsWith("a"))).toBe(true)
  })

  it("createServer on a named host checks the zone and the device", () => {
    const s = zoned()
    const wrongZone = createServer(s, server("a").zone("az2").build(), "a1")
    expect(Result.isFailure(wrongZone) && wrongZone.failure._tag).toBe("Conflict")
    const noDevice = createServer(s, server("a").pmemDevice("NVDIMM0").build(), "a1")
    expect(Result.isFailure(noDevice) && noDevice.failure._tag).toBe("Conflict")
    expect(Result.isSuccess(createServer(s, server("a").zone("az2").pmemDevice("NVDIMM0").build(),
      "b1"))).toBe(true)
    const empty = createServer(s, { ...server("a").build(), zone: "" }, "a1")
    expect(Result.isFailure(empty) && empty.failure.message).toContain("server.zone")
  })
})

describe("group size limit", () => {
  it("a request that would pass a group's member limit is a BadRequest, not a failed commit", () => {
    let state = withGroups(clusterOf(host("big").cpus(100_000).ram(100_000_000).ratios(1, 1)),
      { id: "g", rule: "soft-affinity" })
    for (let k = 0; k < 9_999; k++) {
      const r = createServer(state, server(`m${k}`).groups("g").build(), "big")
      if (Result.isFailure(r)) throw new Error(r.failure.message)
      state = r.success.state
    }
    const two = schedule(state, { servers: [server("x").build(), server("y").groups("g").build(),
      server("z").groups("g").build()] })
    expect(Result.isFailure(two) && two.failure._tag).toBe("BadRequest")
    if (Result.isFailure(two)) {
      expect(two.failure.message).toContain("instances[1].groups")
      expect(two.failure.message).toContain("limit of 10000")
    }
    const last = schedule(state, { servers: [server("y").groups("g").build()] })
    expect(Result.isSuccess(last)).toBe(true)
    if (Result.isSuccess(last)) {
      const over = schedule(last.success.state, { servers: [server("z").groups("g").build()] })
      expect(Result.isFailure(over) && over.failure._tag).toBe("BadRequest")
    }
  })
})
