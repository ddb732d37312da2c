/**
 * Whole runs on the real core: answers known by hand, determinism, each fault kind, the growth
 * search, the invariant checkers catching a broken cluster, and every shipped scenario.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { CoreCluster } from "../adapters/sim/core-cluster.ts"
import { simulate } from "../adapters/sim/engine.ts"
import { growthSearch } from "../adapters/sim/growth.ts"
import { checkAll, InvariantViolation } from "../adapters/sim/invariants.ts"
import type { SimCluster } from "../adapters/sim/port.ts"
import { aliasDemands, type LoadedScenario, loadScenario, runScenario } from "../adapters/sim/run.ts"

const dir = mkdtempSync(join(tmpdir(), "corral-sim-"))
let files = 0

/** Writes a scenario (and its trace) to a temp file and loads it. */
function load(doc: Record<string, unknown>, trace?: string,
  overrides: Array<[string, unknown]> = []): LoadedScenario {
  const path = join(dir, `s${files++}.json`)
  if (trace !== undefined) {
    writeFileSync(`${path}.csv`, trace)
    ;((doc["workload"] as Record<string, unknown>)["arrivals"]) = { kind: "trace", csvPath: `${path}.csv` }
  }
  writeFileSync(path, JSON.stringify(doc))
  const loaded = loadScenario(path, overrides)
  if (Result.isFailure(loaded)) throw new Error(loaded.failure.message)
  return loaded.success
}

const fixed = (value: number) => ({ kind: "fixed", value })
const latencies = { createS: fixed(1), deployS: fixed(2), bootS: fixed(30), stopS: fixed(5),
  rebootS: fixed(15), reloadMbPerS: 400 }

/** `hosts` hosts of 16 vCPUs (ratio 1) and 64 GB, one per rack; VMs of 4 vCPUs, 4 GB. */
function tiny(hosts: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: "tiny", seed: 1, durationS: 10_000,
    fleet: { topology: { zones: ["az1"], racksPerZone: hosts },
      templates: { c: { vcpus: 16, ramMb: 65536, cpuAllocationRatio: 1,
        diskPools: [{ name: "local", sizeMb: 1_000_000 }],
        pmemDevices: [{ name: "NVDIMM0", sizeMb: 65536 }] } },
      racks: [{ template: "c", hostsPerRack: 1 }] },
    flavors: { quad: { vcpus: 4, ramMb: 4096, diskGb: 10 } },
    workload: { arrivals: { kind: "poisson", ratePerS: 0.01 }, lifetimeS: fixed(1_000_000),
      mix: [{ name: "quad", weight: 1, flavor: "quad" }] },
    latencies,
    outputs: { timeseriesPoints: 10, invariantsEveryEvents: 1 },
    ...extra,
  }
}

const traceOf = (count: number) =>
  "timeS,mix\n" + Array.from({ length: count }, (_, i) => `${i + 1},quad`).join("\n") + "\n"

describe("answers known by hand", () => {
  it("4 hosts of 16 vCPUs take exactly 16 VMs of 4 vCPUs; the 17th is rejected by VcpuFilter", () => {
    const { report } = runScenario(load(tiny(4), traceOf(17)))
    expect(report.requests).toMatchObject({ total: 17, accepted: 16, rejected: 1,
      rejectedByReason: { VcpuFilter: 1 } })
    expect(report.hostsInUse.max).toBe(4)
    expect(report.utilisation["vcpus"]!.max).toBe(1)
  })

  it.each([["pack", 1], ["spread", 4]])("4 VMs on 4 hosts with %s use %i host(s)", (weigher, used) => {
    const { report } = runScenario(load(tiny(4, { policies: { weigher } }), traceOf(4)))
    expect(report.requests.accepted).toBe(4)
    expect(report.timeseries[report.timeseries.length - 1]!.hostsInUse).toBe(used)
  })

  it("a vcluster of 3 with hard host anti-affinity fits 3 hosts, not 2", () => {
    const mix = [{ name: "quad", weight: 1, flavor: "quad",
      vcluster: { size: 3, rules: [{ kind: "anti-affinity", scope: "host" }] } }]
    const doc = (hosts: number) => {
      const d = tiny(hosts)
      ;(d["workload"] as Record<string, unknown>)["mix"] = mix
      return d
    }
    expect(runScenario(load(doc(3), traceOf(1))).report.requests.accepted).toBe(1)
    const two = runScenario(load(doc(2), traceOf(1))).report.requests
    expect(two.rejectedByReason).toEqual({ AntiAffinityFilter: 1 })
  })
})

describe("determinism", () => {
  const short: Array<[string, unknown]> = [["durationS", 28_800]]
  it("the same seed gives byte-identical reports; another seed a different one", () => {
    const loaded = loadScenario("scenarios/default.json", short)
    if (Result.isFailure(loaded)) throw new Error(loaded.failure.message)
    const a = JSON.stringify(runScenario(loaded.success).report)
    const b = JSON.stringify(runScenario(loaded.success).report)
    const c = JSON.stringify(runScenario(loaded.success, { seed: 43 }).report)
    expect(a).toBe(b)
    expect(c).not.toBe(a)
  })
})

describe("faults", () => {
  const crash = { hostCrash: { mtbfS: { kind: "uniform", min: 1_000, max: 3_500 }, mttrS: fixed(600) } }

  it("a master's host crash fails over: RTO = detection + promotion + boot, data lost ≤ a cycle", () => {
    const doc = tiny(4, { faults: { hostCrash: { ...crash.hostCrash, mttrS: fixed(60) } }, durationS: 4_000,
      replication: { sleepTimeS: 60, detectionS: fixed(30), promotionS: fixed(10) } })
    ;(doc["workload"] as { mix: Array<Record<string, unknown>> }).mix[0]!["replicatedShare"] = 1
    const { report } = runScenario(load(doc, traceOf(4)))
    expect(report.counters["hostCrashes"]).toBeGreaterThan(0)
    expect(report.replication.failovers).toBeGreaterThan(0)
    expect(report.replication.rtoS.max).toBeCloseTo(70, 6)
    expect(report.replication.dataLossS.max).toBeLessThan(61)
    expect(report.replication.rpoS.samples).toBeGreaterThan(10)
  })

  it.each([["reschedule", "vmsRescheduled"], ["lose", "vmsLost"]])(
    "a crash without replicas, policy %s, counts %s", (onHostCrash, counter) => {
      const { report } = runScenario(load(tiny(4, { faults: crash, durationS: 4_000,
        policies: { onHostCrash } }), traceOf(8)))
      expect(report.counters["hostCrashes"]).toBeGreaterThan(0)
      expect(report.counters[counter]).toBeGreaterThan(0)
      if (onHostCrash === "lose") expect(report.counters["vmsRescheduled"]).toBeUndefined()
    })

  it("a maintenance window live-migrates the host's VMs away", () => {
    const { report } = runScenario(load(tiny(4, { faults: { maintenance: [
      { startS: 100, durationS: 600, firstHost: 0, hostsCount: 1 }] } }), traceOf(4)))
    expect(report.counters["maintenanceWindows"]).toBe(1)
    expect(report.counters["migrations"]).toBe(4)
  })

  it("replication link loss pauses syncs: the RPO grows past the outage", () => {
    const doc = tiny(4, { durationS: 3_000, replication: { sleepTimeS: 30 },
      faults: { linkLoss: { mtbfS: fixed(1_000), durationS: fixed(300) } } })
    ;(doc["workload"] as { mix: Array<Record<string, unknown>> }).mix[0]!["replicatedShare"] = 1
    const { report } = runScenario(load(doc, traceOf(2)))
    expect(report.counters["linkLosses"]).toBeGreaterThan(0)
    expect(report.replication.rpoS.max).toBeGreaterThanOrEqual(300)
  })

  it("pmem: a restart with its volume retained saves the working-set reload", () => {
    const doc = tiny(2, { durationS: 20_000 })
    Object.assign((doc["workload"] as { mix: Array<Record<string, unknown>> }).mix[0]!, {
      pmem: [{ sizeMb: 8192, device: "NVDIMM0", workingSetMb: 4000 }], restartEveryS: fixed(3_600),
    })
    const { report } = runScenario(load(doc, traceOf(3)))
    expect(report.pmem.coldBoots).toBe(3)
    expect(report.pmem.warmBoots).toBeGreaterThanOrEqual(12)
    expect(report.pmem.bootTimeSavedS).toBeCloseTo(report.pmem.warmBoots * 10, 3)
    expect(report.utilisation["pmem:NVDIMM0"]!.max).toBeCloseTo(3 * 8192 / (2 * 65536), 6)
  })
})

describe("growth search", () => {
  it("finds the smallest fleet: 20 VMs of 4 vCPUs need 5 hosts of 16", () => {
    const loaded = load(tiny(1, { growth: { rejectionRateMax: 0, racksPerZoneMin: 1,
      racksPerZoneMax: 12 } }), traceOf(20))
    const result = growthSearch(loaded, 1)
    expect(result.answer).toMatchObject({ racksPerZone: 5, hosts: 5, rejectionRate: 0 })
    expect(result.probes.find((p) => p.racksPerZone === 4)?.rejectionRate).toBeGreaterThan(0)
  })
})

describe("the core behind the port", () => {
  it("a host that is down or in maintenance takes nothing until it is up again", () => {
    const loaded = load(tiny(2))
    const cluster = new CoreCluster(loaded.scenario.inventory, "pack", [])
    const demand = { vcpus: 4, ramMb: 4096, diskMb: 0, diskPool: undefined, pci: [], pmem: [] }
    const place = (id: string) => cluster.place([{ id, demand }], undefined)
    expect(place("a")).toEqual({ ok: true, hosts: [0] })
    cluster.setHostStatus(0, "down")
    expect(place("b")).toEqual({ ok: true, hosts: [1] })
    cluster.setHostStatus(1, "maintenance")
    expect(place("c")).toMatchObject({ ok: false })
    cluster.setHostStatus(0, "up")
    expect(place("d")).toEqual({ ok: true, hosts: [0] })
    expect([cluster.free(0), cluster.free(1), cluster.hostsInUse()])
      .toEqual([{ vcpus: 8, ramMb: 65536 - 8192 }, { vcpus: 12, ramMb: 65536 - 4096 }, 2])
  })
})

describe("invariant checkers", () => {
  it("a cluster that over-reports what a host holds stops the run with the reproduce command", () => {
    const loaded = load(tiny(2), traceOf(3))
    const real = new CoreCluster(loaded.scenario.inventory, "pack", aliasDemands(loaded.scenario))
    const broken: SimCluster = Object.assign(Object.create(real) as SimCluster, {
      *holdings() {
        yield* real.holdings()
        yield { id: "ghost", host: 0, vcpus: 17, ramMb: 1, diskMb: 0, pciAddresses: [],
          pmemExtents: [], groups: [] }
      },
    })
    const run = () => simulate(loaded.scenario, broken, { seed: 9,
      check: (s) => checkAll(s, `corral simulate ${loaded.path} --seed 9`) })
    expect(run).toThrow(InvariantViolation)
    expect(run).toThrow(`reproduce with: corral simulate ${loaded.path} --seed 9`)
  })
})

describe("every shipped scenario runs (short)", () => {
  const names = readdirSync("scenarios").filter((f) => f.endsWith(".json"))
    .filter((f) => "workload" in (JSON.parse(readFileSync(join("scenarios", f), "utf8")) as object))
    .sort()
  it.each(names)("%s", (name) => {
    const overrides: Array<[string, unknown]> = [["durationS", 7_200],
      ["workload.requestsMax", 200]]
    if (name.startsWith("growth")) overrides.push(["fleet.topology.racksPerZone", 2])
    const loaded = loadScenario(join("scenarios", name), overrides)
    if (Result.isFailure(loaded)) throw new Error(loaded.failure.message)
    const { report } = runScenario(loaded.success)
    expect(report.requests.total).toBeGreaterThan(0)
    expect(report.counters["invariantChecks"]).toBeGreaterThan(0)
  })
})
