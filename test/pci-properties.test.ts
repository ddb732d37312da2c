import { Result } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  allocate, checkPciInvariants, claim, claimAllocated, free, hypervisorPciStats, type PciRequest, type PciState,
  pciDetail, pciFits, pciStateOf, pciStatusTotals, removeDevice, serverPciDevices,
} from "../core/pci/index.ts"
import { host, inventoryOf } from "./builders.ts"

/** A random small cluster: 1-2 hosts with PFs (with VFs), plain devices, NUMA nodes and tags. */
const hostShape = fc.record({
  pfs: fc.array(fc.record({ vfs: fc.integer({ min: 0, max: 4 }),
    numa: fc.integer({ min: 0, max: 1 }),
    tagged: fc.boolean() }), { maxLength: 2 }),
  plain: fc.array(fc.constantFrom<number | null>(0, 1, null), { maxLength: 3 }),
})
/**
 * Clusters are drawn from 24 shapes built once (decoding an inventory costs more than a whole
 * run); states are immutable, so every run can start from the same value.
 */
const clusters = [
  ...fc.sample(fc.array(hostShape, { minLength: 1, maxLength: 2 }), { numRuns: 24, seed: 7 })
    .map((shape) => stateOf(shape)),
  // Pools wider than one 32-bit bitmap word.
  pciStateOf(inventoryOf(host("h0")
    .numa({ id: 0, cpus: 8, ramMb: 32768 }, { id: 1, cpus: 8, ramMb: 32768 })
    .pci({ address: "0000:3b:00.0", vendor_id: "8086", product_id: "1521", dev_type: "type-PF",
      numa_node: 1, vfs: { count: 40, product_id: "1520", firstSlot: 1 } }))),
]
/** A cluster by its index (a failure then prints the index, not the whole state). */
const clusterShape = fc.nat(clusters.length - 1)

function stateOf(shape: ReadonlyArray<typeof hostShape extends fc.Arbitrary<infer T> ? T : never>):
  PciState {
  return pciStateOf(inventoryOf(...shape.map((h, i) => {
    const b = host(`h${i}`).numa({ id: 0, cpus: 8, ramMb: 32768, socket: 0 },
      { id: 1, cpus: 8, ramMb: 32768, socket: 1 })
    h.pfs.forEach((pf, k) => b.sriov(4 + k, pf.vfs, { numa: pf.numa,
      ...(pf.tagged ? { tags: { physical_network: "physnet1" } } : {}) }))
    h.plain.forEach((numa, k) => b.pci({ address: `0000:8${k}:00.0`, vendor_id: "10de",
      product_id: "1eb8", numa_node: numa }))
    return b
  })))
}

const requests: ReadonlyArray<PciRequest> = [
  { count: 1, spec: [{ vendor_id: "8086", product_id: "1520" }] },
  { count: 2, spec: [{ dev_type: "type-VF", physical_network: "physnet1" }] },
  { count: 1, spec: [{ vendor_id: "8086", dev_type: "type-PF" }] },
  { count: 1, spec: [{ vendor_id: "10de" }, { dev_type: "type-PF" }] },
  { count: 3, spec: [{ vendor_id: "10de" }, { product_id: "1520" }] },
  { count: 33, spec: [{ dev_type: "type-VF" }] },
]

const operation = fc.oneof(
  fc.record({ kind: fc.constant("claim" as const), host: fc.nat(2), instance: fc.nat(3),
    requests: fc.subarray([...requests], { minLength: 1, maxLength: 2 }),
    policy: fc.constantFrom("required", "legacy", "preferred", "socket") as fc.Arbitrary<"legacy">,
    cells: fc.subarray([0, 1]) }),
  fc.record({ kind: fc.constant("allocate" as const), host: fc.nat(2), instance: fc.nat(3) }),
  fc.record({ kind: fc.constant("free" as const), host: fc.option(fc.nat(2)),
    instance: fc.nat(3) }),
  fc.record({ kind: fc.constant("remove" as const), id: fc.integer({ min: 0, max: 30 }) }),
)
type Operation = typeof operation extends fc.Arbitrary<infer T> ? T : never

function apply(state: PciState, op: Operation): Result.Result<{ state: PciState }, unknown> {
  const uuid = `vm-${"instance" in op ? op.instance : 0}`
  switch (op.kind) {
    case "claim":
      return claim(state, { host: `h${op.host}`, instanceUuid: uuid, requests: op.requests,
        numaPolicy: op.policy, instanceNumaCells: op.cells })
    case "allocate":
      return allocate(state, { host: `h${op.host}`, instanceUuid: uuid })
    case "free":
      return free(state, op.host === null ? { instanceUuid: uuid }
        : { instanceUuid: uuid, host: `h${op.host}` })
    case "remove":
      return removeDevice(state, { id: op.id })
  }
}

/** Everything observable about a state, as plain data. */
function snapshot(state: PciState): string {
  const detail = Result.getOrThrow(pciDetail(state)).pci_devices
  const stats = state.layout.hosts.map((h) => Result.getOrThrow(hypervisorPciStats(state, h.name)))
  const servers = [0, 1, 2, 3].map((i) => serverPciDevices(state, `vm-${i}`))
  return JSON.stringify({ detail, stats, servers })
}

describe("PCI accounting invariants under any sequence of operations", () => {
  it("no double holding, PF/VF exclusion, pool counts, conservation, no mutation", () => {
    fc.assert(fc.property(clusterShape, fc.array(operation, { maxLength: 12 }), (initial, ops) => {
      let state = clusters[initial]!
      const deviceCount = state.layout.deviceCount
      for (const op of ops) {
        const before = snapshot(state)
        const result = apply(state, op)
        // The input is never modified, whether the operation succeeds or fails.
        const after = snapshot(state)
        if (after !== before) expect(after).toBe(before)
        if (Result.isSuccess(result)) state = result.success.state
        const problems = checkPciInvariants(state)
        if (problems.length > 0) expect(problems).toEqual([])
        const totals = pciStatusTotals(state)
        const total = Object.values(totals).reduce((a, b) => a + b, 0)
        if (total !== deviceCount) expect(total).toBe(deviceCount)
        const detail = Result.getOrThrow(pciDetail(state)).pci_devices
        const held = detail.filter((d) => d.instance_uuid !== null).map((d) => d.id).join()
        const byServers = [0, 1, 2, 3].flatMap((i) =>
          serverPciDevices(state, `vm-${i}`)["os-pci:pci_devices"].map((d) => d.id))
          .sort((a, b) => a - b).join()
        if (byServers !== held) expect(byServers).toBe(held)
      }
    }))
  })

  it("pciFits agrees with claim, and a claim takes only matching, available devices", () => {
    fc.assert(fc.property(clusterShape, fc.array(operation, { maxLength: 8 }),
      fc.subarray([...requests], { minLength: 1, maxLength: 2 }), fc.subarray([0, 1]),
      (initial, ops, reqs, cells) => {
        let state = clusters[initial]!
        for (const op of ops) {
          const r = apply(state, op)
          if (Result.isSuccess(r)) state = r.success.state
        }
        const numa = { numaPolicy: "legacy" as const, instanceNumaCells: cells }
        const r = claim(state, { host: "h0", instanceUuid: "probe", requests: reqs, ...numa })
        expect(pciFits(state, "h0", reqs, numa)).toBe(Result.isSuccess(r))
        if (Result.isFailure(r)) {
          expect(r.failure._tag).toBe("InsufficientCapacity")
          return
        }
        const before = Result.getOrThrow(pciDetail(state)).pci_devices
        const taken = r.success.devices.map((id) => before.find((d) => d.id === id)!)
        expect(taken.every((d) => d.status === "available")).toBe(true)
        expect(r.success.devices.length).toBe(reqs.reduce((n, q) => n + q.count, 0))
        expect(new Set(r.success.devices).size).toBe(r.success.devices.length)
      }))
  })
  it("claimAllocated is claim then allocate: same state, devices and errors", () => {
    fc.assert(fc.property(clusterShape, fc.array(operation, { maxLength: 8 }), fc.nat(2),
      fc.nat(3), fc.subarray([...requests], { minLength: 1, maxLength: 2 }), fc.subarray([0, 1]),
      (initial, ops, hostIndex, instance, reqs, cells) => {
        let state = clusters[initial]!
        for (const op of ops) {
          const r = apply(state, op)
          if (Result.isSuccess(r)) state = r.success.state
        }
        const input = { host: `h${hostIndex}`, instanceUuid: `vm-${instance}`, requests: reqs,
          numaPolicy: "legacy" as const, instanceNumaCells: cells }
        const before = snapshot(state)
        const one = claimAllocated(state, input)
        const claimed = claim(state, input)
        expect(snapshot(state)).toBe(before)
        if (Result.isFailure(claimed)) {
          expect(Result.isFailure(one) && { ...one.failure }).toEqual({ ...claimed.failure })
          return
        }
        const two = Result.getOrThrow(allocate(claimed.success.state, input))
        const done = Result.getOrThrow(one)
        expect(done.devices).toEqual(claimed.success.devices)
        expect(snapshot(done.state)).toBe(snapshot(two.state))
        expect(checkPciInvariants(done.state)).toEqual([])
      }))
  })
})
