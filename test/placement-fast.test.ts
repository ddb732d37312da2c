// The single-instance fast path (the fused scan) against the general path (filter plugins,
// weighers, search) on small random clusters with placed group members, zones, disk pools,
// SR-IOV and pmem hosts: whenever the fast path decides, it chooses the same host and assignment
// as the general path; when it declines, the general path still decides. Also: schedule commits
// what the fast path chose, and requests it cannot express take the general path.
import { Result } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { type ClusterState, deleteServer, type GroupRule, type GroupScope, scanOf,
  usageList } from "../core/cluster/index.ts"
import { pciColumnOf } from "../core/cluster/scan.ts"
import { pciFreeByHost } from "../core/pci/index.ts"
import { referenceScan } from "../core/kernels/scan-reference.ts"
import { newScanKernel, setPlacementScan } from "../core/kernels/scan-select.ts"
import { placeFast } from "../core/placement/fast.ts"
import { defaultWeights, type NamedInstance, type NoValidHost, placeGang, type Policy, preparePlacement, schedule,
  type Weights } from "../core/placement/index.ts"
import { host } from "./builders.ts"
import { clusterOf, drawnCluster, drawnRequest, server } from "./placement-builders.ts"

const hostArb = fc.record({
  cpus: fc.integer({ min: 2, max: 8 }),
  ramGb: fc.integer({ min: 1, max: 8 }),
  rack: fc.integer({ min: 0, max: 2 }),
  zone: fc.integer({ min: 0, max: 1 }),
  down: fc.integer({ min: 0, max: 9 }).map((k) => k === 0),
  pool: fc.constantFrom("none", "ECKD:P1", "FBA:F1", "tank"),
  poolMb: fc.integer({ min: 10, max: 100 }),
  sriov: fc.integer({ min: 0, max: 3 }).map((k) => k === 0),
  pmem: fc.integer({ min: 0, max: 4 }).map((k) => k === 0),
})
const groupArb = fc.record({
  rule: fc.constantFrom<GroupRule>("affinity", "anti-affinity", "anti-affinity",
    "soft-anti-affinity"),
  scope: fc.constantFrom<GroupScope>("host", "rack", "zone"),
  max: fc.integer({ min: 1, max: 2 }),
})
const serverArb = fc.record({
  cpus: fc.integer({ min: 0, max: 4 }),
  ramGb: fc.integer({ min: 0, max: 4 }),
  groups: fc.subarray([0, 1, 2], { maxLength: 2 }),
  disk: fc.option(fc.record({ mb: fc.integer({ min: 1, max: 60 }),
    kind: fc.constantFrom(undefined, "ECKD" as const, "FBA" as const, "zpool" as const) })),
  zone: fc.option(fc.integer({ min: 0, max: 1 })),
  vf: fc.integer({ min: 0, max: 4 }).map((k) => k === 0),
})


const scenarioArb = fc.record({
  hosts: fc.array(hostArb, { minLength: 1, maxLength: 6 }),
  groups: fc.array(groupArb, { maxLength: 3 }),
  existing: fc.array(serverArb, { maxLength: 5 }),
  next: serverArb,
  policy: fc.constantFrom<Policy>("pack", "spread"),
  weights: fc.constantFrom<Weights>(defaultWeights,
    { policy: 1, softAffinity: 0, softAntiAffinity: 0, specialHardware: 0 },
    { policy: -2, softAffinity: 1, softAntiAffinity: 0, specialHardware: 3 }),
}).map((s) => {
  let state: ClusterState = drawnCluster(s.hosts, s.groups)
  s.existing.forEach((d, k) => {
    const r = schedule(state, { servers: [drawnRequest(`e${k}`, d, s.groups.length)],
      policy: s.policy, fastPath: false })
    if (Result.isSuccess(r)) state = r.success.state
  })
  return { state, next: drawnRequest("new", s.next, s.groups.length), policy: s.policy,
    weights: s.weights }
})

describe("the fast path chooses what the general path chooses", () => {
  const kernels = [referenceScan(), newScanKernel("auto")]

  it("same host and assignment on random clusters, for every scan backend", () => {
    let decided = 0
    fc.assert(fc.property(scenarioArb, ({ state, next, policy, weights }) => {
      const instance = { ...next, name: next.uuid }
      const general = placeGang(state, { instances: [instance], policy, weights, fastPath: false })
      for (const kernel of kernels) {
        const fast = placeFast(state, instance, policy, weights, kernel)
        if (fast === undefined) continue
        decided++
        if (Result.isFailure(general)) throw new Error(`fast placed, general: ${general.failure}`)
        const p = general.success.placements[0]!
        expect(fast.hostIndex).toBe(p.hostIndex)
        expect(fast.assignment).toEqual(p.assignment)
      }
      const routed = placeGang(state, { instances: [instance], policy, weights })
      expect(routed).toEqual(general)
    }))
    expect(decided).toBeGreaterThan(250)
  })

  it("a rejected instance: the scan's NoValidHost equals the general path's, field by field", () => {
    let rejected = 0
    const fields = (e: unknown) => {
      const x = e as NoValidHost
      return { tag: x._tag, code: x.code, reason: x.reason, instance: x.instance,
        filters: x.filters, detail: x.detail, message: x.message }
    }
    fc.assert(fc.property(scenarioArb, ({ state, next, policy, weights }) => {
      const instance = { ...next, name: next.uuid }
      const general = placeGang(state, { instances: [instance], policy, weights, fastPath: false })
      if (Result.isSuccess(general)) return
      rejected++
      for (const kernel of kernels) {
        setPlacementScan(kernel)
        const routed = placeGang(state, { instances: [instance], policy, weights })
        if (Result.isSuccess(routed)) throw new Error("the scan placed what the general path rejects")
        expect(fields(routed.failure)).toEqual(fields(general.failure))
      }
      setPlacementScan(kernels[1]!)
    }))
    expect(rejected).toBeGreaterThan(50)
  })

  it("schedule commits the fast path's choice like the general path's", () => {
    fc.assert(fc.property(scenarioArb, ({ state, next, policy }) => {
      const a = schedule(state, { servers: [next], policy })
      const b = schedule(state, { servers: [next], policy, fastPath: false })
      expect(Result.isSuccess(a)).toBe(Result.isSuccess(b))
      if (Result.isSuccess(a) && Result.isSuccess(b)) {
        expect(a.success.servers).toEqual(b.success.servers)
        expect(usageList(a.success.state)).toEqual(usageList(b.success.state))
      }
    }), { numRuns: 300 })
  })

  it("preparePlacement builds the host index and PCI columns ahead and changes no placement", () => {
    fc.assert(fc.property(scenarioArb, ({ state, next, policy }) => {
      const before = usageList(state)
      const vf = [{ vendor_id: "8086", product_id: "1520" }]
      preparePlacement(state, { pci: [vf] })
      expect(scanOf(state).hostIndex).toBeDefined()
      const column = pciColumnOf(scanOf(state), state.pci, vf)
      expect([...scanOf(state).pci.values()]).toContain(column)
      expect([...column.free]).toEqual([...pciFreeByHost(state.pci, { spec: vf })])
      expect(usageList(state)).toEqual(before)
      const a = schedule(state, { servers: [next], policy })
      const b = schedule(state, { servers: [next], policy, fastPath: false })
      expect(Result.isSuccess(a)).toBe(Result.isSuccess(b))
      if (Result.isSuccess(a) && Result.isSuccess(b)) {
        expect(a.success.servers).toEqual(b.success.servers)
      }
    }), { numRuns: 300 })
  })

  it("keeps the PCI free-device column equal to pciFreeByHost through creates and deletes", () => {
    const vf = [{ count: 1, spec: [{ vendor_id: "8086", product_id: "1520" }] }]
    let state = clusterOf(host("a").sriov(4, 2), host("b"), host("c").sriov(5, 3))
    const column = () => pciColumnOf(scanOf(state), state.pci, vf[0]!.spec).free
    expect([...column()]).toEqual([2, 0, 3])
    for (const uuid of ["v1", "v2", "v3"]) {
      const r = schedule(state, { servers: [{ ...server(uuid).build(), pci: vf }] })
      if (Result.isFailure(r)) throw r.failure
      state = r.success.state
      expect([...column()]).toEqual([...pciFreeByHost(state.pci, vf[0]!)])
    }
    expect([...column()].reduce((a, b) => a + b, 0)).toBe(2)
    const d = deleteServer(state, "v2")
    if (Result.isFailure(d)) throw d.failure
    const before = state
    state = d.success.state
    expect([...column()]).toEqual([...pciFreeByHost(state.pci, vf[0]!)])
    expect([...column()].reduce((a, b) => a + b, 0)).toBe(3)
    state = before
    expect([...column()]).toEqual([...pciFreeByHost(before.pci, vf[0]!)])
  })

  it("declines what the scan cannot express", () => {
    const state = clusterOf(host("a").numa({ id: 0, cpus: 8, ramMb: 32768 },
      { id: 1, cpus: 8, ramMb: 32768 }).diskPool("ECKD:P1", 100).pmem("NVDIMM0", 1024))
    const base: NamedInstance = { name: "x", kind: "server", vcpus: 2, ramMb: 1024, disks: [],
      groups: [] }
    const fast = (i: Partial<NamedInstance>) =>
      placeFast(state, { ...base, ...i }, "pack", defaultWeights)
    expect(fast({})).toMatchObject({ hostIndex: 0 })
    expect(fast({ numaCells: 2 })).toBeUndefined()
    expect(fast({ disks: [{ sizeMb: 10, pool: "ECKD:P1" }] })).toBeUndefined()
    expect(fast({ disks: [{ sizeMb: 10 }, { sizeMb: 10 }] })).toBeUndefined()
    expect(fast({ pmemDevice: "NVDIMM0" })).toBeUndefined()
    expect(fast({ vcpus: 64 })).toBeUndefined()
    expect(fast({ groups: ["nope"] })).toBeUndefined()
    expect(fast({ vcpus: -1 })).toBeUndefined()
  })
})
