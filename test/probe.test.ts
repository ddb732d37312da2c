import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { Result } from "effect"
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest"
import { command } from "../adapters/cli/commands/probe.ts"
import { decodeInventory } from "../core/inventory/inventory.ts"
import { cpulistCount, inventoryEntry, probeHost, safeHostName } from "../adapters/probe/linux.ts"

let root = ""
const put = (path: string, text: string) => {
  const full = join(root, path)
  mkdirSync(dirname(full), { recursive: true })
  writeFileSync(full, text)
}

function pci(address: string, vendor: string, device: string, numa: number, cls: string,
  extra: { totalVfs?: number; physfn?: string } = {}) {
  const dir = `sys/bus/pci/devices/${address}`
  put(`${dir}/vendor`, `0x${vendor}\n`)
  put(`${dir}/device`, `0x${device}\n`)
  put(`${dir}/class`, `0x${cls}\n`)
  put(`${dir}/numa_node`, `${numa}\n`)
  if (extra.totalVfs !== undefined) put(`${dir}/sriov_totalvfs`, `${extra.totalVfs}\n`)
  if (extra.physfn !== undefined) symlinkSync(`../${extra.physfn}`, join(root, dir, "physfn"))
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "corral-probe-"))
  put("proc/cpuinfo", [0, 1, 2, 3, 4, 5].map((i) =>
    `processor\t: ${i}\nmodel name\t: Fake CPU @ 2.0GHz\n`).join("\n"))
  put("proc/meminfo", "MemTotal:       16777216 kB\nMemFree: 1 kB\n")
  put("sys/devices/system/node/node0/cpulist", "0-3\n")
  put("sys/devices/system/node/node0/meminfo", "Node 0 MemTotal:  8388608 kB\n")
  put("sys/devices/system/node/node1/cpulist", "4,5\n")
  put("sys/devices/system/node/node1/meminfo", "Node 1 MemTotal:  8388608 kB\n")
  // a memory-only node (e.g. CXL or NVDIMM as RAM): left out
  put("sys/devices/system/node/node2/cpulist", "\n")
  put("sys/devices/system/node/node2/meminfo", "Node 2 MemTotal:  1048576 kB\n")
  put("sys/devices/system/cpu/cpu0/topology/physical_package_id", "0\n")
  put("sys/devices/system/cpu/cpu4/topology/physical_package_id", "1\n")
  pci("0000:00:00.0", "8086", "0d57", -1, "060000")
  pci("0000:3b:00.0", "8086", "1572", 1, "020000", { totalVfs: 64 })
  pci("0000:3b:02.0", "8086", "154c", 1, "020000", { physfn: "0000:3b:00.0" })
  pci("0000:3b:02.1", "8086", "154c", 1, "020000", { physfn: "0000:3b:00.0" })
  pci("0000:5e:00.0", "10de", "1eb8", 2, "030200")
  pci("0000:5e:00.1", "15b3", "101e", 0, "020000", { physfn: "0000:99:00.0" })
})

afterAll(() => rmSync(root, { recursive: true, force: true }))

const ndctl = JSON.stringify([
  { dev: "namespace0.0", mode: "fsdax", size: 4 * 1024 ** 3 + 12345, align: 2 * 1024 ** 2,
    numa_node: 0 },
  { dev: "namespace1.0", mode: "devdax", size: 1024 ** 3, align: 1024 ** 3, numa_node: 1 },
  { dev: "namespace2.0", mode: "raw", size: 1024 ** 2 },
])

describe("Linux probe on a fake procfs/sysfs tree", () => {
  it("reads CPUs, NUMA cells with sockets, SR-IOV PF/VF and pmem", () => {
    const h = probeHost({ root, name: "fake-host", ndctlJson: ndctl })
    expect(h).toMatchObject({ name: "fake-host", vcpus: 6, ramMb: 16384,
      cpuModel: "Fake CPU @ 2.0GHz" })
    expect(h.numaCells).toEqual([{ id: 0, cpus: 4, ramMb: 8192, socket: 0 },
      { id: 1, cpus: 2, ramMb: 8192, socket: 1 }])
    expect(h.pciDevices).toEqual([
      { address: "0000:00:00.0", vendor_id: "8086", product_id: "0d57", dev_type: "type-PCI",
        numa_node: null, extra_info: { class: "060000" } },
      { address: "0000:3b:00.0", vendor_id: "8086", product_id: "1572", dev_type: "type-PF",
        numa_node: 1, extra_info: { class: "020000" } },
      { address: "0000:3b:02.0", vendor_id: "8086", product_id: "154c", dev_type: "type-VF",
        parent_addr: "0000:3b:00.0", numa_node: 1, extra_info: { class: "020000" } },
      { address: "0000:3b:02.1", vendor_id: "8086", product_id: "154c", dev_type: "type-VF",
        parent_addr: "0000:3b:00.0", numa_node: 1, extra_info: { class: "020000" } },
      // NUMA node 2 has no CPUs, so it is no cell: the GPU's node is unknown
      { address: "0000:5e:00.0", vendor_id: "10de", product_id: "1eb8", dev_type: "type-PCI",
        numa_node: null, extra_info: { class: "030200" } },
      // the VF at 5e:00.1 names a PF that is not on the host: dropped
    ])
    expect(h.pmemDevices).toEqual([
      { name: "namespace0.0", sizeMb: 4096, alignMb: 2, numaNode: 0 },
      { name: "namespace1.0", sizeMb: 1024, alignMb: 1024, numaNode: 1 },
      // namespace2.0 (1 MiB) is below its 2 MB alignment: left out
    ])
  })

  it("the entry decodes as an inventory, VFs under their PF", () => {
    const entry = inventoryEntry(probeHost({ root, name: "fake-host", ndctlJson: ndctl }))
    const inv = decodeInventory({ hosts: [entry] })
    if (Result.isFailure(inv)) throw new Error(inv.failure.message)
    const h = inv.success.hosts[0]!
    expect(h.pciDevices.filter((d) => d.dev_type === "type-VF").map((d) => d.parent_addr))
      .toEqual(["0000:3b:00.0", "0000:3b:00.0"])
    expect(h.pmemDevices.map((d) => d.name)).toEqual(["namespace0.0", "namespace1.0"])
  })

  it("falls back to /proc when there is no NUMA information", () => {
    const flat = mkdtempSync(join(tmpdir(), "corral-probe-flat-"))
    try {
      mkdirSync(join(flat, "proc"))
      writeFileSync(join(flat, "proc/cpuinfo"), "processor : 0\n\nprocessor : 1\n")
      writeFileSync(join(flat, "proc/meminfo"), "MemTotal: 2097152 kB\n")
      const h = probeHost({ root: flat, name: "flat" })
      expect(h.numaCells).toEqual([{ id: 0, cpus: 2, ramMb: 2048, socket: 0 }])
      expect(h.pciDevices).toEqual([])
      expect(() => probeHost({ root: join(flat, "nothing") })).toThrow(/cannot read CPUs/)
    } finally { rmSync(flat, { recursive: true, force: true }) }
  })

  const lists: ReadonlyArray<[string, number]> = [["0-3", 4], ["0", 1], ["0-1,4,6-7", 5],
    ["", 0], ["0-63\n", 64]]
  it.each(lists)("cpulist %j has %i CPUs", (list, n) => expect(cpulistCount(list)).toBe(n))

  it("makes host names inventory-safe", () => {
    expect(safeHostName("my host.example")).toBe("my-host.example")
    expect(safeHostName("-x")).toBe("x")
    expect(safeHostName("")).toBe("host")
  })
})

describe("Linux probe on this machine", () => {
  it("corral probe rejects an unknown option with usage", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => undefined)
    expect(await command.run(["--bogus", "1"])).toBe(2)
    expect(String(error.mock.calls[0]?.[0])).toContain("unknown option --bogus")
    error.mockRestore()
  })

  it("probes this host into an entry decodeInventory accepts", () => {
    const h = probeHost()
    expect(h.vcpus).toBeGreaterThan(0)
    expect(h.ramMb).toBeGreaterThan(0)
    const inv = decodeInventory({ hosts: [inventoryEntry(h)] })
    if (Result.isFailure(inv)) throw new Error(inv.failure.message)
    expect(inv.success.hosts[0]!.vcpus).toBe(h.vcpus)
  })

  it("corral probe prints an inventory document", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined)
    const code = await command.run(["--root", root, "--name", "cli-host"])
    const out = String(log.mock.calls[0]?.[0])
    log.mockRestore()
    expect(code).toBe(0)
    const doc = JSON.parse(out) as { hosts: Array<{ name: string; vcpus: number }> }
    expect(doc.hosts[0]).toMatchObject({ name: "cli-host", vcpus: 6 })
    expect(Result.isSuccess(decodeInventory(doc))).toBe(true)
  })
})
