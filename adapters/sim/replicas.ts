/**
 * Replicated VMs in the simulator, driven through the real replica state machine
 * (`core/replication`): create with an initial full sync, periodic incremental syncs whose size
 * comes from the dirty rate and whose duration from `bwlimit`, abort on link or host loss,
 * failover when the master's host crashes (RTO = detection + promotion + boot), reinit of the old
 * master as slave when its host is back.
 *
 * Each replica has its own `ReplicationState` and a two-host world, so every transition costs
 * O(1) however many replicas the fleet holds.
 */
import { Result } from "effect"
import type { Outcome } from "../../core/errors.ts"
import {
  acknowledgeSync, abortSync, createReplica, deleteReplica, emptyReplicationState,
  failoverReplica, type HostFacts, nextSyncDueS, reinitReplica, type Replica,
  type ReplicaWorld, type ReplicationState, rpoS, startSync, type Transition, transferTimeS,
} from "../../core/replication/index.ts"
import { sample } from "./distribution.ts"
import { Ev, type SimVm, type Simulation } from "./engine.ts"

/** The replica name the simulator gives every VM's one replica. */
export const repname = "r1"

/** One replicated VM's replication, as the simulator tracks it. */
export interface SimReplica {
  state: ReplicationState
  /** The one replica `state` holds, as the core's last transition returned it. */
  replica: Replica
  /** The cluster record of the slave copy and the host it is on. */
  slaveRecord: string
  slaveHost: number
  /** The cycle in flight: its generation, bytes and when its acknowledgement is due. */
  cycle: { generation: number; bytes: number; doneAtS: number } | null
  lastSnapshotS: number
  crashAtS: number
}

/** The replicas of one run. */
export class ReplicaSet {
  readonly byVm = new Map<number, SimReplica>()
  /** Replicated VMs whose slave (or, after a failover, old master) record is on each host. */
  private readonly slavesOn: Array<Set<number>>
  /** Per host, its pool names (built on first use: the facts never change). */
  private readonly zpools: Array<ReadonlyArray<string> | undefined>

  constructor(private readonly sim: Simulation) {
    this.slavesOn = Array.from({ length: sim.hostStatus.length }, () => new Set<number>())
    this.zpools = new Array<ReadonlyArray<string> | undefined>(sim.hostStatus.length)
  }

  private hostName(host: number): string {
    return this.sim.scenario.inventory.hosts[host]!.name
  }

  private facts(h: number): HostFacts {
    const host = this.sim.scenario.inventory.hosts[h]!
    const free = this.sim.cluster.free(h)
    const zpools = this.zpools[h] ?? (this.zpools[h] = host.diskPools.map((p) => p.name))
    return { name: host.name, status: this.sim.hostStatus[h]!, zpools,
      freeVcpus: free.vcpus, freeRamMb: free.ramMb, vcpuCapacity: host.vcpuCapacity,
      ramCapacityMb: host.ramCapacityMb }
  }

  /** What the core knows of the VM and of its master's and slave's hosts. */
  private world(vm: SimVm, masterHost: number, slaveHost: number): ReplicaWorld {
    const d = this.sim.demands[vm.mix]!
    const uuid = vm.uuid
    return {
      vms: [{ uuid, hostname: uuid, host: this.hostName(masterHost), status: "running",
        vcpus: d.vcpus, ramMb: d.ramMb, pendingTaskCount: 0, diskIds: [] }],
      hosts: [this.facts(masterHost), this.facts(slaveHost)],
    }
  }

  /** The replica of a VM in the core's state. */
  replicaOf(vm: SimVm): Replica {
    const r = this.byVm.get(vm.index)
    if (r === undefined) throw new Error(`VM ${vm.uuid} has no replica`)
    return r.replica
  }

  /**
   * Gives a new VM its replica. The slave was placed with the VM (host anti-affinity), which is
   * the `reserve` effect the core asks for; the core then creates the replica.
   */
  protect(vm: SimVm, slaveRecord: string, slaveHost: number): void {
    const d = this.sim.demands[vm.mix]!
    const world = this.worldWithout(vm, slaveHost, d)
    const rep = this.sim.scenario.spec.replication
    const created = createReplica(emptyReplicationState, world, vm.uuid, repname, {
      node: this.hostName(slaveHost), sleep_time: rep.sleepTimeS, bwlimit: rep.bwlimitBytesPerS,
    }, this.sim.nowS)
    const t = expect(created, "createReplica")
    vm.replicated = true
    this.byVm.set(vm.index, { state: t.state, replica: replicaIn(t, "createReplica"), slaveRecord,
      slaveHost, cycle: null, lastSnapshotS: this.sim.nowS, crashAtS: 0 })
    this.slavesOn[slaveHost]!.add(vm.index)
    this.sim.recorder.count("replicasCreated")
    this.sim.at(0, Ev.syncStart, vm.index)
  }

  /** The world as it was before the slave's placement reserved its share. */
  private worldWithout(vm: SimVm, slaveHost: number, d: { vcpus: number; ramMb: number }):
    ReplicaWorld {
    const w = this.world(vm, vm.host, slaveHost)
    const hosts = w.hosts.map((h, i) => i === 1
      ? { ...h, freeVcpus: h.freeVcpus + d.vcpus, freeRamMb: h.freeRamMb + d.ramMb } : h)
    return { vms: w.vms, hosts }
  }

  /** Deletes a VM's replica through the core and releases the slave's share. */
  unprotect(vm: SimVm): void {
    const r = this.byVm.get(vm.index)
    if (r === undefined) return
    const t = deleteReplica(r.state, this.world(vm, vm.host, r.slaveHost), vm.uuid, repname)
    expect(t, "deleteReplica")
    this.sim.cluster.release(r.slaveRecord)
    this.slavesOn[r.slaveHost]!.delete(vm.index)
    this.byVm.delete(vm.index)
    vm.replicated = false
  }

  private usable(host: number): boolean {
    return this.sim.hostStatus[host] !== "down" && this.sim.linkUp[host]!
  }

  /** Starts a sync cycle when both ends are reachable and the core's scheduler says it is due. */
  onSyncStart(index: number): void {
    const vm = this.sim.vmAt(index)
    const r = this.byVm.get(index)
    if (vm === undefined || r === undefined || r.cycle !== null) return
    const replica = this.replicaOf(vm)
    const due = nextSyncDueS(replica)
    if (due === null || due > this.sim.nowS) return
    if (!this.usable(vm.host) || !this.usable(r.slaveHost)) return
    const started = startSync(r.state, this.world(vm, vm.host, r.slaveHost), vm.uuid, repname,
      this.sim.nowS)
    const s = expect(started, "startSync")
    const rep = this.sim.scenario.spec.replication
    const diskBytes = this.sim.demands[vm.mix]!.diskMb * 1_048_576
    const dirty = sample(rep.dirtyBytesPerS, this.sim.random("replication"))
    const bytes = Math.round(s.cycle.fromGeneration === 0 && !s.cycle.includeSlaveChanges
      ? diskBytes : Math.min(diskBytes || Infinity, dirty * (this.sim.nowS - r.lastSnapshotS)))
    const seconds = rep.bwlimitBytesPerS === null ? bytes / rep.linkBytesPerS
      : transferTimeS(bytes, rep.bwlimitBytesPerS)
    r.state = s.state
    r.replica = s.replica
    r.lastSnapshotS = this.sim.nowS
    r.cycle = { generation: s.cycle.generation, bytes, doneAtS: this.sim.nowS + seconds }
    this.sim.queue.push(r.cycle.doneAtS, Ev.syncDone, index)
  }

  /** The slave acknowledges the cycle: RPO is sampled just before `last_sync` moves. */
  onSyncDone(index: number): void {
    const vm = this.sim.vmAt(index)
    const r = this.byVm.get(index)
    if (vm === undefined || r === undefined || r.cycle === null) return
    if (r.cycle.doneAtS !== this.sim.nowS) return
    const before = rpoS(this.replicaOf(vm), this.sim.nowS)
    const acked = acknowledgeSync(r.state, this.world(vm, vm.host, r.slaveHost), vm.uuid,
      repname, { generation: r.cycle.generation, bytesSent: r.cycle.bytes, atS: this.sim.nowS })
    const a = expect(acked, "acknowledgeSync")
    r.state = a.state
    r.replica = a.replica
    if (before !== null) this.sim.recorder.rpo(before)
    this.sim.recorder.syncBytes(r.cycle.bytes)
    r.cycle = null
    this.scheduleNext(vm)
  }

  private scheduleNext(vm: SimVm): void {
    const due = nextSyncDueS(this.replicaOf(vm))
    if (due !== null) this.sim.queue.push(Math.max(due, this.sim.nowS), Ev.syncStart, vm.index)
  }

  /** A host (or its replication link) went away: abort the cycles that use it. */
  onHostDown(host: number): void {
    for (const index of [...this.slavesOn[host]!, ...this.sim.vms.on(host)]) {
      const vm = this.sim.vmAt(index)
      const r = this.byVm.get(index)
      if (vm === undefined || r === undefined || r.cycle === null) continue
      const aborted = abortSync(r.state, this.world(vm, vm.host, r.slaveHost), vm.uuid, repname)
      const a = expect(aborted, "abortSync")
      r.state = a.state
      r.replica = a.replica
      r.cycle = null
      this.sim.recorder.count("syncsAborted")
    }
  }

  /** A host (or link) is back: reinit replicas waiting for it, resume their cycles. */
  onHostUp(host: number): void {
    for (const index of [...this.slavesOn[host]!, ...this.sim.vms.on(host)]) {
      const vm = this.sim.vmAt(index)
      const r = this.byVm.get(index)
      if (vm === undefined || r === undefined) continue
      const replica = this.replicaOf(vm)
      if (replica.reinitRequired) {
        if (vm.phase === "failingOver" || this.sim.hostStatus[r.slaveHost] !== "up") continue
        const t = reinitReplica(r.state, this.world(vm, vm.host, r.slaveHost), vm.uuid, repname,
          this.sim.nowS)
        const reinit = expect(t, "reinitReplica")
        r.state = reinit.state
        r.replica = replicaIn(reinit, "reinitReplica")
        this.sim.recorder.count("reinits")
      }
      if (r.cycle === null) this.scheduleNext(vm)
    }
  }

  /**
   * The master's host crashed (or, `planned`, entered maintenance): fail over to the slave when
   * the core allows it. The VM is back after detection + promotion + a cold boot (planned: no
   * detection). Returns false when it cannot (no sync yet, slave host down, reinit pending).
   */
  failoverIfPossible(vm: SimVm, planned: boolean): boolean {
    const r = this.byVm.get(vm.index)
    if (r === undefined || vm.phase === "stopping" || vm.phase === "failingOver") return false
    const replica = this.replicaOf(vm)
    const lossS = rpoS(replica, this.sim.nowS)
    const t = failoverReplica(r.state, this.world(vm, vm.host, r.slaveHost), vm.uuid, repname,
      { force: true })
    if (Result.isFailure(t)) {
      this.sim.recorder.count(planned ? "plannedFailoversRefused" : "failoversRefused")
      if (!planned) this.unprotect(vm)
      return false
    }
    r.state = t.success.state
    r.replica = replicaIn(t.success, "failoverReplica")
    r.cycle = null
    const oldHost = vm.host
    const oldRecord = vm.record
    this.slavesOn[r.slaveHost]!.delete(vm.index)
    this.sim.moveVm(vm, r.slaveHost)
    vm.record = r.slaveRecord
    r.slaveRecord = oldRecord
    r.slaveHost = oldHost
    this.slavesOn[oldHost]!.add(vm.index)
    vm.phase = "failingOver"
    vm.pmemWarm = false
    r.crashAtS = this.sim.nowS
    const rep = this.sim.scenario.spec.replication
    const random = this.sim.random("replication")
    const detectS = planned ? 0 : sample(rep.detectionS, random)
    const delayS = detectS + sample(rep.promotionS, random) + this.sim.bootS(vm.mix, false)
    if (!planned && lossS !== null) this.sim.recorder.dataLoss(lossS)
    this.sim.recorder.count(planned ? "plannedFailovers" : "failovers")
    this.sim.at(delayS, Ev.failoverDone, vm.index)
    return true
  }

  /** The promoted copy has booted: record RTO, reinit at once if the old master's host is up. */
  onFailoverDone(index: number): void {
    const vm = this.sim.vmAt(index)
    const r = this.byVm.get(index)
    if (vm === undefined || vm.phase !== "failingOver" || r === undefined) return
    this.sim.recorder.rto(this.sim.nowS - r.crashAtS)
    vm.phase = "booting"
    this.sim.onReady(index)
    if (this.sim.hostStatus[r.slaveHost] === "up") this.onHostUp(r.slaveHost)
  }
}

/** The replica a transition left (a defect when it left none). */
function replicaIn(t: Transition, what: string): Replica {
  if (t.replica === null) throw new Error(`simulator defect: ${what} left no replica`)
  return t.replica
}

function expect<A>(outcome: Outcome<A>, what: string): A {
  if (Result.isFailure(outcome)) {
    throw new Error(`simulator defect: ${what} refused: ${outcome.failure.message}`)
  }
  return outcome.success
}
