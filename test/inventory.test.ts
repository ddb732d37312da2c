import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { decodeInventory } from "../core/inventory/index.ts"
import { host, inventoryOf } from "./builders.ts"

function issuesOf(input: unknown) {
  const r = decodeInventory(input)
  if (Result.isSuccess(r)) throw new Error("expected a BadRequest")
  expect(r.failure._tag).toBe("BadRequest")
  return r.failure.issues ?? []
}

describe("decodeInventory", () => {
  it("applies defaults and derives capacities", () => {
    const inv = inventoryOf(host("h1").cpus(32).ram(131072).ratios(4, 1.5).pmem("DRAM", 8192))
    const h = inv.hosts[0]!
    expect(h.zone).toBe("default")
    expect(h.status).toBe("up")
    expect(h.numaCells).toEqual([{ id: 0, cpus: 32, ramMb: 131072, socket: 0, dramPmemMb: 8192 }])
    expect(h.vcpuCapacity).toBe(128)
    expect(h.ramCapacityMb).toBe(Math.floor((131072 - 8192) * 1.5))
    expect(h.pmemDevices[0]).toEqual({ name: "DRAM", sizeMb: 8192, alignMb: 2, numaNode: 0 })
  })

  it("uses Nova's initial allocation ratios when none are given", () => {
    const r = decodeInventory({ hosts: [{ name: "h", vcpus: 8, ramMb: 1024 }] })
    if (Result.isFailure(r)) throw r.failure
    expect(r.success.hosts[0]!.vcpuCapacity).toBe(32)
    expect(r.success.hosts[0]!.ramCapacityMb).toBe(1024)
  })

  it("reports every shape problem at once, each with its path", () => {
    const issues = issuesOf({
      hosts: [
        { name: "h1", vcpus: 0, ramMb: "lots", status: "broken", bogus: 1 },
        { vcpus: 4, ramMb: 1024, pciDevices: [{ address: "04:10.0", vendor_id: "8086x", product_id: "1520" }] },
      ],
    })
    const paths = issues.map((i) => i.path)
    expect(paths).toEqual(expect.arrayContaining([
      "hosts[0].vcpus", "hosts[0].ramMb", "hosts[0].status", "hosts[0].bogus",
      "hosts[1].name", "hosts[1].pciDevices[0].address", "hosts[1].pciDevices[0].vendor_id",
    ]))
    expect(issues.find((i) => i.path === "hosts[1].pciDevices[0].address")!.message)
      .toContain("0000:04:10.0")
  })

  const rules: Array<[string, unknown, string, RegExp]> = [
    ["duplicate host names",
      { hosts: [host("a").build(), host("a").build()] }, "hosts[1].name", /already hosts\[0\]/],
    ["duplicate PCI addresses on a host",
      { hosts: [host("a").pci({ address: "0000:04:00.0", vendor_id: "10de", product_id: "1eb8" })
        .pci({ address: "0000:04:00.0", vendor_id: "10de", product_id: "1eb8" }).build()] },
      "hosts[0].pciDevices[1].address", /unique PCI address/],
    ["a VF whose parent PF is missing",
      { hosts: [host("a").pci({ address: "0000:04:10.0", vendor_id: "8086", product_id: "1520",
        dev_type: "type-VF", parent_addr: "0000:04:00.0" }).build()] },
      "hosts[0].pciDevices[0].parent_addr", /type-PF device .* missing/],
    ["a VF without a parent",
      { hosts: [host("a").pci({ address: "0000:04:10.0", vendor_id: "8086", product_id: "1520",
        dev_type: "type-VF" }).build()] },
      "hosts[0].pciDevices[0].parent_addr", /parent PF/],
    ["a VF whose parent is not a PF",
      { hosts: [host("a").pci({ address: "0000:04:00.0", vendor_id: "8086", product_id: "1520" })
        .pci({ address: "0000:04:10.0", vendor_id: "8086", product_id: "1520",
          dev_type: "type-VF", parent_addr: "0000:04:00.0" }).build()] },
      "hosts[0].pciDevices[1].parent_addr", /is a type-PCI/],
    ["a DRAM pmem device larger than its NUMA cell",
      { hosts: [host("a").ram(65536).numa({ id: 0, cpus: 8, ramMb: 32768 }, { id: 1, cpus: 8, ramMb: 32768 })
        .pmem("DRAM", 40000, 1).build()] },
      "hosts[0].pmemDevices[0].sizeMb", /smaller than the RAM of NUMA cell 1/],
    ["a pmem device on a missing NUMA cell",
      { hosts: [host("a").pmem("NVDIMM0", 1024, 3).build()] },
      "hosts[0].pmemDevices[0].numaNode", /not one/],
    ["a pmem size that is not a multiple of its alignment",
      { hosts: [host("a").pmem("NVDIMM0", 1025).build()] },
      "hosts[0].pmemDevices[0].sizeMb", /multiple of alignMb/],
    ["NUMA cells that do not add up to the host",
      { hosts: [host("a").cpus(16).numa({ id: 0, cpus: 8, ramMb: 65536 }).build()] },
      "hosts[0].numaCells", /add up to vcpus/],
    ["a PCI device on a missing NUMA cell",
      { hosts: [host("a").pci({ address: "0000:04:00.0", vendor_id: "10de", product_id: "1eb8",
        numa_node: 2 }).build()] },
      "hosts[0].pciDevices[0].numa_node", /not one/],
    ["duplicate disk pool names",
      { hosts: [host("a").diskPool("ECKD:POOL1", 10).diskPool("ECKD:POOL1", 10).build()] },
      "hosts[0].diskPools[1].name", /repeats/],
    ["a malformed z/VM disk pool",
      { hosts: [host("a").diskPool("ECKD:WAYTOOLONGNAME", 10).build()] },
      "hosts[0].diskPools[0].name", /ECKD:NAME/],
  ]
  it.each(rules)("rejects %s", (_what, input, path, message) => {
    const issue = issuesOf(input).find((i) => i.path === path)
    expect(issue, `no issue at ${path}`).toBeDefined()
    expect(issue!.message).toMatch(message)
  })
})

describe("the vfs shorthand on a PF", () => {
  it("declares VFs at the PF's bus with the PF as parent", () => {
    const inv = inventoryOf(host("a").pci({ address: "0000:3b:00.0", vendor_id: "8086",
      product_id: "1572", dev_type: "type-PF", numa_node: 0,
      extra_info: { physical_network: "physnet1" }, vfs: { count: 10, product_id: "154c" } }))
    const devices = inv.hosts[0]!.pciDevices
    expect(devices).toHaveLength(11)
    expect(devices[1]).toEqual({ address: "0000:3b:10.0", vendor_id: "8086", product_id: "154c",
      dev_type: "type-VF", parent_addr: "0000:3b:00.0", numa_node: 0,
      extra_info: { physical_network: "physnet1" } })
    expect(devices[10]!.address).toBe("0000:3b:11.1")
  })

  it("is refused on a device that is not a PF, and when the slots run out", () => {
    const issues = issuesOf({ hosts: [host("a")
      .pci({ address: "0000:04:00.0", vendor_id: "10de", product_id: "20b0",
        vfs: { count: 2, product_id: "0001" } })
      .pci({ address: "0000:05:00.0", vendor_id: "8086", product_id: "1572", dev_type: "type-PF",
        vfs: { count: 200, product_id: "154c", firstSlot: 8 } }).build()] })
    expect(issues.map((i) => i.path)).toEqual([
      "hosts[0].pciDevices[0].vfs", "hosts[0].pciDevices[1].vfs"])
  })
})
