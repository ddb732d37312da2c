/**
 * Suite `simulator`: the simulator on the 10,000-host growth scenario (scenarios/growth-10k.json
 * at its largest fleet, 4 zones x 50 racks x 50 hosts), each run in a child process so its wall
 * time and peak RSS are its own:
 * - (a) the engine alone: event queue, random streams, dispatch, VM table and recorder over a
 *   null cluster (O(1) per call, below; not the product's placement), a full 1,000,000-request
 *   run: events/s, wall time, peak RSS;
 * - (b) the real core (placement, cluster, PCI, pmem) behind the same engine, with the invariant
 *   checkers on as `corral simulate` runs them, for a bounded number of requests
 *   (`CORRAL_BENCH_SIM_REAL_REQUESTS`, default 20,000): events/s, and from it a projection of the
 *   full run (time scales with events; memory grows with the VMs alive at once, whose peak (a)
 *   measures on the same arrivals and lifetimes);
 * - (c) the real core, the full 1,000,000-request run, measured (wall time, CPU time, peak RSS):
 *   run when (b) projects it under `CORRAL_BENCH_SIM_FULL_MAX_S` seconds (default 600; 0 skips
 *   it). When it is skipped, the (b) projection is the only full-run figure, and says so.
 * The gap between (a) and (b)/(c) is what the core costs per event. In (b) and (c) the cluster is
 * wrapped in a timer (`TimedCluster`, two clock reads per call: under 0.5 % of a request), so the
 * records split each request's time into the core's placement (`schedule`), the core's release
 * (`deleteServer`), the invariant checks, and the rest: the simulator's own cost per request.
 */
import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import { Result } from "effect"
import { CoreCluster } from "../../adapters/sim/core-cluster.ts"
import { Simulation } from "../../adapters/sim/engine.ts"
import { checkAll } from "../../adapters/sim/invariants.ts"
import type { GroupDemand, Holding, Member, Placement, ResourceTotal, SimCluster } from
  "../../adapters/sim/port.ts"
import { aliasDemands, loadScenario, reproduceCommand } from "../../adapters/sim/run.ts"
import { type BenchRecord, record } from "../lib.ts"

const suite = "simulator"
const path = "scenarios/growth-10k.json"
/** Requests of the bounded run on the real core. */
const realRequests = Number(process.env["CORRAL_BENCH_SIM_REAL_REQUESTS"] ?? 20_000)
/** The full run on the real core happens when (b) projects it under this many seconds. */
const fullMaxS = Number(process.env["CORRAL_BENCH_SIM_FULL_MAX_S"] ?? 600)
const fullRequests = 1_000_000
const mib = 1_048_576

/** Places round-robin and forgets: O(1) per call, so a run measures the engine alone. */
class NullCluster implements SimCluster {
  private next = 0
  private held = 0

  constructor(readonly hostCount: number) {}

  place(members: ReadonlyArray<Member>, _group: GroupDemand | undefined): Placement {
    const hosts: number[] = []
    for (let k = 0; k < members.length; k++) {
      hosts.push(this.next)
      this.next = this.next + 1 === this.hostCount ? 0 : this.next + 1
    }
    this.held += members.length
    return { ok: true, hosts }
  }

  release(_id: string): void {
    if (--this.held < 0) throw new Error("release of nothing")
  }

  migrate(): Placement {
    return { ok: false, reason: "unsupported" }
  }

  setHostStatus(): void {}

  totals(): ReadonlyMap<string, ResourceTotal> {
    return new Map([["vms", { used: this.held, capacity: Infinity }]])
  }

  hostsInUse(): number {
    return Math.min(this.held, this.hostCount)
  }

  free(_host: number): { vcpus: number; ramMb: number } {
    return { vcpus: 0, ramMb: 0 }
  }

  holdings(): Iterable<Holding> {
    return []
  }
}

/**
 * A cluster that times what it delegates: the real core's placement (`place`, `migrate`) and
 * release, in milliseconds. Everything else the run spends is the simulator's (or the checks').
 */
class TimedCluster implements SimCluster {
  placeMs = 0
  releaseMs = 0

  constructor(private readonly inner: SimCluster) {}

  get hostCount(): number {
    return this.inner.hostCount
  }

  place(members: ReadonlyArray<Member>, group: GroupDemand | undefined): Placement {
    const t = performance.now()
    const placed = this.inner.place(members, group)
    this.placeMs += performance.now() - t
    return placed
  }

  release(id: string): void {
    const t = performance.now()
    this.inner.release(id)
    this.releaseMs += performance.now() - t
  }

  migrate(id: string): Placement {
    const t = performance.now()
    const moved = this.inner.migrate(id)
    this.placeMs += performance.now() - t
    return moved
  }

  setHostStatus(host: number, status: "up" | "down" | "maintenance"): void {
    this.inner.setHostStatus(host, status)
  }

  totals(): ReadonlyMap<string, ResourceTotal> {
    return this.inner.totals()
  }

  hostsInUse(): number {
    return this.inner.hostsInUse()
  }

  free(host: number): { vcpus: number; ramMb: number } {
    return this.inner.free(host)
  }

  holdings(): Iterable<Holding> {
    return this.inner.holdings()
  }
}

/** What a child run reports. */
interface ChildResult {
  readonly requests: number
  readonly events: number
  readonly seconds: number
  /** Building the cluster (the real core's scan arrays, PCI and pmem state), before the run. */
  readonly setupSeconds: number
  /** CPU time of the run (user + system): on a shared machine, the one-core figure. */
  readonly cpuSeconds: number
  /** RSS with the scenario loaded, and with the cluster built; the process's peak RSS (bytes). */
  readonly rssBefore: number
  readonly rssSetup: number
  readonly rssPeak: number
  /** Most VMs alive at once (sampled every 10,000 events, every 100 on the real core). */
  readonly liveMax: number
  /** Real core only: wall time in the core's placement and release, and in the checks (s). */
  readonly placeSeconds: number
  readonly releaseSeconds: number
  readonly checkSeconds: number
}

function load(requests: number) {
  const loaded = loadScenario(path, [["workload.requestsMax", requests], ["durationS", 31_536_000]])
  if (Result.isFailure(loaded)) throw new Error(loaded.failure.message)
  return loaded.success
}

/** Runs one measurement in this process (the child side). */
function child(mode: "engine" | "real", requests: number): ChildResult {
  const loaded = load(requests)
  let liveMax = 0
  const onProgress = (_t: number, _e: number, s: Simulation) => {
    liveMax = Math.max(liveMax, s.vms.live)
  }
  const scenario = loaded.scenario
  const seed = scenario.spec.seed
  const rssBefore = process.memoryUsage().rss
  let started = performance.now()
  const timed = mode === "real" ? new TimedCluster(new CoreCluster(scenario.inventory,
    scenario.spec.policies.weigher, aliasDemands(scenario))) : undefined
  const cluster = timed ?? new NullCluster(scenario.inventory.hosts.length)
  const setupSeconds = (performance.now() - started) / 1000
  const rssSetup = process.memoryUsage().rss
  const reproduce = reproduceCommand(loaded, seed)
  let checkMs = 0
  const check = (s: Simulation) => {
    const t = performance.now()
    checkAll(s, reproduce)
    checkMs += performance.now() - t
  }
  const sim = new Simulation(scenario, cluster, { seed, onProgress,
    progressEveryEvents: mode === "real" ? 100 : 10_000, ...(mode === "real" ? { check } : {}) })
  const cpuBefore = process.cpuUsage()
  started = performance.now()
  sim.run()
  const seconds = (performance.now() - started) / 1000
  const cpu = process.cpuUsage(cpuBefore)
  const cpuSeconds = (cpu.user + cpu.system) / 1e6
  return { requests: sim.recorder.requests, events: sim.events, seconds, setupSeconds, cpuSeconds,
    rssBefore, rssSetup, rssPeak: process.resourceUsage().maxRSS * 1024, liveMax,
    placeSeconds: (timed?.placeMs ?? 0) / 1000, releaseSeconds: (timed?.releaseMs ?? 0) / 1000,
    checkSeconds: checkMs / 1000 }
}

/** Runs a measurement in a child process and returns what it printed. */
function inChild(mode: "engine" | "real", requests: number, timeoutS = 0): ChildResult {
  const self = fileURLToPath(import.meta.url)
  const out = spawnSync(process.execPath, ["--import", "tsx", self, "--child", mode,
    String(requests)], { encoding: "utf8", maxBuffer: 1 << 24,
    timeout: Math.round(timeoutS * 1000) })
  if (out.status !== 0) {
    throw new Error(`bench child ${mode} failed (${out.signal ?? out.status}): ${out.stderr}`)
  }
  const lines = out.stdout.trim().split("\n")
  return JSON.parse(lines[lines.length - 1]!) as ChildResult
}

/**
 * Where a real-core run's time went, per request: the core's placement, the core's release, the
 * invariant checks, and the rest (the simulator's engine, cluster adapter and recorder). The
 * timers read the wall clock, which on a busy machine also counts the time the process waited
 * for a core; the second set scales each part by the run's CPU/wall ratio (an estimate that
 * assumes the waits fall on every part alike), comparable across machine loads.
 */
function split(label: string, r: ChildResult): BenchRecord[] {
  const us = (seconds: number) => (seconds * 1e6) / r.requests
  const cpuUs = (seconds: number) => us(seconds) * (r.cpuSeconds / r.seconds)
  const rest = r.seconds - r.placeSeconds - r.releaseSeconds - r.checkSeconds
  return [
    record(suite, `${label}: core placement (schedule), µs per request`, us(r.placeSeconds), "µs",
      "lower"),
    record(suite, `${label}: core release (deleteServer), µs per request`, us(r.releaseSeconds),
      "µs", "lower"),
    record(suite, `${label}: invariant checks, µs per request`, us(r.checkSeconds), "µs", "lower"),
    record(suite, `${label}: the simulator's own code, µs per request`, us(rest), "µs", "lower"),
    record(suite, `${label}: the simulator's own share of the run`, rest / r.seconds, "ratio",
      "lower"),
    record(suite, `${label}: CPU µs per request (whole run)`, us(r.cpuSeconds), "µs", "lower"),
    record(suite, `${label}: core placement, CPU-scaled µs per request`, cpuUs(r.placeSeconds),
      "µs", "lower"),
    record(suite, `${label}: core release, CPU-scaled µs per request`, cpuUs(r.releaseSeconds),
      "µs", "lower"),
    record(suite, `${label}: the simulator's own code, CPU-scaled µs per request`, cpuUs(rest),
      "µs", "lower"),
  ]
}

/** Runs the suite. */
export async function run(): Promise<BenchRecord[]> {
  const records: BenchRecord[] = []
  const engine = inChild("engine", fullRequests)
  const engineRate = engine.events / engine.seconds
  const m = `${(fullRequests / 1e6).toFixed(0)}M`
  records.push(record(suite, `(a) engine alone, 10,000 hosts, ${m} requests: events/s`,
    engineRate, "events/s", "higher", 1_000_000))
  records.push(record(suite, `(a) engine alone, ${m} requests: events per CPU-second`,
    engine.events / engine.cpuSeconds, "events/s", "higher", 1_000_000))
  records.push(record(suite, `(a) engine alone, ${m} requests: wall time`, engine.seconds, "s",
    "lower", 60))
  records.push(record(suite, `(a) engine alone, ${m} requests: peak RSS`, engine.rssPeak / mib,
    "MiB", "lower", 2048))
  records.push(record(suite, `(a) VMs alive at once (peak), ${m} requests`, engine.liveMax,
    "VMs", "higher"))

  const real = inChild("real", realRequests)
  const realRate = real.events / real.seconds
  const eventsPerRequest = real.events / real.requests
  const n = real.requests.toLocaleString("en-US")
  records.push(record(suite, `(b) real core, 10,000 hosts, ${n} requests: events/s`, realRate,
    "events/s", "higher", 1_000_000))
  records.push(record(suite, `(b) real core, ${n} requests: events per CPU-second`,
    real.events / real.cpuSeconds, "events/s", "higher", 1_000_000))
  records.push(record(suite, "(b) real core: ms per request (all its events)",
    (real.seconds * 1000) / real.requests, "ms", "lower"))
  records.push(record(suite, "(b) real core, 10,000 hosts: cluster setup", real.setupSeconds, "s",
    "lower"))
  records.push(...split(`(b) ${n} requests`, real))
  const projectedS = real.setupSeconds + (fullRequests * eventsPerRequest) / realRate
  /** A full run that takes 3x its projection (the machine got busy) is stopped: a defect here. */
  const full = projectedS <= fullMaxS
    ? inChild("real", fullRequests, Math.max(600, 3 * projectedS)) : undefined
  const projected = full === undefined ? "projected (no full run)" : "projected"
  records.push(record(suite, `(b) real core, ${m} requests: wall time ${projected} from ${n}`,
    projectedS, "s", "lower", full === undefined ? 60 : undefined))
  records.push(record(suite, `(b) real core, ${m} requests: CPU time ${projected} from ${n}`,
    real.setupSeconds + (fullRequests * eventsPerRequest) / (real.events / real.cpuSeconds), "s",
    "lower", full === undefined ? 60 : undefined))
  const perVm = Math.max(0, real.rssPeak - real.rssSetup) / Math.max(1, real.liveMax)
  records.push(record(suite, `(b) real core, ${m} requests: peak RSS ${projected} from ${n}`,
    (real.rssSetup + perVm * engine.liveMax) / mib, "MiB", "lower",
    full === undefined ? 2048 : undefined))
  records.push(record(suite, `(b) real core, ${n} requests: peak RSS measured`,
    real.rssPeak / mib, "MiB", "lower"))
  if (full === undefined) {
    console.error(`simulator: no full ${m}-request run on the real core: (b) projects ` +
      `${projectedS.toFixed(0)} s > CORRAL_BENCH_SIM_FULL_MAX_S=${fullMaxS}; ` +
      "its figures are projections")
  } else {
    const f = full.requests.toLocaleString("en-US")
    records.push(record(suite, `(c) real core, 10,000 hosts, ${f} requests: wall time ` +
      "(measured, setup included)", full.setupSeconds + full.seconds, "s", "lower", 60))
    records.push(record(suite, `(c) real core, ${f} requests: peak RSS (measured)`,
      full.rssPeak / mib, "MiB", "lower", 2048))
    records.push(record(suite, `(c) real core, ${f} requests: events/s`,
      full.events / full.seconds, "events/s", "higher", 1_000_000))
    records.push(record(suite, `(c) real core, ${f} requests: events per CPU-second`,
      full.events / full.cpuSeconds, "events/s", "higher", 1_000_000))
    records.push(record(suite, `(c) real core, ${f} requests: CPU time (setup excluded)`,
      full.cpuSeconds, "s", "lower"))
    records.push(record(suite, `(c) VMs alive at once (peak), ${f} requests`, full.liveMax,
      "VMs", "higher"))
    records.push(...split(`(c) ${f} requests`, full))
    records.push(record(suite, "(c) measured vs (b) projected wall time", (full.setupSeconds +
      full.seconds) / projectedS, "x", "lower"))
  }
  records.push(record(suite, "real core vs engine alone: events/s ratio", realRate / engineRate,
    "x", "higher"))
  return records
}

if (process.argv[2] === "--child") {
  const mode = process.argv[3] === "real" ? "real" : "engine"
  console.log(JSON.stringify(child(mode, Number(process.argv[4]))))
}
