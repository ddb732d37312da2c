import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { placeGang, rejectionReasons } from "../core/placement/index.ts"
import { host } from "./builders.ts"
import { clusterOf, placed, server, withGroups } from "./placement-builders.ts"

/** n racks of two hosts each, all in one zone except where `zones` splits them. */
function racks(n: number, zones = 1) {
  return clusterOf(...Array.from({ length: n * 2 }, (_, i) =>
    host(`h${i}`).rack(`r${Math.floor(i / 2)}`).zone(`z${Math.floor(i / 2) % zones}`)))
}

function members(count: number, group: string) {
  return Array.from({ length: count }, (_, k) => server(`m${k}`).groups(group).instance())
}

describe("the anti-affinity counting bound, checked before the search", () => {
  it("answers unresolvable at once for one member more than the topology can ever hold", () => {
    const state = withGroups(racks(8), { id: "db", rule: "anti-affinity", scope: "rack" })
    const r = placeGang(state, { instances: members(9, "db") })
    if (Result.isSuccess(r) || r.failure._tag !== "NoValidHost") throw new Error("expected NoValidHost")
    expect(r.failure.code).toBe("unresolvable")
    expect(r.failure.reason).toBe(rejectionReasons.antiAffinity)
    expect(r.failure.detail).toMatch(/can hold 8 members in 8 racks; it would have 9/)
  })

  it("counts maxPerDomain and the members already placed", () => {
    let state = withGroups(racks(4, 2),
      { id: "a", rule: "anti-affinity", scope: "zone", maxPerDomain: 3 })
    state = placed(state, server("old1").groups("a"), server("old2").groups("a"))
    const fits = placeGang(state, { instances: members(4, "a") })
    expect(Result.isSuccess(fits)).toBe(true)
    const r = placeGang(state, { instances: members(5, "a") })
    if (Result.isSuccess(r) || r.failure._tag !== "NoValidHost") throw new Error("expected NoValidHost")
    expect(r.failure.code).toBe("unresolvable")
    expect(r.failure.detail).toMatch(/can hold 6 members in 2 zones; it would have 7/)
  })

  it("answers unschedulable when only down hosts' domains have room left", () => {
    const state = withGroups(clusterOf(host("a").rack("r1"), host("b").rack("r2").status("down")),
      { id: "g", rule: "anti-affinity", scope: "rack" })
    const r = placeGang(state, { instances: members(2, "g") })
    if (Result.isSuccess(r) || r.failure._tag !== "NoValidHost") throw new Error("expected NoValidHost")
    expect(r.failure.code).toBe("unschedulable")
    expect(r.failure.detail).toMatch(/room for 1 more members in racks with a host up; 2 asked/)
  })

  it("still places an exact fit: one member per rack in every rack", () => {
    const state = withGroups(racks(8), { id: "db", rule: "anti-affinity", scope: "rack" })
    const r = placeGang(state, { instances: members(8, "db") })
    if (Result.isFailure(r)) throw new Error(r.failure.message)
    expect(new Set(r.success.placements.map((p) => p.host.replace(/^h/, "")).map((i) =>
      Math.floor(Number(i) / 2))).size).toBe(8)
  })
})
