/**
 * Suite `simulator`: the simulator on the 10,000-host growth scenario (scenarios/growth-10k.json
 * at its largest fleet, 4 zones x 50 racks x 50 hosts).
 *
 * Side by side in the same run:
 * - the engine over the real core (placement, cluster, PCI, pmem): events/s for a bounded number
 *   of requests (the real core's cost per placement grows with the fleet), and the time a
 *   1,000,000-request run would take at that rate;
 * - the engine alone over a first-fit baseline cluster (a few lines below, not the product's
 *   placement): a full 1,000,000-request run, its events/s, wall time and peak memory. The gap
 *   between the two is what the core costs per event.
 */
import { Result } from "effect"
import type { Inventory } from "../../core/inventory/inventory.ts"
import { simulate } from "../../adapters/sim/engine.ts"
import type { GroupDemand, Holding, Member, Placement, ResourceTotal, SimCluster } from
  "../../adapters/sim/port.ts"
import { loadScenario, runScenario } from "../../adapters/sim/run.ts"
import { type BenchRecord, record } from "../lib.ts"

const suite = "simulator"
const path = "scenarios/growth-10k.json"
/** Requests of the bounded run on the real core. */
const realRequests = Number(process.env["CORRAL_BENCH_SIM_REAL_REQUESTS"] ?? 1_000)
const fullRequests = 1_000_000

/** First-fit on vCPUs and RAM over a typed array per resource: the engine's baseline. */
class FirstFitCluster implements SimCluster {
  readonly hostCount: number
  private readonly freeVcpus: Float64Array
  private readonly freeRam: Float64Array
  private readonly up: Uint8Array
  private readonly where = new Map<string, { host: number; vcpus: number; ramMb: number }>()
  private readonly capacity: { vcpus: number; ramMb: number }
  private cursor = 0

  constructor(inventory: Inventory) {
    this.hostCount = inventory.hosts.length
    this.freeVcpus = Float64Array.from(inventory.hosts, (h) => h.vcpuCapacity)
    this.freeRam = Float64Array.from(inventory.hosts, (h) => h.ramCapacityMb)
    this.up = new Uint8Array(this.hostCount).fill(1)
    this.capacity = { vcpus: this.freeVcpus.reduce((a, b) => a + b, 0),
      ramMb: this.freeRam.reduce((a, b) => a + b, 0) }
  }

  place(members: ReadonlyArray<Member>, _group: GroupDemand | undefined): Placement {
    const hosts: number[] = []
    for (const m of members) {
      let found = -1
      for (let k = 0; k < this.hostCount; k++) {
        const h = (this.cursor + k) % this.hostCount
        const fits = this.freeVcpus[h]! >= m.demand.vcpus && this.freeRam[h]! >= m.demand.ramMb
        if (this.up[h] === 1 && fits) {
          found = h
          break
        }
      }
      if (found < 0) {
        for (const [k, h] of hosts.entries()) this.give(members[k]!.id, h)
        return { ok: false, reason: "VcpuFilter" }
      }
      this.cursor = found
      this.take(m, found)
      hosts.push(found)
    }
    return { ok: true, hosts }
  }

  private take(m: Member, h: number): void {
    this.freeVcpus[h] = this.freeVcpus[h]! - m.demand.vcpus
    this.freeRam[h] = this.freeRam[h]! - m.demand.ramMb
    this.where.set(m.id, { host: h, vcpus: m.demand.vcpus, ramMb: m.demand.ramMb })
  }

  private give(id: string, h: number): void {
    const w = this.where.get(id)!
    this.freeVcpus[h] = this.freeVcpus[h]! + w.vcpus
    this.freeRam[h] = this.freeRam[h]! + w.ramMb
    this.where.delete(id)
  }

  release(id: string): void {
    this.give(id, this.where.get(id)!.host)
  }

  migrate(): Placement {
    return { ok: false, reason: "unsupported" }
  }

  setHostStatus(host: number, status: "up" | "down" | "maintenance"): void {
    this.up[host] = status === "up" ? 1 : 0
  }

  totals(): ReadonlyMap<string, ResourceTotal> {
    let vcpus = 0
    let ramMb = 0
    for (const w of this.where.values()) {
      vcpus += w.vcpus
      ramMb += w.ramMb
    }
    return new Map([["vcpus", { used: vcpus, capacity: this.capacity.vcpus }],
      ["ramMb", { used: ramMb, capacity: this.capacity.ramMb }]])
  }

  hostsInUse(): number {
    const used = new Set<number>()
    for (const w of this.where.values()) used.add(w.host)
    return used.size
  }

  free(host: number): { vcpus: number; ramMb: number } {
    return { vcpus: this.freeVcpus[host]!, ramMb: this.freeRam[host]! }
  }

  *holdings(): Iterable<Holding> {
    for (const [id, w] of this.where) {
      yield { id, host: w.host, vcpus: w.vcpus, ramMb: w.ramMb, diskMb: 0, pciAddresses: [],
        pmemExtents: [], groups: [] }
    }
  }
}

function load(requests: number) {
  const loaded = loadScenario(path, [["workload.requestsMax", requests], ["durationS", 31_536_000]])
  if (Result.isFailure(loaded)) throw new Error(loaded.failure.message)
  return loaded.success
}

/** Runs the suite. */
export async function run(): Promise<BenchRecord[]> {
  const records: BenchRecord[] = []
  const real = load(realRequests)
  let started = performance.now()
  const { report } = runScenario(real)
  let seconds = (performance.now() - started) / 1000
  const realRate = report.events / seconds
  const eventsPerRequest = report.events / report.requests.total
  records.push(record(suite, `real core, 10,000 hosts, ${realRequests} requests: events/s`,
    realRate, "events/s", "higher", 1_000_000))
  records.push(record(suite, "real core, 10,000 hosts: ms per request (all its events)",
    (seconds * 1000) / report.requests.total, "ms", "lower"))
  records.push(record(suite, "real core, 10,000 hosts, 1,000,000 requests: projected wall time",
    (fullRequests * eventsPerRequest) / realRate, "s", "lower", 60))

  const full = load(fullRequests)
  let peakRss = process.memoryUsage().rss
  started = performance.now()
  const sim = simulate(full.scenario, new FirstFitCluster(full.scenario.inventory), {
    seed: full.scenario.spec.seed, progressEveryEvents: 50_000,
    onProgress: () => { peakRss = Math.max(peakRss, process.memoryUsage().rss) },
  })
  seconds = (performance.now() - started) / 1000
  peakRss = Math.max(peakRss, process.memoryUsage().rss)
  records.push(record(suite,
    "engine on first-fit baseline, 10,000 hosts, 1,000,000 requests: events/s",
    sim.events / seconds, "events/s", "higher", 1_000_000))
  records.push(record(suite, "engine on first-fit baseline, 1,000,000 requests: wall time",
    seconds, "s", "lower", 60))
  records.push(record(suite, "engine on first-fit baseline, 1,000,000 requests: peak RSS",
    peakRss / 1_048_576, "MiB", "lower", 2048))
  records.push(record(suite, "real core vs baseline: events/s ratio",
    realRate / (sim.events / seconds), "x", "higher"))
  return records
}
