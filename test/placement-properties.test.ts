// Properties of the solver on small random clusters and gangs: capacity is never exceeded, every
// hard rule holds, a rejection is confirmed by brute force, soft rules never reject, and the same
// input gives the same output. fast-check prints the seed of any failure.
import { Result } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  type ClusterState,
  domainOf,
  type GroupRecord,
  type GroupRule,
  type GroupScope,
  findGroup,
  memberHosts,
  usageAt,
  usageList,
} from "../core/cluster/index.ts"
import { placeGang, type PlacementRequest, schedule } from "../core/placement/index.ts"
import { host } from "./builders.ts"
import { clusterOf, withGroups } from "./placement-builders.ts"

interface Scenario {
  readonly state: ClusterState
  readonly request: PlacementRequest
}

const hostArb = fc.record({
  cpus: fc.integer({ min: 2, max: 8 }),
  ramGb: fc.integer({ min: 1, max: 8 }),
  rack: fc.integer({ min: 0, max: 2 }),
  zone: fc.integer({ min: 0, max: 1 }),
  down: fc.integer({ min: 0, max: 9 }).map((k) => k === 0),
})
type HostDraw = typeof hostArb extends fc.Arbitrary<infer T> ? T : never
const groupArb = fc.record({
  rule: fc.constantFrom<GroupRule>("affinity", "anti-affinity", "soft-affinity",
    "soft-anti-affinity"),
  scope: fc.constantFrom<GroupScope>("host", "rack", "zone"),
  max: fc.integer({ min: 1, max: 2 }),
})
const instanceArb = (groups: number) => fc.record({
  cpus: fc.integer({ min: 1, max: 4 }),
  ramGb: fc.integer({ min: 0, max: 4 }),
  groups: fc.subarray(Array.from({ length: groups }, (_, k) => k), { maxLength: Math.min(2, groups) }),
})

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  hosts: fc.array(hostArb, { minLength: 1, maxLength: 6 }),
  groups: fc.array(groupArb, { maxLength: 3 }),
  existing: fc.array(fc.record({ cpus: fc.integer({ min: 1, max: 3 }), group: fc.nat(2) }),
    { maxLength: 3 }),
  policy: fc.constantFrom("pack" as const, "spread" as const),
}).chain((base) => fc.array(instanceArb(base.groups.length), { minLength: 1, maxLength: 8 })
  .map((instances) => build(base, instances)))

function build(
  base: { hosts: Array<HostDraw>
    groups: Array<{ rule: GroupRule; scope: GroupScope; max: number }>
    existing: Array<{ cpus: number; group: number }>; policy: "pack" | "spread" },
  instances: Array<{ cpus: number; ramGb: number; groups: number[] }>,
): Scenario {
  let state = clusterOf(...base.hosts.map((h, k) => {
    const b = host(`h${k}`).cpus(h.cpus).ram(h.ramGb * 1024).rack(`r${h.rack}`).zone(`z${h.zone}`)
    return h.down ? b.status("down") : b
  }))
  state = withGroups(state, ...base.groups.map((g, k) => ({ id: `g${k}`, rule: g.rule,
    scope: g.scope, ...(g.rule.endsWith("anti-affinity") ? { maxPerDomain: g.max } : {}) })))
  base.existing.forEach((e, k) => {
    const groups = e.group < base.groups.length ? [`g${e.group}`] : []
    const r = schedule(state, { servers: [{ uuid: `old${k}`, kind: "server", vcpus: e.cpus,
      ramMb: 0, disks: [], groups }] })
    if (Result.isSuccess(r)) state = r.success.state
  })
  return {
    state,
    request: {
      policy: base.policy,
      instances: instances.map((inst, k) => ({ name: `i${k}`, kind: "server" as const,
        vcpus: inst.cpus, ramMb: inst.ramGb * 512, disks: [], groups: inst.groups.map((g) => `g${g}`) })),
    },
  }
}

/** Whether `hosts[k]` for instance k keeps capacity and every hard rule. */
function valid(s: Scenario, hosts: ReadonlyArray<number>): boolean {
  const { state, request } = s
  const used = usageList(state).map((u) => ({ cpu: u.vcpusUsed, ram: u.ramMbUsed }))
  for (const [k, inst] of request.instances.entries()) {
    const h = hosts[k]!
    const info = state.inventory.hosts[h]!
    if (info.status !== "up") return false
    used[h]!.cpu += inst.vcpus
    used[h]!.ram += inst.ramMb
    if (used[h]!.cpu > info.vcpuCapacity || used[h]!.ram > info.ramCapacityMb) return false
  }
  const groupIds = new Set(request.instances.flatMap((i) => [...i.groups]))
  for (const id of groupIds) {
    const g = findGroup(state, id)!
    const all = [...memberHosts(state, g), ...request.instances.flatMap((inst, k) =>
      inst.groups.includes(id) ? [hosts[k]!] : [])]
    if (!ruleHolds(state, g, all)) return false
  }
  return true
}

function ruleHolds(state: ClusterState, g: GroupRecord, hosts: ReadonlyArray<number>): boolean {
  const domains = hosts.map((h) => domainOf(state.topology, g.scope, h))
  if (g.rule === "affinity") return new Set(domains).size <= 1
  if (g.rule !== "anti-affinity") return true
  const counts = new Map<number, number>()
  for (const d of domains) counts.set(d, (counts.get(d) ?? 0) + 1)
  return [...counts.values()].every((c) => c <= g.maxPerDomain)
}

/** Brute force with prefix pruning: does any assignment satisfy capacity and hard rules? */
function anyValid(s: Scenario): boolean {
  const n = s.request.instances.length
  const hostCount = s.state.inventory.hosts.length
  const hosts: number[] = []
  const prefix = (): Scenario => ({ ...s, request: { ...s.request,
    instances: s.request.instances.slice(0, hosts.length) } })
  const go = (k: number): boolean => {
    if (k === n) return true
    for (let h = 0; h < hostCount; h++) {
      hosts.push(h)
      if (valid(prefix(), hosts) && go(k + 1)) return true
      hosts.pop()
    }
    return false
  }
  return go(0)
}

const withoutSoft = (s: Scenario): Scenario => ({ ...s, request: { ...s.request,
  instances: s.request.instances.map((i) => ({ ...i, groups: i.groups.filter((g) =>
    !findGroup(s.state, g)!.rule.startsWith("soft")) })) } })

describe("placement properties", () => {
  it("never exceeds capacity, keeps every hard rule, rejects only what brute force confirms", () => {
    fc.assert(fc.property(scenarioArb, (s) => {
      const r = placeGang(s.state, s.request)
      if (Result.isSuccess(r)) {
        expect(valid(s, r.success.placements.map((p) => p.hostIndex))).toBe(true)
      } else {
        expect(r.failure._tag).toBe("NoValidHost")
        expect(anyValid(s)).toBe(false)
      }
    }))
  })

  it("soft rules never cause a rejection", () => {
    fc.assert(fc.property(scenarioArb, (s) => {
      const withSoft = Result.isSuccess(placeGang(s.state, s.request))
      const hardOnly = Result.isSuccess(placeGang(s.state, withoutSoft(s).request))
      expect(withSoft).toBe(hardOnly)
    }))
  })

  it("the same input gives the same output", () => {
    fc.assert(fc.property(scenarioArb, (s) => {
      expect(JSON.stringify(placeGang(s.state, s.request)))
        .toBe(JSON.stringify(placeGang(s.state, s.request)))
    }))
  })

  it("committed gangs keep usage within capacity and equal to the sum of their servers", () => {
    fc.assert(fc.property(scenarioArb, (s) => {
      const servers = s.request.instances.map((i) => ({ ...i, uuid: i.name }))
      const r = schedule(s.state, { servers, policy: s.request.policy ?? "pack" })
      if (Result.isFailure(r)) return
      const next = r.success.state
      next.inventory.hosts.forEach((h, i) => {
        const u = usageAt(next, i)
        expect(u.vcpusUsed).toBeLessThanOrEqual(h.vcpuCapacity)
        expect(u.ramMbUsed).toBeLessThanOrEqual(h.ramCapacityMb)
        const added = r.success.servers.filter((x) => x.hostIndex === i)
          .reduce((sum, x) => sum + x.vcpus, 0)
        expect(u.vcpusUsed).toBe(usageAt(s.state, i).vcpusUsed + added)
      })
    }))
  })
})
