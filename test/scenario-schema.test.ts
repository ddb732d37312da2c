/**
 * Scenario documents: every wrong field named with its path at once, flavors and aliases checked
 * across fields, `setPath` overrides, CSV traces.
 */
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { decodeScenario, parseTrace, setPath } from "../core/scenario/scenario.ts"

const fleet = {
  topology: { zones: ["az1"], racksPerZone: 1 },
  templates: { c: { vcpus: 16, ramMb: 65536 } },
  racks: [{ template: "c", hostsPerRack: 2 }],
}

const minimal = () => ({
  name: "t",
  durationS: 3600,
  fleet,
  flavors: { small: { vcpus: 2, ramMb: 4096 } },
  pciAliases: { vf: { vendor_id: "8086", product_id: "154c", dev_type: "type-VF", physical_network: "p1" } },
  workload: {
    arrivals: { kind: "poisson", ratePerS: 0.1 },
    lifetimeS: { kind: "exponential", mean: 600 },
    mix: [{ name: "a", weight: 1, flavor: "small" }],
  },
})

const issuesOf = (doc: unknown): Array<{ path: string; message: string }> => {
  const r = decodeScenario(doc)
  if (Result.isSuccess(r)) throw new Error("expected a BadRequest")
  return [...(r.failure.issues ?? [])]
}

describe("decodeScenario", () => {
  it("decodes a minimal scenario with defaults and resolves flavors", () => {
    const r = decodeScenario(minimal())
    if (Result.isFailure(r)) throw new Error(r.failure.message)
    expect(r.success.inventory.hosts).toHaveLength(2)
    expect(r.success.flavors[0]).toEqual({ vcpus: 2, ramMb: 4096, diskGb: 0 })
    expect(r.success.spec.policies.weigher).toBe("pack")
    expect(r.success.spec.seed).toBe(1)
    expect(r.success.spec.replication.sleepTimeS).toBe(60)
  })

  it("names every wrong field with its path, the fleet's included", () => {
    const doc = minimal() as Record<string, unknown>
    doc["durationS"] = -1
    doc["fleet"] = { ...fleet, racks: [{ template: "nope", hostsPerRack: 1 }] }
    doc["workload"] = {
      arrivals: { kind: "poisson", ratePerS: 0 },
      lifetimeS: { kind: "lognormal", median: 1 },
      mix: [{ name: "a", weight: 1, flavor: { vcpus: 0, ramMb: 1 } }],
    }
    doc["surprise"] = true
    const paths = issuesOf(doc).map((i) => i.path)
    expect(paths).toEqual(expect.arrayContaining([
      "durationS", "workload.arrivals.ratePerS", "workload.lifetimeS.sigma",
      "workload.mix[0].flavor.vcpus", "surprise",
    ]))
  })

  it.each([
    ["an unknown flavor name", (d: ReturnType<typeof minimal>) => {
      (d.workload.mix[0] as Record<string, unknown>)["flavor"] = "huge"
    }, "workload.mix[0].flavor"],
    ["an unknown PCI alias", (d: ReturnType<typeof minimal>) => {
      (d.workload.mix[0] as Record<string, unknown>)["pci"] = [{ alias: "gpu" }]
    }, "workload.mix[0].pci[0].alias"],
    ["a duplicate mix name", (d: ReturnType<typeof minimal>) => {
      d.workload.mix.push({ name: "a", weight: 1, flavor: "small" })
    }, "workload.mix[1].name"],
    ["a replicated vcluster", (d: ReturnType<typeof minimal>) => {
      Object.assign(d.workload.mix[0]!, { replicatedShare: 0.5,
        vcluster: { size: 2, rules: [{ kind: "anti-affinity" }] } })
    }, "workload.mix[0].replicatedShare"],
    ["a template field", (d: ReturnType<typeof minimal>) => {
      (d as Record<string, unknown>)["fleet"] = { ...fleet, templates: { c: { vcpus: -2, ramMb: 1 } } }
    }, "fleet.templates.c.vcpus"],
    ["uniform with max < min", (d: ReturnType<typeof minimal>) => {
      (d.workload as Record<string, unknown>)["lifetimeS"] = { kind: "uniform", min: 5, max: 1 }
    }, "workload.lifetimeS"],
  ])("rejects %s at its path", (_, edit, path) => {
    const doc = minimal()
    edit(doc)
    expect(issuesOf(doc).map((i) => i.path)).toContain(path)
  })

  it("policy ratios replace every template's", () => {
    const r = decodeScenario({ ...minimal(), policies: { cpuAllocationRatio: 2 } })
    if (Result.isFailure(r)) throw new Error(r.failure.message)
    expect(r.success.inventory.hosts[0]!.vcpuCapacity).toBe(32)
  })
})

describe("setPath", () => {
  it("replaces a nested value without touching the original", () => {
    const doc = minimal()
    const r = setPath(doc, "workload.mix[0].weight", 3)
    if (Result.isFailure(r)) throw new Error(r.failure.message)
    expect((r.success as typeof doc).workload.mix[0]!.weight).toBe(3)
    expect(doc.workload.mix[0]!.weight).toBe(1)
  })

  it("creates a section left to its defaults", () => {
    const r = setPath(minimal(), "policies.weigher", "spread")
    if (Result.isFailure(r)) throw new Error(r.failure.message)
    expect((r.success as { policies: unknown }).policies).toEqual({ weigher: "spread" })
  })

  it.each([["name.x"], ["workload.mix[3].weight"], [""], ["a..b"]])("refuses the path %j", (path) => {
    const r = setPath(minimal(), path, 1)
    expect(Result.isFailure(r)).toBe(true)
  })
})

describe("parseTrace", () => {
  it("reads timeS,mix lines with a header and comments", () => {
    const r = parseTrace("timeS,mix\n# c\n1,a\n\n2.5,b\n", ["a", "b"])
    if (Result.isFailure(r)) throw new Error(r.failure.message)
    expect(r.success).toEqual([{ timeS: 1, mixIndex: 0 }, { timeS: 2.5, mixIndex: 1 }])
  })

  it("names every bad line", () => {
    const r = parseTrace("5,a\n4,a\nx,a\n6,zzz\n7,a,extra\n", ["a"])
    if (Result.isSuccess(r)) throw new Error("expected a BadRequest")
    expect(r.failure.issues!.map((i) => i.path)).toEqual([
      "workload.arrivals.csvPath:2", "workload.arrivals.csvPath:3",
      "workload.arrivals.csvPath:4", "workload.arrivals.csvPath:5",
    ])
  })
})
