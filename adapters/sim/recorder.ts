/**
 * What a run measures, kept in bounded memory: counters, rejections by reason, utilisation and
 * hosts in use over time, fragmentation, PCI/pmem exhaustion, RPO/RTO/data-loss histograms and
 * pmem boot savings. `report()` turns it into the JSON report (rounded, key order fixed).
 */
import type { Scenario } from "../../core/scenario/scenario.ts"
import type { SimCluster } from "./port.ts"
import { Histogram, round, summary } from "./stats.ts"

/** One point of the utilisation time series. */
export interface Sample {
  readonly timeS: number
  /** Used share (0..1) per resource name. */
  readonly used: Readonly<Record<string, number>>
  readonly hostsInUse: number
  readonly vmsRunning: number
  readonly fragmentation: number
}

/** Rejections per time-series slice, for the chart. */
const rejectionSlicesCount = 50

/** Collects a run's measurements. */
export class Recorder {
  readonly counters = new Map<string, number>()
  readonly rejections = new Map<string, number>()
  /** Accepted and rejected requests per mix entry (by index). */
  readonly acceptedByMix: number[]
  readonly rejectionsByMix: number[]
  readonly samples: Sample[] = []
  readonly rpoS = new Histogram()
  readonly rtoS = new Histogram()
  readonly dataLossS = new Histogram()
  readonly rejectionSlices = new Array<number>(rejectionSlicesCount).fill(0)
  /** Rejections by the device pool the request needed, when a device filter rejected it. */
  readonly deviceRejections = new Map<string, number>()
  requests = 0
  accepted = 0
  pmemWarmBoots = 0
  pmemColdBoots = 0
  bootTimeSavedS = 0
  syncBytesTotal = 0
  private readonly smallest: { vcpus: number; ramMb: number }

  /** Per mix entry: the device pools a PCI or pmem rejection counts against. */
  private readonly pciPools: ReadonlyArray<ReadonlyArray<string>>
  private readonly pmemPools: ReadonlyArray<ReadonlyArray<string>>

  constructor(private readonly scenario: Scenario, private readonly cluster: SimCluster) {
    const mix = scenario.spec.workload.mix
    this.acceptedByMix = mix.map(() => 0)
    this.rejectionsByMix = mix.map(() => 0)
    this.pciPools = mix.map((m) => [...new Set(m.pci.map((p) => `pci:${p.alias}`))])
    this.pmemPools = mix.map((m) => [...new Set(m.pmem.map((v) => `pmem:${v.device}`))])
    const f = scenario.flavors
    this.smallest = {
      vcpus: Math.min(...f.map((x) => x.vcpus)),
      ramMb: Math.min(...f.map((x) => x.ramMb)),
    }
  }

  /** Adds 1 to a named counter. */
  count(name: string): void {
    this.counters.set(name, (this.counters.get(name) ?? 0) + 1)
  }

  /** A request of mix entry `mix` (its index) was placed. */
  accept(mix: number): void {
    this.requests++
    this.accepted++
    this.acceptedByMix[mix]!++
  }

  /** A request of mix entry `mix` was rejected for `reason` (a shared reason constant). */
  reject(mix: number, reason: string, nowS: number): void {
    this.requests++
    const pools = reason === "PciFilter" ? this.pciPools[mix]
      : reason === "PmemFilter" ? this.pmemPools[mix] : undefined
    for (const pool of pools ?? []) {
      this.deviceRejections.set(pool, (this.deviceRejections.get(pool) ?? 0) + 1)
    }
    this.rejections.set(reason, (this.rejections.get(reason) ?? 0) + 1)
    this.rejectionsByMix[mix]!++
    const slice = Math.min(rejectionSlicesCount - 1,
      Math.floor((nowS / this.scenario.spec.durationS) * rejectionSlicesCount))
    this.rejectionSlices[slice] = this.rejectionSlices[slice]! + 1
  }

  /** A boot of a VM with pmem: warm (volume retained, `reloadS` saved) or cold. */
  pmemBoot(warm: boolean, reloadS: number): void {
    if (warm) {
      this.pmemWarmBoots++
      this.bootTimeSavedS += reloadS
    } else this.pmemColdBoots++
  }

  /** The RPO just before a sync was acknowledged. */
  rpo(seconds: number): void {
    this.rpoS.add(seconds)
  }

  /** A failover's recovery time. */
  rto(seconds: number): void {
    this.rtoS.add(seconds)
  }

  /** Data lost at a failover: time since the last acknowledged sync. */
  dataLoss(seconds: number): void {
    this.dataLossS.add(seconds)
  }

  /** Bytes one sync cycle shipped. */
  syncBytes(bytes: number): void {
    this.syncBytesTotal += bytes
  }

  /** Takes one time-series sample of the cluster. */
  sampleNow(sim: { nowS: number; vms: { live: number }; hostStatus: ReadonlyArray<string> }):
    void {
    const used: Record<string, number> = {}
    for (const [name, t] of this.cluster.totals()) {
      used[name] = t.capacity === 0 ? 0 : round(t.used / t.capacity)
    }
    const running = sim.vms.live
    this.samples.push({ timeS: round(sim.nowS), used, hostsInUse: this.cluster.hostsInUse(),
      vmsRunning: running, fragmentation: this.fragmentation(sim.hostStatus) })
  }

  /**
   * Stranded capacity: the share of free vCPUs that sit on hosts where even the smallest flavor
   * of the mix no longer fits (not enough RAM or vCPUs left beside them).
   */
  private fragmentation(status: ReadonlyArray<string>): number {
    let free = 0
    let stranded = 0
    for (let h = 0; h < status.length; h++) {
      if (status[h] !== "up") continue
      const f = this.cluster.free(h)
      if (f.vcpus <= 0) continue
      free += f.vcpus
      if (f.vcpus < this.smallest.vcpus || f.ramMb < this.smallest.ramMb) stranded += f.vcpus
    }
    return free === 0 ? 0 : round(stranded / free)
  }
}

/** The JSON report of a run (deterministic: no wall-clock figure in it). */
export interface Report {
  readonly scenario: string
  readonly seed: number
  readonly durationS: number
  readonly hosts: number
  readonly events: number
  readonly requests: {
    total: number; accepted: number; rejected: number; rejectionRate: number
    rejectedByReason: Record<string, number>
    byMix: Record<string, { accepted: number; rejected: number }>
  }
  readonly utilisation: Record<string, { p50: number; p95: number; max: number }>
  /**
   * Per PCI alias and pmem device: the share of samples at which it was fully used, and the
   * requests needing it that the PCI or pmem filter rejected.
   */
  readonly exhaustion: Record<string, { shareOfTimeFull: number; rejections: number }>
  readonly fragmentation: { p50: number; p95: number; max: number }
  readonly hostsInUse: { p50: number; p95: number; max: number }
  readonly replication: {
    rpoS: { p50: number; p99: number; max: number; samples: number }
    failovers: number; rtoS: { p50: number; p99: number; max: number }
    dataLossS: { p50: number; max: number }; syncBytes: number
  }
  readonly pmem: { warmBoots: number; coldBoots: number; bootTimeSavedS: number }
  readonly counters: Record<string, number>
  readonly timeseries: ReadonlyArray<Sample>
  readonly charts: { rejectionsOverTime: number[]; rpoHistogram: Array<[number, number]> }
}

const sorted = (m: ReadonlyMap<string, number>): Record<string, number> =>
  Object.fromEntries([...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)))

/** Builds the report of a finished run. */
export function buildReport(
  r: Recorder,
  scenario: Scenario,
  seed: number,
  events: number,
): Report {
  const resources = Object.keys(r.samples[0]?.used ?? {}).sort()
  const usedOf = (k: string) => r.samples.map((s) => s.used[k] ?? 0)
  const utilisation = Object.fromEntries(resources.map((k) => [k, summary(usedOf(k))]))
  const exhaustion = Object.fromEntries(resources.filter((k) => k.includes(":")).map((k) => [k, {
    shareOfTimeFull: round(usedOf(k).filter((u) => u >= 1).length / Math.max(1, r.samples.length)),
    rejections: r.deviceRejections.get(k) ?? 0,
  }]))
  const rejected = r.requests - r.accepted
  const mixNames = scenario.spec.workload.mix.map((m) => m.name)
  return {
    scenario: scenario.spec.name, seed, durationS: scenario.spec.durationS,
    hosts: scenario.inventory.hosts.length, events,
    requests: {
      total: r.requests, accepted: r.accepted, rejected,
      rejectionRate: round(r.requests === 0 ? 0 : rejected / r.requests),
      rejectedByReason: sorted(r.rejections),
      byMix: Object.fromEntries(mixNames.map((n, i) => [n, {
        accepted: r.acceptedByMix[i]!, rejected: r.rejectionsByMix[i]! }])),
    },
    utilisation, exhaustion,
    fragmentation: summary(r.samples.map((s) => s.fragmentation)),
    hostsInUse: summary(r.samples.map((s) => s.hostsInUse)),
    replication: {
      rpoS: { p50: round(r.rpoS.quantile(0.5)), p99: round(r.rpoS.quantile(0.99)),
        max: round(r.rpoS.max), samples: r.rpoS.count },
      failovers: r.counters.get("failovers") ?? 0,
      rtoS: { p50: round(r.rtoS.quantile(0.5)), p99: round(r.rtoS.quantile(0.99)),
        max: round(r.rtoS.max) },
      dataLossS: { p50: round(r.dataLossS.quantile(0.5)), max: round(r.dataLossS.max) },
      syncBytes: r.syncBytesTotal,
    },
    pmem: { warmBoots: r.pmemWarmBoots, coldBoots: r.pmemColdBoots,
      bootTimeSavedS: round(r.bootTimeSavedS) },
    counters: sorted(r.counters),
    timeseries: r.samples,
    charts: { rejectionsOverTime: [...r.rejectionSlices], rpoHistogram: r.rpoS.bins(20) },
  }
}
