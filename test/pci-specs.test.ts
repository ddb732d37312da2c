import { Result } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  claim, type PciRequest, type PciState, pciFits, pciFreeByHost, pciHostPools, pciPools,
  pciStateOf,
} from "../core/pci/index.ts"
import { specMemoLimits } from "../core/pci/specs.ts"
import { host, inventoryOf } from "./builders.ts"

/** h0: a tagged PF with 3 VFs and a GPU on NUMA 1; h1: an untagged PF with 2 VFs, two GPUs. */
function cluster(): PciState {
  return pciStateOf(inventoryOf(
    host("h0").numa({ id: 0, cpus: 8, ramMb: 32768 }, { id: 1, cpus: 8, ramMb: 32768 })
      .sriov(4, 3, { tags: { physical_network: "physnet1" } })
      .pci({ address: "0000:81:00.0", vendor_id: "10de", product_id: "1eb8", numa_node: 1 }),
    host("h1").sriov(5, 2)
      .pci({ address: "0000:82:00.0", vendor_id: "10de", product_id: "1eb8" })
      .pci({ address: "0000:83:00.0", vendor_id: "10de", product_id: "1EB8" }),
  ))
}

type Alt = Record<string, string>

/** The matching rule written out plainly: the oracle for the memoised one. */
function expectedPools(state: PciState, hostName: string, spec: ReadonlyArray<Alt>): number[] {
  const pools = Result.getOrThrow(pciPools(state, hostName))
  const pfOk = spec.some((alt) => alt["dev_type"]?.toLowerCase() === "type-pf")
  return pools.filter((p) => (p.devType !== "type-PF" || pfOk) && spec.some((alt) =>
    Object.keys(alt).every((key) => {
      const have = key === "vendor_id" ? p.vendorId : key === "product_id" ? p.productId
        : key === "dev_type" ? p.devType.toLowerCase() : p.tags[key]?.toLowerCase()
      return have !== undefined && have === alt[key]!.toLowerCase()
    }))).map((p) => p.index)
}

const key = fc.constantFrom("vendor_id", "product_id", "dev_type", "physical_network")
const value = fc.constantFrom("8086", "10de", "1520", "1521", "1eb8", "1EB8", "type-VF",
  "TYPE-PF", "type-PCI", "physnet1", "PhysNet1", "physnet2")
const alternative = fc.dictionary(key, value, { minKeys: 1, maxKeys: 3 })
const spec = fc.array(alternative, { minLength: 1, maxLength: 3 })

describe("request specs are matched by content", () => {
  it("gives the same pools for a new spec object with equal content, whatever its case", () => {
    const s = cluster()
    const first = pciHostPools(s, 0, [{ vendor_id: "8086", product_id: "1520" }])
    expect(pciHostPools(s, 0, [{ product_id: "1520", vendor_id: "8086" }])).toEqual(first)
    expect(pciHostPools(s, 0, [{ vendor_id: "8086", product_id: "1520" }])).toEqual(first)
    expect(pciHostPools(s, 1, [{ vendor_id: "10de", product_id: "1eb8" }])).toEqual(
      pciHostPools(s, 1, [{ vendor_id: "10DE", product_id: "1EB8" }]))
    expect(first).toEqual(expectedPools(s, "h0", [{ vendor_id: "8086", product_id: "1520" }]))
  })

  it("is not fooled by a spec object changed after it was first used", () => {
    const s = cluster()
    const alt: Alt = { vendor_id: "8086", product_id: "1520" }
    const request: PciRequest = { count: 3, spec: [alt] }
    expect(pciFits(s, "h0", [request])).toBe(true)
    alt["physical_network"] = "physnet2"
    expect(pciFits(s, "h0", [request])).toBe(false)
    expect(pciHostPools(s, 0, [alt])).toEqual([])
    delete alt["physical_network"]
    expect(pciFits(s, "h0", [request])).toBe(true)
  })

  it("keeps claim's errors: a shortfall names the request, free and capacity", () => {
    const s = cluster()
    const vf: PciRequest = { count: 4, spec: [{ vendor_id: "8086", product_id: "1520" }] }
    expect(pciFits(s, "h0", [vf])).toBe(false)
    const r = claim(s, { host: "h0", instanceUuid: "a", requests: [vf] })
    expect(Result.isFailure(r) && r.failure).toMatchObject({ _tag: "InsufficientCapacity",
      resource: "pci:8086:1520", requested: 4, free: 3, capacity: 3, host: "h0" })
  })

  it("matches every spec as the plain rule does, past the memo's bound too", () => {
    expect(specMemoLimits.specsMax).toBeLessThan(120)
    // One state for every run: its layout's memo fills in the first runs, then is full.
    const s = Result.getOrThrow(claim(cluster(), { host: "h1", instanceUuid: "a",
      requests: [{ count: 1, spec: [{ vendor_id: "10de" }] }] })).state
    const freeOf = (name: string) => Result.getOrThrow(pciPools(s, name)).map((p) => p.free)
    const free = [freeOf("h0"), freeOf("h1")]
    fc.assert(fc.property(fc.array(spec, { minLength: 1, maxLength: 120 }), (specs) => {
      for (const sp of specs) {
        const expected = [expectedPools(s, "h0", sp), expectedPools(s, "h1", sp)]
        expect([[...pciHostPools(s, 0, sp)], [...pciHostPools(s, 1, sp)]]).toEqual(expected)
        expect([...pciFreeByHost(s, { spec: sp })]).toEqual(expected.map((pools, h) =>
          pools.reduce((total, p) => total + free[h]![p]!, 0)))
      }
    }))
  })
})
