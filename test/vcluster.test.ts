import { HashMap, Result } from "effect"
import { describe, expect, it } from "vitest"
import { findGroup, hypervisorViews, usageList } from "../core/cluster/index.ts"
import {
  createVcluster,
  deleteVcluster,
  type Flavor,
  parseVclusterText,
  showVcluster,
  type VclusterState,
  vclusterStateOf,
} from "../core/vcluster/index.ts"
import { host } from "./builders.ts"
import { clusterOf } from "./placement-builders.ts"

const flavors = new Map<string, Flavor>([
  ["m1", { vcpus: 2, ramMb: 4096, diskGb: 10 }],
  ["big", { vcpus: 64, ramMb: 4096 }],
])

const fresh = (): VclusterState => vclusterStateOf(clusterOf(
  host("a1").rack("r1").diskPool("ECKD:P1", 100 * 1024),
  host("a2").rack("r1").diskPool("ECKD:P2", 100 * 1024),
  host("b1").rack("r2").diskPool("FBA:P3", 100 * 1024),
  host("b2").rack("r2").diskPool("ECKD:P4", 100 * 1024),
))

const srv = (name: string, flavorRef = "m1") =>
  ({ name, type: "server", spec: { imageRef: "img", flavorRef } })
const vol = (name: string, size = 10, volume_type = "ECKD") =>
  ({ name, type: "volume", spec: { size, volume_type } })
const grp = (name: string, membersRef: string[], rule: string, scope?: string) =>
  ({ name, membersRef, spec: { rule, ...(scope === undefined ? {} : { scope }) } })

/** The seed's use case 2 in canonical form: two redundant db servers with their volumes. */
const redundant = {
  vcluster: {
    name: "new-virtual-cluster",
    instances: [srv("db-server-1"), vol("db-vol-1"), srv("db-server-2"), vol("db-vol-2")],
    groupings: [
      grp("group-1", ["db-server-1", "db-vol-1"], "affinity"),
      grp("group-2", ["db-server-2", "db-vol-2"], "affinity"),
      grp("group-3", ["db-server-1", "db-server-2"], "anti-affinity", "rack"),
      grp("group-4", ["db-vol-1", "db-vol-2"], "anti-affinity"),
    ],
  },
}

describe("vcluster create / show / delete", () => {
  it("places the seed's redundant pair atomically, with every rule kept", () => {
    const s0 = fresh()
    const r = createVcluster(s0, redundant, { id: "vc1", flavors })
    if (Result.isFailure(r)) throw r.failure
    const hostOf = new Map(r.success.vcluster.instances.map((i) => [i.name, i.host]))
    expect(hostOf.get("db-vol-1")).toBe(hostOf.get("db-server-1"))
    expect(hostOf.get("db-vol-2")).toBe(hostOf.get("db-server-2"))
    expect(hostOf.get("db-server-1")![1]).not.toBe(hostOf.get("db-server-2")![1])
    expect(hostOf.get("db-server-2")).not.toBe("b1")
    const shown = showVcluster(r.success.state, "vc1")
    if (Result.isFailure(shown)) throw shown.failure
    expect(shown.success.vcluster.groupings.map((g) => g.groupId)).toContain("vc1/group-3")
    const used = hypervisorViews(r.success.state.cluster).reduce((s, h) => s + h.vcpus_used, 0)
    expect(used).toBe(4)
    const d = deleteVcluster(r.success.state, "vc1")
    if (Result.isFailure(d)) throw d.failure
    expect(usageList(d.success.cluster)).toEqual(usageList(s0.cluster))
    expect(findGroup(d.success.cluster, "vc1/group-1")).toBeUndefined()
    expect(HashMap.size(d.success.vclusters)).toBe(0)
    expect(Result.isFailure(showVcluster(d.success, "vc1"))).toBe(true)
  })

  it("rejects a second vcluster with the same id, and a delete of an unknown one", () => {
    const r = createVcluster(fresh(), redundant, { id: "vc1", flavors })
    if (Result.isFailure(r)) throw r.failure
    const again = createVcluster(r.success.state, redundant, { id: "vc1", flavors })
    expect(Result.isFailure(again) && again.failure._tag).toBe("AlreadyExists")
    const gone = deleteVcluster(r.success.state, "nope")
    expect(Result.isFailure(gone) && gone.failure._tag).toBe("NotFound")
  })

  it("a vcluster that cannot fit is a NoValidHost, and nothing is reserved", () => {
    const s0 = fresh()
    const body = { vcluster: { name: "x", instances: [srv("a"), srv("b", "big")] } }
    const r = createVcluster(s0, body, { id: "vc1", flavors })
    if (Result.isSuccess(r)) throw new Error("expected a rejection")
    expect(r.failure._tag).toBe("NoValidHost")
    expect(r.failure.message).toMatch(/VcpuFilter/)
  })
})

describe("vcluster validation", () => {
  const body = (instances: unknown[], groupings: unknown[] = []) =>
    ({ vcluster: { name: "v", instances, groupings } })
  const cases: Array<[string, unknown, string, RegExp]> = [
    ["duplicate instance names", body([srv("a"), srv("a")]), "vcluster.instances[1].name",
      /unique instance name; a is instances\[0\]/],
    ["an unknown member name", body([srv("a")], [grp("g", ["a", "zz"], "affinity")]),
      "vcluster.groupings[0].membersRef[1]", /zz is not one/],
    ["duplicate grouping names", body([srv("a")], [grp("g", ["a"], "affinity"),
      grp("g", ["a"], "soft-affinity")]), "vcluster.groupings[1].name", /unique grouping name/],
    ["an unknown rule", body([srv("a")], [grp("g", ["a"], "proximity")]),
      "vcluster.groupings[0].spec.rule", /affinity/],
    ["an unknown scope", body([srv("a")], [grp("g", ["a"], "affinity", "row")]),
      "vcluster.groupings[0].spec.scope", /host/],
    ["contradictory hard groups", body([srv("a"), srv("b")], [grp("near", ["a", "b"], "affinity"),
      grp("far", ["a", "b"], "anti-affinity", "zone")]), "vcluster.groupings",
    /affinity rules put a, b in one zone/],
    ["an unknown flavor", body([srv("a", "nope")]), "vcluster.instances[0].spec.flavorRef",
      /nope is not one/],
    ["an unknown instance type", body([{ name: "a", type: "block-storage", spec: {} }]),
      "vcluster.instances[0].type", /server/],
    ["a volume without a size", body([{ name: "v", type: "volume", spec: { volume_type: "" } }]),
      "vcluster.instances[0].spec.size", /./],
    ["a member listed twice", body([srv("a")], [grp("g", ["a", "a"], "affinity")]),
      "vcluster.groupings[0].membersRef[1]", /each member once/],
    ["no instances", body([]), "vcluster.instances", /./],
    ["the seed's object-keyed instances", { vcluster: { name: "v", instances: { instance: srv("a") } } },
      "vcluster.instances", /./],
  ]
  it.each(cases)("rejects %s with its path", (_, input, path, message) => {
    const r = createVcluster(fresh(), input, { id: "vc1", flavors })
    if (Result.isSuccess(r)) throw new Error("expected a BadRequest")
    expect(r.failure._tag).toBe("BadRequest")
    if (r.failure._tag !== "BadRequest") return
    const issue = (r.failure.issues ?? []).find((i) => i.path === path)
    expect(issue, JSON.stringify(r.failure.issues)).toBeDefined()
    expect(issue!.message).toMatch(message)
  })

  it("rejects the seed's literal example text with a parse error that says where", () => {
    const seed = `{ "vcluster" : { "name" : "new-virtual-cluster", "instances" : { "instance": {
 "name": "db-server-1", "type": "server", "spec": { "imageRef": "xxx-yyy-zzz", "flavorRef":
 "123-456-789" } } "instance": { "name": "db-vol-1" } } } }`
    const r = parseVclusterText(seed)
    if (Result.isSuccess(r)) throw new Error("expected a parse error")
    expect(r.failure.message).toMatch(/not valid JSON/)
    expect(r.failure.message).toMatch(/line 3, column \d+/)
    expect(Result.isSuccess(parseVclusterText(JSON.stringify(redundant)))).toBe(true)
  })
})
