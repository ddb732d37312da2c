import { Result } from "effect"
import { execFileSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { runScript } from "../adapters/cli/requests.ts"
import { hypervisorList, hypervisorShow } from "../adapters/cli/views.ts"
import { parseOffer } from "../adapters/offer.ts"
import { serverCount, serverRecords } from "../core/cluster/index.ts"
import { pciList, pciShow } from "../core/pci/index.ts"

const offer = (() => {
  const r = parseOffer(readFileSync("scenarios/default.json", "utf8"))
  if (Result.isFailure(r)) throw r.failure
  return r.success
})()

function run(steps: unknown[]) {
  const r = runScript(offer, { steps })
  if (Result.isFailure(r)) throw r.failure
  return r.success
}

describe("scripted requests", () => {
  it("places servers through the core and counts what could not be placed, with the reason", () => {
    const r = run([{ create: { name: "ml", count: 17, flavor: "gpu.xlarge",
      pci: [{ alias: "a100", count: 1 }] } }])
    expect(r.steps[0]).toMatchObject({ accepted: 16, rejected: 1 })
    expect(r.steps[0]!.reasons[0]).toMatch(/PciFilter returned 0 of/)
    const gpusFree = r.state.inventory.hosts.flatMap((h) =>
      hypervisorShow(r.state, h.name).pipe(Result.getOrThrow).hypervisor.pci_stats)
      .filter((p) => p.product_id === "20b0").reduce((s, p) => s + p.count, 0)
    expect(gpusFree).toBe(0)
  })

  it("places a hard anti-affinity group as one gang, all or nothing", () => {
    const ok = run([{ create: { name: "db", count: 8, flavor: "m1.xlarge",
      group: { rule: "anti-affinity", scope: "rack" } } }])
    const racks = new Set(serverRecords(ok.state).map((s) =>
      ok.state.inventory.hosts[s.hostIndex]!.rack))
    expect(racks.size).toBe(8)
    const refused = run([{ create: { name: "db", count: 9, flavor: "m1.xlarge",
      group: { rule: "anti-affinity", scope: "rack" } } }])
    expect(refused.steps[0]).toMatchObject({ accepted: 0, rejected: 9 })
    expect(serverCount(refused.state)).toBe(0)
  })

  it("creates pmem volumes from the seed's body and releases devices on delete", () => {
    const r = run([
      { create: { name: "kv", count: 1, flavor: "mem.large", pmem: { "add-pmem-vol": [
        { name: "pmem volume1", size: 1024, affinity: "True", device: "NVDIMM0" }] } } },
      { create: { name: "nfv", count: 1, flavor: "nfv.large", pci: [{ alias: "nic-vf", count: 2 }] } },
      { delete: { server: "nfv-01" } },
    ])
    const pmemHost = serverRecords(r.state).find((s) => s.uuid === "kv-01")!
    const usage = hypervisorShow(r.state, pmemHost.host).pipe(Result.getOrThrow).hypervisor
    expect(usage.pmem_devices.find((d) => d.device === "NVDIMM0")).toMatchObject(
      { usedMb: 1024, volumeCount: 1 })
    const held = pciList(r.state.pci).pipe(Result.getOrThrow).pci_devices
      .filter((d) => d.status !== "available")
    expect(held).toEqual([])
  })

  it("reports every bad step at once, with its path, and applies nothing", () => {
    const r = runScript(offer, { steps: [
      { create: { name: "x", flavor: "nope" } },
      { create: { name: "y", flavor: "m1.small", pci: [{ alias: "missing", count: 1 }] } },
      { create: { name: "z", flavor: "m1.small", pmem: { "add-pmem-vol": [{ name: "v", size: 0,
        device: "DRAM" }] } } },
    ] })
    if (Result.isSuccess(r)) throw new Error("expected a BadRequest")
    const paths = (r.failure.issues ?? []).map((i) => i.path)
    expect(paths).toContain("steps[0].create.flavor")
    expect(paths.some((p) => p.startsWith("steps[1].create.pci[0]"))).toBe(true)
    expect(paths.some((p) => p.startsWith("steps[2].create.pmem.add-pmem-vol[0].size"))).toBe(true)
  })
})

describe("inventory views", () => {
  it("lists hypervisors in the os-hypervisors shape", () => {
    const r = run([])
    const list = hypervisorList(r.state).hypervisors
    expect(list).toHaveLength(64)
    expect(list[0]).toEqual({ id: 1, hypervisor_hostname: "az1-r01-compute-01", state: "up",
      status: "enabled" })
    expect(Result.isFailure(hypervisorShow(r.state, "nope"))).toBe(true)
  })

  it("shows a PCI device in the seed's pci_device shape", () => {
    const r = run([])
    const device = pciShow(r.state.pci, 1).pipe(Result.getOrThrow).pci_device
    expect(Object.keys(device).sort()).toEqual(["address", "compute_node_id", "created_at",
      "deleted", "deleted_at", "dev_id", "dev_type", "extra_info", "id", "instance_uuid", "label",
      "product_id", "status", "updated_at", "vendor_id"])
  })
})

describe("the corral CLI", () => {
  const corral = (...args: string[]) => execFileSync("npx", ["tsx", "adapters/cli/main.ts", ...args],
    { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })

  it("prints pci-show --json in the seed's shape and fails clearly on an unknown id", () => {
    const shown = JSON.parse(corral("pci-show", "6", "--json")) as { pci_device: { id: number } }
    expect(shown.pci_device.id).toBe(6)
    expect(() => corral("pci-show", "999999")).toThrow(/PCI device 999999 could not be found/)
  })
})
