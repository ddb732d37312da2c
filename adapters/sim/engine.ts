/**
 * The discrete-event simulator: virtual time, one event queue with deterministic tie-breaking,
 * one seed from which every random stream is derived by name. It drives a `SimCluster` (the real
 * core, through `core-cluster.ts`) and the real replication state machine, and records what a
 * capacity planner reads: rejections by reason, utilisation, failovers, RPO, pmem boot savings.
 *
 * Same scenario + same seed → the same report, byte for byte: nothing here reads a clock.
 */
import type { Scenario } from "../../core/scenario/scenario.ts"
import type { TraceRequest } from "../../core/scenario/scenario.ts"
import { sample } from "./distribution.ts"
import type { GroupDemand, Member, SimCluster, VmDemand } from "./port.ts"
import { EventQueue } from "./queue.ts"
import { derive, type Random } from "./random.ts"
import { Recorder } from "./recorder.ts"
import { ReplicaSet, repname } from "./replicas.ts"
import { Phase, SimVm, VmFlag, VmTable } from "./vms.ts"

export { SimVm, type VmPhase } from "./vms.ts"

/** Event kinds. */
export const Ev = {
  arrival: 0, ready: 1, depart: 2, stopped: 3, crash: 4, repair: 5, maintStart: 6,
  maintEnd: 7, linkDown: 8, linkUp: 9, syncStart: 10, syncDone: 11, failoverDone: 12,
  restart: 13, restartDone: 14, sample: 15,
} as const

/** Most events one run may process (a bound on every loop of the engine). */
export const eventsMax = 500_000_000

/** The named random streams of a run (each derived from the seed by its name). */
export type StreamName = "arrivals" | "mix" | "lifetime" | "latency" | "crash" | "link" |
  "replication" | "restart"

/** Options of one run. */
export interface RunOptions {
  readonly seed: number
  /** The requests of a CSV trace, when the scenario's arrivals are a trace. */
  readonly trace?: ReadonlyArray<TraceRequest>
  /** Called with (simulated time, events so far, the run) every `progressEveryEvents` events. */
  readonly onProgress?: (timeS: number, events: number, sim: Simulation) => void
  readonly progressEveryEvents?: number
  /** Runs the invariant checkers; throws on a violation. */
  readonly check?: (sim: Simulation) => void
}

/** A simulation in progress; `run` drives it to the end. */
export class Simulation {
  readonly queue = new EventQueue()
  /** Every VM the run placed (rows are never reused). */
  readonly vms: VmTable
  readonly hostStatus: Array<"up" | "down" | "maintenance">
  readonly linkUp: boolean[]
  readonly recorder: Recorder
  readonly replicas: ReplicaSet
  readonly demands: ReadonlyArray<VmDemand>
  /** Per mix entry: what a replica's slave holds (the VM's resources without its devices). */
  private readonly slaveDemands: ReadonlyArray<VmDemand>
  private readonly streams: Record<StreamName, Random>
  private readonly arrivals: Random
  private readonly mixRandom: Random
  private readonly lifetime: Random
  private readonly latency: Random
  private readonly replication: Random
  private readonly cumulativeWeights: number[]
  /** Per mix entry: the working set its pmem volumes hold, in MB. */
  private readonly workingSetsMb: number[]
  nowS = 0
  events = 0

  constructor(
    readonly scenario: Scenario,
    readonly cluster: SimCluster,
    readonly options: RunOptions,
  ) {
    const hosts = scenario.inventory.hosts.length
    this.hostStatus = scenario.inventory.hosts.map((h) => h.status)
    const faults = scenario.spec.faults
    // Only host faults (crash, maintenance, link loss) ask which VMs a host holds.
    this.vms = new VmTable(hosts, faults.hostCrash !== undefined ||
      faults.maintenance.length > 0 || faults.linkLoss !== undefined)
    this.linkUp = new Array<boolean>(hosts).fill(true)
    const stream = (n: StreamName) => derive(options.seed, n)
    this.streams = { arrivals: stream("arrivals"), mix: stream("mix"),
      lifetime: stream("lifetime"), latency: stream("latency"), crash: stream("crash"),
      link: stream("link"), replication: stream("replication"), restart: stream("restart") }
    this.arrivals = this.streams.arrivals
    this.mixRandom = this.streams.mix
    this.lifetime = this.streams.lifetime
    this.latency = this.streams.latency
    this.replication = this.streams.replication
    const spec = scenario.spec
    this.workingSetsMb = spec.workload.mix.map((m) =>
      m.pmem.reduce((total, v) => total + (v.workingSetMb ?? v.sizeMb), 0))
    let total = 0
    this.cumulativeWeights = spec.workload.mix.map((m) => (total += m.weight))
    this.demands = spec.workload.mix.map((m, i) => demandOf(scenario, i, m))
    this.slaveDemands = this.demands.map((d) => ({ ...d, pci: [], pmem: [] }))
    this.recorder = new Recorder(scenario, cluster)
    this.replicas = new ReplicaSet(this)
  }

  /** A named random stream of this run. */
  random(name: StreamName): Random {
    return this.streams[name]
  }

  /** A handle on VM `index`, or undefined when it is gone (or never was). */
  vmAt(index: number): SimVm | undefined {
    const vms = this.vms
    return vms.phaseOf(index) !== Phase.gone ? new SimVm(vms, index) : undefined
  }

  /** Runs to the scenario's duration (or until nothing is left to do). */
  run(): void {
    this.start()
    const durationS = this.scenario.spec.durationS
    const every = this.options.progressEveryEvents ?? 100_000
    const checkEvery = this.scenario.spec.outputs.invariantsEveryEvents
    const check = checkEvery > 0 ? this.options.check : undefined
    const onProgress = this.options.onProgress
    let untilCheck = checkEvery
    let untilProgress = every
    const queue = this.queue
    while (queue.peekTime() <= durationS) {
      const e = queue.pop()!
      if (++this.events > eventsMax) throw new Error(`more than ${eventsMax} events`)
      this.nowS = e.timeS
      this.dispatch(e.kind, e.subject)
      if (--untilCheck === 0) {
        untilCheck = checkEvery
        check?.(this)
      }
      if (--untilProgress === 0) {
        untilProgress = every
        onProgress?.(this.nowS, this.events, this)
      }
    }
    this.nowS = durationS
    this.recorder.sampleNow(this)
    this.options.check?.(this)
  }

  private start(): void {
    const spec = this.scenario.spec
    this.scheduleNextArrival(0)
    const points = spec.outputs.timeseriesPoints
    for (let i = 0; i < points; i++) this.queue.push((spec.durationS * i) / points, Ev.sample, i)
    const crash = spec.faults.hostCrash
    const link = spec.faults.linkLoss
    for (let h = 0; h < this.hostStatus.length; h++) {
      if (crash !== undefined) this.at(sample(crash.mtbfS, this.random("crash")), Ev.crash, h)
      if (link !== undefined) this.at(sample(link.mtbfS, this.random("link")), Ev.linkDown, h)
    }
    spec.faults.maintenance.forEach((w, i) => this.queue.push(w.startS, Ev.maintStart, i))
  }

  /** Schedules `kind` for `subject` `delayS` from now. */
  at(delayS: number, kind: number, subject: number): void {
    this.queue.push(this.nowS + delayS, kind, subject)
  }

  private dispatch(kind: number, subject: number): void {
    switch (kind) {
      case Ev.arrival: return this.onArrival(subject)
      case Ev.ready: return this.onReady(subject)
      case Ev.depart: return this.onDepart(subject)
      case Ev.stopped: return this.onStopped(subject)
      case Ev.crash: return this.onCrash(subject)
      case Ev.repair: return this.onRepair(subject)
      case Ev.maintStart: return this.onMaintenance(subject, true)
      case Ev.maintEnd: return this.onMaintenance(subject, false)
      case Ev.linkDown: return this.onLink(subject, false)
      case Ev.linkUp: return this.onLink(subject, true)
      case Ev.syncStart: return this.replicas.onSyncStart(subject)
      case Ev.syncDone: return this.replicas.onSyncDone(subject)
      case Ev.failoverDone: return this.replicas.onFailoverDone(subject)
      case Ev.restart: return this.onRestart(subject)
      case Ev.restartDone: return this.onRestartDone(subject)
      case Ev.sample: return this.recorder.sampleNow(this)
      default: throw new Error(`unknown event kind ${kind}`)
    }
  }

  private scheduleNextArrival(index: number): void {
    const spec = this.scenario.spec
    if (index >= spec.workload.requestsMax) return
    const arrivals = spec.workload.arrivals
    const r = this.arrivals
    let timeS: number
    if (arrivals.kind === "trace") {
      const next = this.options.trace?.[index]
      if (next === undefined) return
      timeS = next.timeS
    } else if (arrivals.kind === "poisson") {
      timeS = this.nowS - Math.log(r.nextOpen()) / arrivals.ratePerS
    } else {
      timeS = nextDiurnal(this.nowS, arrivals.ratesPerS, r, spec.durationS)
    }
    if (timeS <= spec.durationS) this.queue.push(timeS, Ev.arrival, index)
  }

  private pickMix(index: number): number {
    const trace = this.options.trace
    if (trace !== undefined) return trace[index]!.mixIndex
    const weights = this.cumulativeWeights
    const x = this.mixRandom.next() * weights[weights.length - 1]!
    let i = 0
    while (i < weights.length - 1 && weights[i]! <= x) i++
    return i
  }

  private onArrival(index: number): void {
    this.scheduleNextArrival(index + 1)
    const mixIndex = this.pickMix(index)
    const mix = this.scenario.spec.workload.mix[mixIndex]!
    const lifetimeS = sample(this.scenario.spec.workload.lifetimeS, this.lifetime)
    const size = mix.vcluster?.size ?? 1
    let group: GroupDemand | undefined = mix.vcluster === undefined ? undefined
      : { id: `vc-${index}.m${mixIndex}`, rules: mix.vcluster.rules }
    const replicated = mix.replicatedShare > 0 && this.replication.chance(mix.replicatedShare)
    const demand = this.demands[mixIndex]!
    // Sized arrays (a literal, or `new Array(n)` filled): an empty array grown by `push` starts
    // with room for 17 elements, most of what this path would allocate per request.
    let members: Member[]
    if (size === 1) {
      const vm: Member = { id: `vm-${index}`, demand }
      members = replicated ? [vm, this.slaveOf(index, mixIndex)] : [vm]
    } else {
      members = new Array<Member>(size + (replicated ? 1 : 0))
      for (let k = 0; k < size; k++) members[k] = { id: `vm-${index}-${k}`, demand }
      if (replicated) members[size] = this.slaveOf(index, mixIndex)
    }
    if (replicated) group = { id: `rep-${index}`, rules: replicaRules }
    const placed = this.cluster.place(members, group)
    if (!placed.ok) {
      this.recorder.reject(mixIndex, placed.reason, this.nowS)
      return
    }
    this.recorder.accept(mixIndex)
    for (let k = 0; k < size; k++) {
      const vm = this.vms.add(index, size === 1 ? -1 : k, mixIndex, placed.hosts[k]!,
        members[k]!.id)
      this.at(this.createLatencyS(mixIndex), Ev.ready, vm)
      this.at(lifetimeS, Ev.depart, vm)
      if (replicated) {
        this.replicas.protect(new SimVm(this.vms, vm), members[1]!.id, placed.hosts[1]!)
      }
    }
  }

  /** The slave copy of request `index`'s replicated VM (its resources without its devices). */
  private slaveOf(index: number, mixIndex: number): Member {
    return { id: `vm-${index}.${repname}`, demand: this.slaveDemands[mixIndex]! }
  }

  /** Create + deploy + a cold boot (the working set loads from disk). */
  private createLatencyS(mix: number): number {
    const l = this.scenario.spec.latencies
    const r = this.latency
    return sample(l.createS, r) + sample(l.deployS, r) + this.bootS(mix, false)
  }

  /** A boot of a VM of mix entry `mix`: warm when its pmem volumes were retained (records the
   * time saved), else cold. */
  bootS(mix: number, warm: boolean): number {
    const l = this.scenario.spec.latencies
    const base = sample(warm ? l.rebootS : l.bootS, this.latency)
    const workingSetMb = this.workingSetsMb[mix]!
    if (workingSetMb === 0) return base
    const reloadS = workingSetMb / l.reloadMbPerS
    this.recorder.pmemBoot(warm, reloadS)
    return warm ? base : base + reloadS
  }

  /** A VM finished booting: it runs, its pmem holds the working set, restarts are scheduled. */
  onReady(index: number): void {
    const vms = this.vms
    if (vms.phaseOf(index) !== Phase.booting) return
    vms.setPhase(index, Phase.running)
    vms.setFlag(index, VmFlag.pmemWarm, true)
    const restart = this.scenario.spec.workload.mix[vms.mixOf(index)]!.restartEveryS
    if (restart !== undefined) this.at(sample(restart, this.random("restart")), Ev.restart, index)
  }

  private onRestart(index: number): void {
    const vms = this.vms
    if (vms.phaseOf(index) !== Phase.running) return
    vms.setPhase(index, Phase.restarting)
    const warm = vms.flag(index, VmFlag.pmemWarm)
    this.at(this.bootS(vms.mixOf(index), warm), Ev.restartDone, index)
  }

  private onRestartDone(index: number): void {
    const vms = this.vms
    if (vms.phaseOf(index) !== Phase.restarting) return
    vms.setPhase(index, Phase.booting)
    this.onReady(index)
  }

  private onDepart(index: number): void {
    const vms = this.vms
    const phase = vms.phaseOf(index)
    if (phase === Phase.gone || phase === Phase.stopping) return
    vms.setPhase(index, Phase.stopping)
    this.at(sample(this.scenario.spec.latencies.stopS, this.latency), Ev.stopped, index)
  }

  private onStopped(index: number): void {
    if (this.vms.phaseOf(index) !== Phase.stopping) return
    this.remove(index)
  }

  /** Releases everything a VM holds and forgets it. */
  removeVm(vm: SimVm): void {
    this.remove(vm.index)
  }

  private remove(index: number): void {
    const vms = this.vms
    if (vms.flag(index, VmFlag.replicated)) this.replicas.unprotect(new SimVm(vms, index))
    this.cluster.release(vms.recordOf(index))
    vms.remove(index)
  }

  /** Moves a VM's bookkeeping to another host. */
  moveVm(vm: SimVm, host: number): void {
    this.vms.move(vm.index, host)
  }

  private onCrash(host: number): void {
    const crash = this.scenario.spec.faults.hostCrash!
    if (this.hostStatus[host] !== "up") {
      this.at(sample(crash.mtbfS, this.random("crash")), Ev.crash, host)
      return
    }
    this.hostStatus[host] = "down"
    this.cluster.setHostStatus(host, "down")
    this.recorder.count("hostCrashes")
    this.replicas.onHostDown(host)
    for (const index of this.vms.on(host)) {
      const vm = new SimVm(this.vms, index)
      if (vm.replicated && this.replicas.failoverIfPossible(vm, false)) continue
      this.recover(vm)
    }
    this.at(sample(crash.mttrS, this.random("crash")), Ev.repair, host)
  }

  /** A VM whose host died without a usable replica: rescheduled (cold boot) or lost. */
  private recover(vm: SimVm): void {
    const policy = this.scenario.spec.policies.onHostCrash
    if (vm.phase === "stopping" || policy === "lose") {
      if (vm.phase !== "stopping") this.recorder.count("vmsLost")
      this.removeVm(vm)
      return
    }
    if (vm.replicated) this.replicas.unprotect(vm)
    const moved = this.cluster.migrate(vm.record)
    if (!moved.ok) {
      this.recorder.count("vmsLost")
      this.removeVm(vm)
      return
    }
    this.recorder.count("vmsRescheduled")
    this.moveVm(vm, moved.hosts[0]!)
    vm.phase = "booting"
    vm.pmemWarm = false
    this.at(this.bootS(vm.mix, false), Ev.ready, vm.index)
  }

  private onRepair(host: number): void {
    this.hostStatus[host] = "up"
    this.cluster.setHostStatus(host, "up")
    this.replicas.onHostUp(host)
    const crash = this.scenario.spec.faults.hostCrash!
    this.at(sample(crash.mtbfS, this.random("crash")), Ev.crash, host)
  }

  private onMaintenance(window: number, starting: boolean): void {
    const w = this.scenario.spec.faults.maintenance[window]!
    const last = Math.min(this.hostStatus.length, w.firstHost + w.hostsCount)
    for (let h = w.firstHost; h < last; h++) {
      if (starting && this.hostStatus[h] === "up") {
        this.hostStatus[h] = "maintenance"
        this.cluster.setHostStatus(h, "maintenance")
        this.evacuate(h)
      } else if (!starting && this.hostStatus[h] === "maintenance") {
        this.hostStatus[h] = "up"
        this.cluster.setHostStatus(h, "up")
        this.replicas.onHostUp(h)
      }
    }
    if (starting) this.recorder.count("maintenanceWindows")
    if (starting) this.at(w.durationS, Ev.maintEnd, window)
  }

  /** Live-migrates a host's VMs elsewhere; a VM with nowhere to go stays (counted). */
  private evacuate(host: number): void {
    for (const index of this.vms.on(host)) {
      const vm = new SimVm(this.vms, index)
      if (vm.phase === "stopping") continue
      if (vm.replicated && this.replicas.failoverIfPossible(vm, true)) continue
      const moved = this.cluster.migrate(vm.record)
      if (!moved.ok) {
        this.recorder.count("evacuationsFailed")
        continue
      }
      this.recorder.count("migrations")
      this.moveVm(vm, moved.hosts[0]!)
      if (vm.replicated) this.replicas.unprotect(vm)
    }
  }

  private onLink(host: number, up: boolean): void {
    const link = this.scenario.spec.faults.linkLoss!
    this.linkUp[host] = up
    if (up) {
      this.replicas.onHostUp(host)
      this.at(sample(link.mtbfS, this.random("link")), Ev.linkDown, host)
    } else {
      this.recorder.count("linkLosses")
      this.replicas.onHostDown(host)
      this.at(sample(link.durationS, this.random("link")), Ev.linkUp, host)
    }
  }
}

/** The rule that keeps a replicated VM and its slave apart (shared by every such request). */
const replicaRules: GroupDemand["rules"] = [{ kind: "anti-affinity", scope: "host", hard: true }]

/** Next arrival of a diurnal (piecewise-linear, daily) rate curve, by thinning. */
function nextDiurnal(
  fromS: number,
  ratesPerS: ReadonlyArray<number>,
  r: Random,
  horizonS: number,
): number {
  const rateMax = Math.max(...ratesPerS)
  if (rateMax === 0) return Infinity
  const sliceS = 86_400 / ratesPerS.length
  let t = fromS
  for (let tries = 0; tries < 1_000_000 && t <= horizonS; tries++) {
    t -= Math.log(r.nextOpen()) / rateMax
    const x = (t % 86_400) / sliceS
    const i = Math.floor(x)
    const a = ratesPerS[i % ratesPerS.length]!
    const b = ratesPerS[(i + 1) % ratesPerS.length]!
    if (r.next() * rateMax < a + (b - a) * (x - i)) return t
  }
  return Infinity
}

function demandOf(
  scenario: Scenario,
  i: number,
  mix: Scenario["spec"]["workload"]["mix"][number],
): VmDemand {
  const flavor = scenario.flavors[i]!
  return {
    vcpus: flavor.vcpus,
    ramMb: flavor.ramMb,
    diskMb: flavor.diskGb * 1024,
    diskPool: flavor.diskPool,
    pci: mix.pci.map((p) => {
      const { vendor_id, product_id, dev_type, ...tags } = scenario.spec.pciAliases[p.alias]!
      return { alias: p.alias, vendorId: vendor_id, productId: product_id, devType: dev_type,
        tags: tags as Record<string, string>, count: p.count }
    }),
    pmem: mix.pmem.map((v) => ({ sizeMb: v.sizeMb, device: v.device })),
  }
}

/** Runs a scenario on a cluster; returns the finished simulation (read its recorder). */
export function simulate(scenario: Scenario, cluster: SimCluster, options: RunOptions): Simulation {
  const sim = new Simulation(scenario, cluster, options)
  sim.run()
  return sim
}
