import { Result } from "effect"
import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { expandFleet } from "../core/scenario/fleet.ts"

const template = { vcpus: 8, ramMb: 16384 }

describe("expandFleet", () => {
  it("places templates × counts over zones and racks with stable names", () => {
    const r = expandFleet({
      topology: { zones: ["az1", "az2"], racksPerZone: 2 },
      templates: { c: template, g: { ...template, vcpus: 16 } },
      racks: [{ template: "c", hostsPerRack: 2 }, { template: "g", hostsPerRack: 1 }],
    })
    if (Result.isFailure(r)) throw r.failure
    const hosts = r.success.hosts
    expect(hosts).toHaveLength(12)
    expect(hosts.slice(0, 3).map((h) => [h.name, h.zone, h.rack, h.vcpus])).toEqual([
      ["az1-r01-c-01", "az1", "az1-r01", 8],
      ["az1-r01-c-02", "az1", "az1-r01", 8],
      ["az1-r01-g-01", "az1", "az1-r01", 16],
    ])
    expect(hosts.at(-1)!.name).toBe("az2-r02-g-01")
  })

  it("names the template field at fault, once, not every host built from it", () => {
    const r = expandFleet({
      topology: { zones: ["az1"], racksPerZone: 3 },
      templates: { c: { ...template, vcpus: 0, extra: true } },
      racks: [{ template: "c", hostsPerRack: 4 }, { template: "missing", hostsPerRack: 1 }],
    })
    if (Result.isSuccess(r)) throw new Error("expected a BadRequest")
    expect(r.failure.issues).toEqual([
      { path: "fleet.racks[1].template", message: "one of the templates (c)" },
    ])
    const r2 = expandFleet({
      topology: { zones: ["az1"], racksPerZone: 3 },
      templates: { c: { ...template, vcpus: 0, extra: true } },
      racks: [{ template: "c", hostsPerRack: 4 }],
    })
    if (Result.isSuccess(r2)) throw new Error("expected a BadRequest")
    expect(r2.failure.issues!.map((i) => i.path).sort())
      .toEqual(["fleet.templates.c.extra", "fleet.templates.c.vcpus"])
  })

  it("rejects a bad topology with paths", () => {
    const r = expandFleet({ topology: { zones: [], racksPerZone: 0 }, templates: {}, racks: [] })
    if (Result.isSuccess(r)) throw new Error("expected a BadRequest")
    expect(r.failure.issues!.map((i) => i.path).sort()).toEqual([
      "fleet.racks", "fleet.topology.racksPerZone", "fleet.topology.zones"])
  })

  it("expands the shipped default scenario into 64 hosts", () => {
    const scenario = JSON.parse(readFileSync("scenarios/default.json", "utf8")) as { fleet: unknown }
    const r = expandFleet(scenario.fleet)
    if (Result.isFailure(r)) throw r.failure
    expect(r.success.hosts).toHaveLength(64)
    const vfs = r.success.hosts.flatMap((h) => h.pciDevices).filter((d) => d.dev_type === "type-VF")
    expect(vfs).toHaveLength(8 * 2 * 16)
  })
})
