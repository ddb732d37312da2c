import { Result } from "effect"
import { describe, expect, it } from "vitest"
import {
  allocate, checkPciInvariants, claim, decodePciAliases, decodePciClaim, decodePciRequests, free,
  hypervisorPciStats, type PciRequest, type PciState, pciDetail, pciFits, pciFreeByHost,
  pciHostFreeCount, pciHostPools, pciList, pciPools, pciShow, pciStateOf, removeDevice, serverPciDevices,
} from "../core/pci/index.ts"
import { host, inventoryOf } from "./builders.ts"

/** The value of a Result, failing the test loudly on an error. */
function must<A, E>(r: Result.Result<A, E>): A {
  if (Result.isFailure(r)) throw new Error(`unexpected failure: ${String(r.failure)}`)
  return r.success
}
/** The error of a Result, failing the test on a success. */
function failure<A, E>(r: Result.Result<A, E>): E {
  if (Result.isSuccess(r)) throw new Error("expected a failure")
  return r.failure
}

const vf: PciRequest = { count: 1, spec: [{ vendor_id: "8086", product_id: "1520" }] }
const pf: PciRequest = { count: 1, spec: [{ vendor_id: "8086", dev_type: "type-PF" }] }
const gpu: PciRequest = { count: 1, spec: [{ vendor_id: "10de", product_id: "1eb8" }] }

/** h1: PF 0000:04:00.0 with 4 VFs (ids 1-5), a GPU on NUMA 1 (id 6); h2: one GPU (id 7). */
function cluster(): PciState {
  return pciStateOf(inventoryOf(
    host("h1").numa({ id: 0, cpus: 8, ramMb: 32768 }, { id: 1, cpus: 8, ramMb: 32768 })
      .sriov(4, 4, { tags: { physical_network: "physnet1" } })
      .pci({ address: "0000:81:00.0", vendor_id: "10de", product_id: "1eb8", numa_node: 1 }),
    host("h2").pci({ address: "0000:05:00.0", vendor_id: "10de", product_id: "1eb8" }),
  ))
}

function statuses(state: PciState, host = "h1"): string[] {
  return must(pciList(state, { host })).pci_devices.map((d) => d.status)
}

describe("pciStateOf", () => {
  it("numbers devices globally in inventory order, with compute_node_id = host index + 1", () => {
    const list = must(pciList(cluster())).pci_devices
    expect(list.map((d) => [d.id, d.compute_node_id, d.address])).toEqual([
      [1, 1, "0000:04:00.0"], [2, 1, "0000:04:01.0"], [3, 1, "0000:04:01.1"],
      [4, 1, "0000:04:01.2"], [5, 1, "0000:04:01.3"], [6, 1, "0000:81:00.0"],
      [7, 2, "0000:05:00.0"],
    ])
    expect(list.every((d) => d.status === "available")).toBe(true)
  })

  it("finds devices by id across hosts without devices", () => {
    const gpuAt = (bus: string) => ({ address: `0000:${bus}:00.0`, vendor_id: "10de",
      product_id: "1eb8" })
    const s = pciStateOf(inventoryOf(host("a").pci(gpuAt("01")), host("b"), host("c"),
      host("d").pci(gpuAt("02")).pci(gpuAt("03")), host("e")))
    expect([1, 2, 3].map((id) => must(pciShow(s, id)).pci_device.compute_node_id))
      .toEqual([1, 4, 4])
    expect(failure(pciShow(s, 4))).toMatchObject({ _tag: "NotFound", id: "4" })
    const out = new Int32Array(8).fill(-1)
    expect([...pciFreeByHost(s, gpu, out)]).toEqual([1, 0, 0, 2, 0, -1, -1, -1])
    expect(() => pciFreeByHost(s, gpu, new Int32Array(2))).toThrow(RangeError)
  })

  it("groups devices into pools by vendor, product, NUMA node, type and tags", () => {
    const stats = must(hypervisorPciStats(cluster(), "h1")).pci_stats
    expect(stats).toEqual([
      { count: 1, vendor_id: "8086", product_id: "1521", numa_node: 0, dev_type: "type-PF",
        extra_info: { physical_network: "physnet1" } },
      { count: 4, vendor_id: "8086", product_id: "1520", numa_node: 0, dev_type: "type-VF",
        extra_info: { physical_network: "physnet1" } },
      { count: 1, vendor_id: "10de", product_id: "1eb8", numa_node: 1, dev_type: "type-PCI",
        extra_info: {} },
    ])
  })
})

describe("views in the seed's shapes", () => {
  it("os-pci/{id} has exactly the seed's fields", () => {
    const s = must(claim(cluster(), { host: "h1", instanceUuid: "246ca", requests: [vf] })).state
    expect(must(pciShow(s, 2))).toEqual({ pci_device: {
      address: "0000:04:01.0", compute_node_id: 1, created_at: null, deleted: false,
      deleted_at: null, dev_id: "pci_0000_04_01_0", dev_type: "type-VF",
      extra_info: { physical_network: "physnet1", phys_function: "0000:04:00.0" }, id: 2,
      instance_uuid: "246ca", label: "label_8086_1520", product_id: "1520", status: "claimed",
      updated_at: null, vendor_id: "8086",
    } })
    expect(Object.keys(must(pciDetail(s)).pci_devices[0]!)).toEqual(Object.keys(
      must(pciShow(s, 2)).pci_device))
  })

  it("os-pci rows have exactly the seed's fields", () => {
    expect(must(pciList(cluster(), { host: "h2" }))).toEqual({ pci_devices: [{
      address: "0000:05:00.0", compute_node_id: 2, id: 7, product_id: "1eb8", status: "available",
      vendor_id: "10de" }] })
  })

  it("the server view lists the instance's devices; empty for one holding none", () => {
    const s = must(claim(cluster(), { host: "h1", instanceUuid: "vm", requests: [vf, gpu] })).state
    expect(serverPciDevices(s, "vm")).toEqual({ "os-pci:pci_devices": [{ id: 2 }, { id: 6 }] })
    expect(serverPciDevices(s, "other")).toEqual({ "os-pci:pci_devices": [] })
  })

  it("pci_stats leaves out pools with nothing available, as Nova does", () => {
    const s = must(claim(cluster(), { host: "h2", instanceUuid: "vm", requests: [gpu] })).state
    expect(must(hypervisorPciStats(s, "h2"))).toEqual({ pci_stats: [] })
  })

  const notFound: Array<[string, (s: PciState) => Result.Result<unknown, unknown>, string]> = [
    ["an unknown device id", (s) => pciShow(s, 99), "PCI device"],
    ["device id 0", (s) => pciShow(s, 0), "PCI device"],
    ["an unknown hypervisor", (s) => hypervisorPciStats(s, "nope"), "Host"],
    ["an unknown host filter", (s) => pciList(s, { host: "nope" }), "Host"],
  ]
  it.each(notFound)("answers NotFound for %s", (_what, view, resource) => {
    const e = failure(view(cluster())) as { _tag: string; resource: string }
    expect(e._tag).toBe("NotFound")
    expect(e.resource).toBe(resource)
  })
})

describe("claim → allocate → free", () => {
  it("walks a VF through its lifecycle, the PF following it", () => {
    const s0 = cluster()
    const c = must(claim(s0, { host: "h1", instanceUuid: "vm", requests: [vf] }))
    expect(c.devices).toEqual([2])
    expect(statuses(c.state)).toEqual(["unclaimable", "claimed", "available", "available",
      "available", "available"])
    const a = must(allocate(c.state, { host: "h1", instanceUuid: "vm" }))
    expect(a.devices).toEqual([2])
    expect(statuses(a.state).slice(0, 2)).toEqual(["unavailable", "allocated"])
    const f = must(free(a.state, { instanceUuid: "vm" }))
    expect(f.devices).toEqual([2])
    expect(statuses(f.state)).toEqual(statuses(s0))
    expect(checkPciInvariants(f.state)).toEqual([])
  })

  it("a PF claim makes its VFs unclaimable, allocation makes them unavailable", () => {
    const c = must(claim(cluster(), { host: "h1", instanceUuid: "vm", requests: [pf] }))
    expect(statuses(c.state).slice(0, 5)).toEqual(["claimed", "unclaimable", "unclaimable",
      "unclaimable", "unclaimable"])
    const a = must(allocate(c.state, { host: "h1", instanceUuid: "vm" }))
    expect(statuses(a.state).slice(0, 5)).toEqual(["allocated", "unavailable", "unavailable",
      "unavailable", "unavailable"])
    expect(failure(claim(a.state, { host: "h1", instanceUuid: "x", requests: [vf] })))
      .toMatchObject({ _tag: "InsufficientCapacity", resource: "pci:8086:1520", requested: 1,
        free: 0, capacity: 4, host: "h1" })
  })

  it("the PF returns only when all its VFs are free", () => {
    let s = must(claim(cluster(), { host: "h1", instanceUuid: "a", requests: [vf] })).state
    s = must(claim(s, { host: "h1", instanceUuid: "b", requests: [vf] })).state
    s = must(allocate(s, { host: "h1", instanceUuid: "b" })).state
    expect(statuses(s)[0]).toBe("unavailable")
    expect(pciFits(s, "h1", [pf])).toBe(false)
    s = must(free(s, { instanceUuid: "b" })).state
    expect(statuses(s)[0]).toBe("unclaimable")
    s = must(free(s, { instanceUuid: "a" })).state
    expect(statuses(s)[0]).toBe("available")
    expect(pciFits(s, "h1", [pf])).toBe(true)
  })

  it("a generic request never takes a PF; one asking for type-PF does", () => {
    const any8086: PciRequest = { count: 5, spec: [{ vendor_id: "8086" }] }
    const e = failure(claim(cluster(), { host: "h1", instanceUuid: "vm", requests: [any8086] }))
    expect(e).toMatchObject({ _tag: "InsufficientCapacity", requested: 5, free: 4, capacity: 4 })
  })

  it("alternatives are ORed, keys ANDed, values case-insensitive", () => {
    const req: PciRequest = { count: 5, spec: [
      { vendor_id: "10DE", product_id: "FFFF" },
      { vendor_id: "10de", product_id: "1EB8" },
      { physical_network: "PHYSNET1", dev_type: "TYPE-VF" },
    ] }
    const c = must(claim(cluster(), { host: "h1", instanceUuid: "vm", requests: [req] }))
    expect(c.devices).toEqual([2, 3, 4, 5, 6])
    const tagMiss: PciRequest = { count: 1, spec: [{ physical_network: "physnet2" }] }
    expect(pciFits(cluster(), "h1", [tagMiss])).toBe(false)
  })

  it("several requests are met together or not at all", () => {
    const s0 = cluster()
    const e = failure(claim(s0, { host: "h1", instanceUuid: "vm",
      requests: [vf, { ...gpu, count: 2 }] }))
    expect(e).toMatchObject({ _tag: "InsufficientCapacity", resource: "pci:10de:1eb8",
      requested: 2, free: 1, capacity: 1 })
    expect(serverPciDevices(s0, "vm")["os-pci:pci_devices"]).toEqual([])
  })

  it("an instance may claim again; free releases everything it holds, on every host", () => {
    let s = must(claim(cluster(), { host: "h1", instanceUuid: "vm", requests: [vf] })).state
    s = must(allocate(s, { host: "h1", instanceUuid: "vm" })).state
    s = must(claim(s, { host: "h1", instanceUuid: "vm", requests: [vf] })).state
    s = must(claim(s, { host: "h2", instanceUuid: "vm", requests: [gpu] })).state
    expect(statuses(s).slice(1, 3)).toEqual(["allocated", "claimed"])
    const partial = must(allocate(s, { host: "h1", instanceUuid: "vm" }))
    expect(partial.devices).toEqual([3])
    const f = must(free(partial.state, { instanceUuid: "vm" }))
    expect(f.devices).toEqual([2, 3, 7])
    expect(statuses(f.state)).toEqual(statuses(cluster()))
    expect(statuses(f.state, "h2")).toEqual(["available"])
  })

  it("free on one host keeps the instance's devices elsewhere", () => {
    let s = must(claim(cluster(), { host: "h1", instanceUuid: "vm", requests: [vf] })).state
    s = must(claim(s, { host: "h2", instanceUuid: "vm", requests: [gpu] })).state
    s = must(free(s, { instanceUuid: "vm", host: "h1" })).state
    expect(serverPciDevices(s, "vm")).toEqual({ "os-pci:pci_devices": [{ id: 7 }] })
  })

  const illegal: Array<[string, (s: PciState) => Result.Result<unknown, { _tag: string }>,
    string, RegExp | string]> = [
    ["claim on an unknown host",
      (s) => claim(s, { host: "h9", instanceUuid: "vm", requests: [vf] }), "NotFound", "Host"],
    ["allocate for an unknown instance",
      (s) => allocate(s, { host: "h1", instanceUuid: "ghost" }), "NotFound", "Instance"],
    ["free for an unknown instance",
      (s) => free(s, { instanceUuid: "ghost" }), "NotFound", "Instance"],
    ["allocate on a host where the instance holds nothing",
      (s) => allocate(must(claim(s, { host: "h1", instanceUuid: "vm", requests: [vf] })).state,
        { host: "h2", instanceUuid: "vm" }), "Conflict", /holds no PCI devices on host h2/],
    ["allocate twice",
      (s) => {
        const c = must(claim(s, { host: "h1", instanceUuid: "vm", requests: [vf] })).state
        return allocate(must(allocate(c, { host: "h1", instanceUuid: "vm" })).state,
          { host: "h1", instanceUuid: "vm" })
      }, "Conflict", /all allocated/],
    ["remove an unknown device", (s) => removeDevice(s, { id: 42 }), "NotFound", "PCI device"],
    ["remove a device twice",
      (s) => removeDevice(must(removeDevice(s, { id: 6 })).state, { id: 6 }), "Conflict",
      /already removed/],
  ]
  it.each(illegal)("refuses %s", (_what, op, tag, detail) => {
    const e = failure(op(cluster())) as { _tag: string; message: string; resource?: string }
    expect(e._tag).toBe(tag)
    if (typeof detail === "string") expect(e.resource).toBe(detail)
    else expect(e.message).toMatch(detail)
  })

  const badClaims: Array<[string, Partial<Parameters<typeof claim>[1]>, string]> = [
    ["an empty uuid", { instanceUuid: "" }, "instanceUuid"],
    ["a uuid with a space", { instanceUuid: "vm 1" }, "instanceUuid"],
    ["a uuid starting with punctuation", { instanceUuid: "-vm" }, "instanceUuid"],
    ["a uuid of 65 characters", { instanceUuid: "a".repeat(65) }, "instanceUuid"],
    ["no requests", { requests: [] }, "requests"],
    ["a zero count", { requests: [vf, { ...vf, count: 0 }] }, "requests[1].count"],
    ["a request without alternatives", { requests: [{ count: 1, spec: [] }] }, "requests[0].spec"],
    ["a NUMA cell the host lacks", { instanceNumaCells: [0, 3] }, "instanceNumaCells[1]"],
  ]
  it.each(badClaims)("answers BadRequest with the path for %s", (_what, patch, path) => {
    const e = failure(claim(cluster(), { host: "h1", instanceUuid: "vm", requests: [vf],
      ...patch }))
    expect(e).toMatchObject({ _tag: "BadRequest", path })
  })
})

describe("NUMA affinity policies", () => {
  /** One GPU on each of cells 0, 1 (socket 0) and 2 (socket 1), one with no NUMA node. */
  function numaHost(): PciState {
    return pciStateOf(inventoryOf(host("n").cpus(12).ram(3072).numa(
      { id: 0, cpus: 4, ramMb: 1024, socket: 0 }, { id: 1, cpus: 4, ramMb: 1024, socket: 0 },
      { id: 2, cpus: 4, ramMb: 1024, socket: 1 })
      .pci({ address: "0000:01:00.0", vendor_id: "10de", product_id: "1eb8", numa_node: 0 })
      .pci({ address: "0000:02:00.0", vendor_id: "10de", product_id: "1eb8", numa_node: 1 })
      .pci({ address: "0000:03:00.0", vendor_id: "10de", product_id: "1eb8", numa_node: 2 })
      .pci({ address: "0000:04:00.0", vendor_id: "10de", product_id: "1eb8", numa_node: null })))
  }
  const gpus = (count: number): PciRequest => ({ count, spec: [{ vendor_id: "10de" }] })
  // [policy, instance cells, count, device ids taken or the free count in the error]
  const table: Array<[string, number[], number, number[] | { free: number }]> = [
    ["required", [1], 1, [2]],
    ["required", [1], 2, { free: 1 }],
    ["legacy", [1], 1, [2]],
    ["legacy", [1], 2, [2, 4]],
    ["legacy", [1], 3, { free: 2 }],
    ["preferred", [1], 2, [2, 4]],
    ["preferred", [1], 4, [2, 4, 1, 3]],
    ["socket", [0], 1, [1]],
    ["socket", [0], 2, [1, 2]],
    ["socket", [0], 3, { free: 2 }],
    ["socket", [2], 2, { free: 1 }],
    ["required", [], 4, [1, 2, 3, 4]],
    ["legacy", [0, 2], 2, [1, 3]],
  ]
  it.each(table)("%s on cells %j for %i device(s)", (policy, cells, count, expected) => {
    const r = claim(numaHost(), { host: "n", instanceUuid: "vm", requests: [gpus(count)],
      numaPolicy: policy as "required", instanceNumaCells: cells })
    if (Array.isArray(expected)) expect(must(r).devices).toEqual(expected)
    else expect(failure(r)).toMatchObject({ _tag: "InsufficientCapacity", ...expected })
  })

  it("a request's own policy overrides the claim's", () => {
    const r = claim(numaHost(), { host: "n", instanceUuid: "vm", numaPolicy: "required",
      instanceNumaCells: [1], requests: [{ ...gpus(3), numaPolicy: "preferred" }] })
    expect(must(r).devices).toEqual([2, 4, 1])
  })
})

describe("removal", () => {
  it("removes a free device at once and leaves its pool", () => {
    const r = must(removeDevice(cluster(), { id: 6 }))
    expect(r.deferred).toBe(false)
    expect(statuses(r.state)[5]).toBe("removed")
    expect(pciFits(r.state, "h1", [gpu])).toBe(false)
    expect(failure(claim(r.state, { host: "h1", instanceUuid: "vm", requests: [gpu] })))
      .toMatchObject({ free: 0, capacity: 0 })
  })

  it("defers removing a device in use until it is freed", () => {
    let s = must(claim(cluster(), { host: "h1", instanceUuid: "vm", requests: [vf] })).state
    s = must(allocate(s, { host: "h1", instanceUuid: "vm" })).state
    const r = must(removeDevice(s, { id: 2 }))
    expect(r.deferred).toBe(true)
    expect(statuses(r.state)[1]).toBe("allocated")
    expect(failure(removeDevice(r.state, { id: 2 }))).toMatchObject({ _tag: "Conflict" })
    s = must(free(r.state, { instanceUuid: "vm" })).state
    expect(statuses(s).slice(0, 3)).toEqual(["available", "removed", "available"])
    expect(checkPciInvariants(s)).toEqual([])
  })

  it("a removed VF no longer keeps its PF from being claimed", () => {
    let s = cluster()
    for (const id of [2, 3, 4, 5]) s = must(removeDevice(s, { id })).state
    expect(must(claim(s, { host: "h1", instanceUuid: "vm", requests: [pf] })).devices).toEqual([1])
  })
})

describe("large pools", () => {
  /** One PF with 200 VFs (ids 2-201), found through the pool's availability bitmaps. */
  function bigHost(): PciState {
    return pciStateOf(inventoryOf(host("big").pci({ address: "0000:3b:00.0", vendor_id: "8086",
      product_id: "1572", dev_type: "type-PF",
      vfs: { count: 200, product_id: "154c", firstSlot: 1 } })))
  }
  const vfs = (count: number): PciRequest => ({ count, spec: [{ product_id: "154c" }] })

  it("takes the lowest free VFs first and refills holes lowest first", () => {
    let s = must(claim(bigHost(), { host: "big", instanceUuid: "a", requests: [vfs(150)] })).state
    expect(serverPciDevices(s, "a")["os-pci:pci_devices"].map((d) => d.id))
      .toEqual(Array.from({ length: 150 }, (_, i) => i + 2))
    const b = must(claim(s, { host: "big", instanceUuid: "b", requests: [vfs(50)] }))
    expect(b.devices).toEqual(Array.from({ length: 50 }, (_, i) => i + 152))
    expect(failure(claim(b.state, { host: "big", instanceUuid: "c", requests: [vfs(1)] })))
      .toMatchObject({ free: 0, capacity: 200 })
    s = must(free(b.state, { instanceUuid: "a" })).state
    const c = must(claim(s, { host: "big", instanceUuid: "c", requests: [vfs(3)] }))
    expect(c.devices).toEqual([2, 3, 4])
    expect(checkPciInvariants(c.state)).toEqual([])
    expect(must(hypervisorPciStats(c.state, "big")).pci_stats.map((p) => p.count)).toEqual([147])
  })
})

describe("removal of PFs", () => {
  it("a PF kept unavailable by a VF is removed at once, and stays removed after", () => {
    let s = must(claim(cluster(), { host: "h1", instanceUuid: "vm", requests: [vf] })).state
    const r = must(removeDevice(s, { id: 1 }))
    expect(r.deferred).toBe(false)
    s = must(free(r.state, { instanceUuid: "vm" })).state
    expect(statuses(s).slice(0, 3)).toEqual(["removed", "available", "available"])
    expect(checkPciInvariants(s)).toEqual([])
  })

  it("an allocated PF whose removal waits frees its VFs when released", () => {
    let s = must(claim(cluster(), { host: "h1", instanceUuid: "vm", requests: [pf] })).state
    s = must(allocate(s, { host: "h1", instanceUuid: "vm" })).state
    s = must(removeDevice(s, { id: 1 })).state
    expect(statuses(s).slice(0, 2)).toEqual(["allocated", "unavailable"])
    s = must(free(s, { instanceUuid: "vm" })).state
    expect(statuses(s).slice(0, 5)).toEqual(["removed", "available", "available", "available",
      "available"])
    expect(must(hypervisorPciStats(s, "h1")).pci_stats.map((p) => [p.dev_type, p.count]))
      .toEqual([["type-VF", 4], ["type-PCI", 1]])
  })

  it("free names an unknown host NotFound and a host without holdings a Conflict", () => {
    const s = must(claim(cluster(), { host: "h1", instanceUuid: "vm", requests: [vf] })).state
    expect(failure(free(s, { instanceUuid: "vm", host: "h9" }))).toMatchObject({
      _tag: "NotFound", resource: "Host" })
    expect(failure(free(s, { instanceUuid: "vm", host: "h2" }))).toMatchObject({
      _tag: "Conflict" })
  })
})

describe("scheduler queries", () => {
  it("pciFits is claim's decision; pciFreeByHost counts matching free devices per host", () => {
    const s = cluster()
    expect(pciFits(s, "h1", [{ ...vf, count: 4 }])).toBe(true)
    expect(pciFits(s, "h1", [{ ...vf, count: 5 }])).toBe(false)
    expect(pciFits(s, "h9", [vf])).toBe(false)
    expect([...pciFreeByHost(s, gpu)]).toEqual([1, 1])
    expect([...pciFreeByHost(s, vf)]).toEqual([4, 0])
    expect(must(pciPools(s, "h1")).map((p) => [p.devType, p.size, p.free])).toEqual([
      ["type-PF", 1, 1], ["type-VF", 4, 4], ["type-PCI", 1, 1]])
  })
})

describe("one host's free count", () => {
  it("is that host's entry of pciFreeByHost, before and after claims and frees", () => {
    let s = cluster()
    const specs = [vf, pf, gpu, { count: 1, spec: [vf.spec[0]!, gpu.spec[0]!] }]
    const pools = specs.map((r) => [0, 1].map((h) => pciHostPools(s, h, r.spec)))
    const check = () => specs.forEach((r, k) => {
      const column = [...pciFreeByHost(s, r)]
      expect([0, 1].map((h) => pciHostFreeCount(s, h, pools[k]![h]!))).toEqual(column)
    })
    check()
    s = must(claim(s, { host: "h1", instanceUuid: "a", requests: [{ ...vf, count: 2 }, gpu] }))
      .state
    check()
    expect(pciHostFreeCount(s, 0, pools[0]![0]!)).toBe(2)
    expect(pciHostFreeCount(s, 0, pools[1]![0]!)).toBe(0)
    s = must(free(s, { instanceUuid: "a" })).state
    check()
    expect(pciHostFreeCount(s, 0, pools[1]![0]!)).toBe(1)
  })

  it("refuses a host or pool index the layout does not have", () => {
    const s = cluster()
    expect(() => pciHostPools(s, 2, vf.spec)).toThrow(RangeError)
    expect(() => pciHostFreeCount(s, -1, [])).toThrow(/host index -1/)
    expect(() => pciHostFreeCount(s, 0, [3])).toThrow(/pools\[0\] is 3/)
  })
})

describe("decoding requests and aliases", () => {
  const aliases = must(decodePciAliases({
    "nic-vf": { spec: [{ vendor_id: "8086", product_id: "1520" }], numa_policy: "preferred" },
    "gpu": [{ vendor_id: "10de" }],
  }))

  it("resolves aliases, keeping the alias name for errors", () => {
    const reqs = must(decodePciRequests([{ count: 2, alias: "nic-vf" }, { count: 1, alias: "gpu",
      numa_policy: "required" }], aliases))
    expect(reqs).toEqual([
      { count: 2, spec: [{ vendor_id: "8086", product_id: "1520" }], alias: "nic-vf",
        numaPolicy: "preferred" },
      { count: 1, spec: [{ vendor_id: "10de" }], alias: "gpu", numaPolicy: "required" },
    ])
    const e = failure(claim(cluster(), { host: "h2", instanceUuid: "vm", requests: reqs }))
    expect(e).toMatchObject({ _tag: "InsufficientCapacity", resource: "nic-vf", requested: 2 })
  })

  it("accepts Nova's alias list form, entries with one name being alternatives", () => {
    const nova = must(decodePciAliases([
      { name: "qat", vendor_id: "8086", product_id: "0443", device_type: "type-PCI" },
      { name: "qat", vendor_id: "8086", product_id: "37c9", numa_policy: "legacy" },
    ]))
    expect(nova.get("qat")).toEqual({ spec: [
      { vendor_id: "8086", product_id: "0443", dev_type: "type-pci" },
      { vendor_id: "8086", product_id: "37c9" }], numaPolicy: "legacy" })
  })

  const bad: Array<[string, unknown, string]> = [
    ["a zero count", [{ count: 0, spec: [{ vendor_id: "8086" }] }], "[0].count"],
    ["a bad vendor id", [{ count: 1, spec: [{ vendor_id: "80861" }] }], "[0].spec[0].vendor_id"],
    ["a bad dev_type", [{ count: 1, spec: [{}, { dev_type: "type-X" }] }],
      "[0].spec[1].dev_type"],
    ["an empty alternative", [{ count: 1, spec: [{}] }], "[0].spec[0]"],
    ["a NUMA key in a spec", [{ count: 1, spec: [{ numa_node: "1" }] }], "[0].spec[0].numa_node"],
    ["an unknown alias", [{ count: 1, alias: "fpga" }], "[0].alias"],
    ["both spec and alias", [{ count: 1, alias: "gpu", spec: [{ vendor_id: "10de" }] }], "[0]"],
    ["neither spec nor alias", [{ count: 1 }], "[0]"],
    ["an unknown field", [{ count: 1, alias: "gpu", colour: "red" }], "[0].colour"],
    ["no requests", [], ""],
  ]
  it.each(bad)("rejects %s at its path", (_what, input, path) => {
    const e = failure(decodePciRequests(input, aliases))
    expect(e._tag).toBe("BadRequest")
    expect((e.issues ?? []).map((i) => i.path)).toContain(path)
  })

  it("reports bad aliases with their paths", () => {
    const e = failure(decodePciAliases({ "ok": [{ vendor_id: "8086" }], "bad": { spec: [
      { product_id: "zz" }, { dev_type: "type-PF", label: "x" }] } }))
    expect((e.issues ?? []).map((i) => i.path)).toEqual([
      "bad.spec[0].product_id", "bad.spec[1].label"])
    const named = failure(decodePciAliases({ "-no": [{ vendor_id: "8086" }] }))
    expect(named.issues?.[0]?.path).toBe('["-no"]')
    const nova = failure(decodePciAliases([{ vendor_id: "8086" }]))
    expect(nova.issues?.[0]?.path).toBe("[0].name")
  })

  it("decodes a whole claim, paths under requests", () => {
    const c = must(decodePciClaim({ host: "h1", instanceUuid: "vm", requests: [{ count: 1,
      alias: "gpu" }], numaPolicy: "socket", instanceNumaCells: [1] }, aliases))
    expect(must(claim(cluster(), c)).devices).toEqual([6])
    const e = failure(decodePciClaim({ host: "h1", instanceUuid: "vm", requests: [{ count: 1,
      alias: "nope" }] }, aliases))
    expect(e.path).toBe("requests[0].alias")
  })
})
