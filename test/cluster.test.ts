import { Result } from "effect"
import { describe, expect, it } from "vitest"
import {
  createServer,
  deleteGroup,
  deleteServer,
  findGroup,
  hypervisorViews,
  type ClusterState,
  serverCount,
  usageAt,
  usageList,
  withHostStatus,
} from "../core/cluster/index.ts"
import { schedule } from "../core/placement/index.ts"
import { host } from "./builders.ts"
import { clusterOf, server, volume, withGroups } from "./placement-builders.ts"

function created(state: ClusterState, s: ReturnType<typeof server>, hostName: string) {
  const r = createServer(state, s.build(), hostName)
  if (Result.isFailure(r)) throw new Error(r.failure.message)
  return r.success.state
}

function failure(r: Result.Result<unknown, { _tag: string; message: string }>) {
  if (Result.isSuccess(r)) throw new Error("expected a failure")
  return r.failure
}

describe("createServer / deleteServer", () => {
  const base = () => clusterOf(
    host("h1").cpus(8).ram(16384).ratios(2, 1).diskPool("pool1", 100_000)
      .numa({ id: 0, cpus: 4, ramMb: 8192 }, { id: 1, cpus: 4, ramMb: 8192 }),
    host("h2").cpus(4).ram(8192).status("maintenance"),
  )

  it("reserves vCPUs, RAM, disk and NUMA shares, and releases exactly that", () => {
    const s0 = base()
    const s1 = created(s0, server("a").cpus(4).ram(4096).disk(20_000).numa(2), "h1")
    const view = hypervisorViews(s1)[0]!
    expect(view).toMatchObject({ vcpus: 16, vcpus_used: 4, memory_mb: 16384, memory_mb_used: 4096,
      local_gb: 97, local_gb_used: 20, running_vms: 1 })
    expect(usageAt(s1, 0).cellVcpusUsed).toEqual([2, 2])
    expect(usageAt(s1, 0).diskUsedMb).toEqual([20_000])
    expect(usageAt(s0, 0).vcpusUsed).toBe(0)
    const d = deleteServer(s1, "a")
    if (Result.isFailure(d)) throw d.failure
    expect(usageAt(d.success.state, 0)).toEqual(usageAt(s0, 0))
    expect(serverCount(d.success.state)).toBe(0)
  })

  const errors: Array<[string, (s: ClusterState) => ReturnType<typeof createServer>, string, RegExp]> = [
    ["an unknown host", (s) => createServer(s, server("a").build(), "nope"), "NotFound", /host nope/],
    ["a host in maintenance", (s) => createServer(s, server("a").build(), "h2"), "Conflict",
      /maintenance/],
    ["too many vCPUs", (s) => createServer(s, server("a").cpus(17).build(), "h1"),
      "InsufficientCapacity", /vcpus on h1: requested 17, free 16/],
    ["too much RAM", (s) => createServer(s, server("a").ram(16385).build(), "h1"),
      "InsufficientCapacity", /ramMb/],
    ["a disk larger than every pool", (s) => createServer(s, server("a").disk(100_001).build(), "h1"),
      "InsufficientCapacity", /disk/],
    ["a pool kind the host lacks", (s) =>
      createServer(s, server("a").disk(10, { kind: "ECKD" }).build(), "h1"), "InsufficientCapacity",
      /disk/],
    ["more NUMA cells than the host has", (s) => createServer(s, server("a").cpus(3).numa(3)
      .ram(3072).build(), "h1"), "InsufficientCapacity", /numa/],
    ["an uneven NUMA split", (s) => createServer(s, server("a").cpus(3).numa(2).build(), "h1"),
      "BadRequest", /numaCells/],
    ["an unknown group", (s) => createServer(s, server("a").groups("g").build(), "h1"),
      "NotFound", /server group g/],
    ["a volume with vCPUs", (s) => createServer(s, volume("v", 10).cpus(1).build(), "h1"),
      "BadRequest", /a volume/],
    ["negative RAM", (s) => createServer(s, server("a").ram(-1).build(), "h1"), "BadRequest",
      /ramMb/],
  ]
  it.each(errors)("rejects %s and leaves the state unchanged", (_, run, tag, message) => {
    const s0 = base()
    const before = JSON.stringify(usageList(s0))
    const e = failure(run(s0))
    expect(e._tag).toBe(tag)
    expect(e.message).toMatch(message)
    expect(JSON.stringify(usageList(s0))).toBe(before)
  })

  it("rejects a duplicate uuid and a delete of an unknown server", () => {
    const s1 = created(base(), server("a"), "h1")
    expect(failure(createServer(s1, server("a").build(), "h1"))._tag).toBe("AlreadyExists")
    expect(failure(deleteServer(s1, "b"))._tag).toBe("NotFound")
  })

  it("checks hard group rules on an explicit host choice", () => {
    const s0 = withGroups(clusterOf(host("h1"), host("h2")),
      { id: "anti", rule: "anti-affinity" }, { id: "aff", rule: "affinity" })
    const s1 = created(created(s0, server("a").groups("anti", "aff"), "h1"), server("b"), "h2")
    expect(failure(createServer(s1, server("c").groups("anti").build(), "h1")).message)
      .toMatch(/anti-affinity/)
    expect(failure(createServer(s1, server("d").groups("aff").build(), "h2")).message)
      .toMatch(/affinity/)
    expect(findGroup(s1, "anti")!.members).toEqual(["a"])
    expect(failure(deleteGroup(s1, "anti"))._tag).toBe("Conflict")
    const s2 = deleteServer(s1, "a")
    if (Result.isFailure(s2)) throw s2.failure
    expect(findGroup(s2.success.state, "anti")!.members).toEqual([])
    expect(Result.isSuccess(deleteGroup(s2.success.state, "anti"))).toBe(true)
  })

  it("sets a host's status: placement skips it, its servers stay, older states as were", () => {
    const s0 = created(base(), server("a").cpus(4), "h1")
    const s1 = withHostStatus(s0, 0, "maintenance")
    expect(s1.inventory.hosts[0]!.status).toBe("maintenance")
    expect(s0.inventory.hosts[0]!.status).toBe("up")
    expect(hypervisorViews(s1)[0]).toMatchObject({ state: "up", status: "disabled", vcpus_used: 4 })
    expect(failure(createServer(s1, server("b").build(), "h1"))._tag).toBe("Conflict")
    expect(failure(schedule(s1, { servers: [server("b").build()] }))._tag).toBe("NoValidHost")
    const s2 = withHostStatus(s1, 0, "up")
    expect(Result.isSuccess(schedule(s2, { servers: [server("b").build()] }))).toBe(true)
    expect(Result.isSuccess(createServer(s0, server("b").build(), "h1"))).toBe(true)
    expect(Result.isSuccess(deleteServer(s1, "a"))).toBe(true)
    expect(withHostStatus(s1, 0, "maintenance")).toBe(s1)
    expect(() => withHostStatus(s1, 2, "up")).toThrow(RangeError)
  })

  it("keeps an older state's numbers after a newer state was derived from it", () => {
    const s0 = base()
    const s1 = created(s0, server("a").cpus(4), "h1")
    created(s0, server("b").cpus(8), "h1")
    const s2 = created(s1, server("c").cpus(12), "h1")
    expect(usageAt(s2, 0).vcpusUsed).toBe(16)
    expect(failure(createServer(s2, server("d").build(), "h1"))._tag).toBe("InsufficientCapacity")
    expect(Result.isSuccess(createServer(s0, server("d").cpus(16).build(), "h1"))).toBe(true)
  })
})
