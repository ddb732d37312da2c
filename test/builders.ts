/**
 * Small builders for test inventories, in the style of the Kubernetes scheduler's test helpers:
 * `host("h1").cpus(32).ram(65536).rack("r1").build()` gives the JSON a user would write.
 */
import { Result } from "effect"
import { decodeInventory, type Inventory } from "../core/inventory/index.ts"

type Json = Record<string, unknown>

export class HostBuilder {
  private readonly spec: Json
  constructor(name: string) {
    this.spec = { name, vcpus: 16, ramMb: 65536, cpuAllocationRatio: 1, ramAllocationRatio: 1 }
  }
  cpus(vcpus: number): this { this.spec["vcpus"] = vcpus; return this }
  ram(ramMb: number): this { this.spec["ramMb"] = ramMb; return this }
  zone(zone: string): this { this.spec["zone"] = zone; return this }
  rack(rack: string): this { this.spec["rack"] = rack; return this }
  status(status: "up" | "down" | "maintenance"): this { this.spec["status"] = status; return this }
  ratios(cpu: number, ram: number): this {
    this.spec["cpuAllocationRatio"] = cpu
    this.spec["ramAllocationRatio"] = ram
    return this
  }
  numa(...cells: Array<{ id: number; cpus: number; ramMb: number; socket?: number }>): this {
    this.spec["numaCells"] = cells
    return this
  }
  diskPool(name: string, sizeMb: number): this { return this.push("diskPools", { name, sizeMb }) }
  pci(device: Json): this { return this.push("pciDevices", device) }
  /** A PF at `0000:BB:00.0` with `vfs` VFs at `0000:BB:SS.F`, all of one vendor/product. */
  sriov(bus: number, vfs: number, opts: { vendor?: string; pfProduct?: string; vfProduct?: string;
    numa?: number; tags?: Record<string, string> } = {}): this {
    const b = bus.toString(16).padStart(2, "0")
    const pf = `0000:${b}:00.0`
    const common = { vendor_id: opts.vendor ?? "8086", numa_node: opts.numa ?? 0,
      ...(opts.tags === undefined ? {} : { extra_info: opts.tags }) }
    this.pci({ address: pf, product_id: opts.pfProduct ?? "1521", dev_type: "type-PF", ...common })
    for (let v = 0; v < vfs; v++) {
      const slot = (1 + Math.floor(v / 8)).toString(16).padStart(2, "0")
      this.pci({ address: `0000:${b}:${slot}.${v % 8}`, product_id: opts.vfProduct ?? "1520",
        dev_type: "type-VF", parent_addr: pf, ...common })
    }
    return this
  }
  pmem(name: string, sizeMb: number, numaNode = 0, alignMb = 2): this {
    return this.push("pmemDevices", { name, sizeMb, numaNode, alignMb })
  }
  vswitch(name: string): this { return this.push("vswitches", { name }) }
  build(): Json { return structuredClone(this.spec) }
  private push(key: string, item: Json): this {
    const list = (this.spec[key] as Json[] | undefined) ?? []
    list.push(item)
    this.spec[key] = list
    return this
  }
}

/** Starts a host builder. */
export const host = (name: string): HostBuilder => new HostBuilder(name)

/** Decodes an inventory built from host builders; a decode failure fails the test loudly. */
export function inventoryOf(...hosts: HostBuilder[]): Inventory {
  const result = decodeInventory({ hosts: hosts.map((h) => h.build()) })
  if (Result.isFailure(result)) throw new Error(`bad test inventory: ${result.failure.message}`)
  return result.success
}
