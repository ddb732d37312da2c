// Property: random operations, host failures and agent crashes (modelled) against the replica
// state machine. The checker (this model of hosts, copies and a scheduler) lives outside the code.
import { Result } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import type { Outcome } from "../core/errors.ts"
import {
  abortSync, acknowledgeSync, createReplica, deleteReplica, emptyReplicationState,
  failoverReplica, type HostFacts, nextSyncDueS, phaseOf, reinitReplica, type Replica,
  type ReplicaEffect, type ReplicationState, replicaKey, startSync, type SyncCycle, updateReplica,
} from "../core/replication/index.ts"

const linkBytesPerS = 100_000_000
const hostNames = ["h1", "h2", "h3"] as const
const cyclesPerAdvanceMax = 1000
/** Every modelled cycle takes at least this long (connection, snapshot, fsync). */
const cycleSMin = 2

type Copy = { role: "master" | "slave" | "fenced"; running: boolean; gen: number;
  version: number; divergent: boolean }

interface Model {
  nowS: number
  state: ReplicationState
  hosts: Record<string, { status: "up" | "down"; freeVcpus: number; freeRamMb: number }>
  copies: Record<string, Copy>
  vmHost: string
  pendingTasks: number
  version: number
  genVersion: Map<number, number>
  flight: { cycle: SyncCycle; startS: number; doneAtS: number; bytes: number } | null
  attemptsS: number
  sleepBoundS: number
  disturbed: boolean
}

function fresh(): Model {
  return {
    nowS: 0, state: emptyReplicationState, vmHost: "h1", pendingTasks: 0, version: 0,
    hosts: Object.fromEntries(hostNames.map((h) => [h, { status: "up" as const,
      freeVcpus: h === "h3" ? 2 : 8, freeRamMb: 16384 }])),
    copies: { h1: { role: "master", running: true, gen: 0, version: 0, divergent: false } },
    genVersion: new Map([[0, 0]]), flight: null, attemptsS: 0, sleepBoundS: 0, disturbed: true,
  }
}

function worldOf(m: Model) {
  const hosts: HostFacts[] = hostNames.map((h) => ({ name: h, status: m.hosts[h]!.status,
    zpools: ["zones"], freeVcpus: m.hosts[h]!.freeVcpus, freeRamMb: m.hosts[h]!.freeRamMb,
    vcpuCapacity: 8, ramCapacityMb: 16384 }))
  return { hosts, vms: [{ uuid: "u1", hostname: "vm", host: m.vmHost,
    status: m.copies[m.vmHost]?.running === true ? "running" as const : "stopped" as const,
    vcpus: 4, ramMb: 8192, pendingTaskCount: m.pendingTasks, diskIds: ["0"] }] }
}

const replicaOf = (m: Model): Replica | undefined => m.state.replicas[replicaKey("u1", "r")]

function applyEffects(m: Model, effects: ReadonlyArray<ReplicaEffect>): void {
  for (const e of effects) {
    switch (e.kind) {
      case "reserve": case "release": {
        const sign = e.kind === "reserve" ? -1 : 1
        const h = m.hosts[e.host]!
        h.freeVcpus += sign * e.vcpus
        h.freeRamMb += sign * e.ramMb
        if (h.freeVcpus < 0 || h.freeRamMb < 0) throw new Error(`over-reserved ${e.host}`)
        break
      }
      case "createSlave":
        m.copies[e.host] = { role: "slave", running: false, gen: 0, version: 0, divergent: false }
        break
      case "destroySlave": delete m.copies[e.host]; break
      case "stopVm": m.copies[e.host]!.running = false; break
      case "fence": m.copies[e.host]!.role = "fenced"; m.copies[e.host]!.running = false; break
      case "promote": {
        const c = m.copies[e.host]!
        if (c.role !== "slave") throw new Error("promoted a non-slave")
        // Never lose an acknowledged generation: the promoted copy holds one at least as new.
        if (c.gen < replicaOf(m)!.ackedGeneration) throw new Error("promoted a stale slave")
        if (c.version !== m.genVersion.get(c.gen)) throw new Error("slave content mismatch")
        Object.assign(c, { role: "master", running: true })
        m.vmHost = e.host
        m.version = c.version
        break
      }
      case "degrade": {
        const c = m.copies[e.host]!
        Object.assign(c, { role: "slave", running: false, gen: e.fromGeneration, divergent: true })
        break
      }
      case "dropTasks": m.pendingTasks = 0; break
      case "startService": case "pauseService": case "removeService": break
    }
  }
}

function step<A extends { state: ReplicationState }>(
  m: Model, o: Outcome<A>, effects?: (a: A) => ReadonlyArray<ReplicaEffect>,
): A | null {
  if (Result.isFailure(o)) return null
  m.state = o.success.state
  if (effects !== undefined) applyEffects(m, effects(o.success))
  return o.success
}

function checkRpoAt(m: Model, r: Replica, atS: number): void {
  if (r.syncStatus !== "enabled" || m.disturbed || r.lastSyncS === null) return
  if (r.enabledSinceS === null || r.lastSyncS < r.enabledSinceS) return
  const rpo = atS - r.lastSyncS
  // sleep_time + the transfer in flight (+ the attempts a crash cut short, when any).
  const bound = m.sleepBoundS + m.attemptsS + (m.flight === null ? 0 : atS - m.flight.startS)
  if (rpo > bound + 1e-6) throw new Error(`RPO ${rpo} above ${bound} at ${atS}`)
}

function finishCycle(m: Model, atS: number): void {
  const f = m.flight!
  const r = replicaOf(m)!
  const slave = m.copies[f.cycle.slaveHost]!
  if (slave.divergent && !f.cycle.includeSlaveChanges) throw new Error("divergent slave ignored")
  Object.assign(slave, { gen: f.cycle.generation, version: m.genVersion.get(f.cycle.generation)!,
    divergent: false })
  checkRpoAt(m, r, atS)
  m.flight = null
  step(m, acknowledgeSync(m.state, worldOf(m), "vm", "r",
    { generation: f.cycle.generation, bytesSent: f.bytes, atS }))
  m.attemptsS = 0
  m.sleepBoundS = replicaOf(m)!.config.sleepTimeS
  m.disturbed = false
}

function advance(m: Model, dtS: number, bytes: number): void {
  const target = m.nowS + dtS
  for (let i = 0; i < cyclesPerAdvanceMax; i++) {
    const r = replicaOf(m)
    if (r === undefined) break
    if (i === cyclesPerAdvanceMax - 1) throw new Error("the model scheduler did not keep up")
    if (m.flight !== null) {
      if (m.flight.doneAtS > target) break
      finishCycle(m, m.flight.doneAtS)
      continue
    }
    const due = nextSyncDueS(r)
    if (due === null || Math.max(due, m.nowS) > target) break
    if (m.hosts[r.masterHost]!.status !== "up" || m.hosts[r.slaveHost]!.status !== "up") break
    const startS = Math.max(due, m.nowS)
    checkRpoAt(m, r, startS)
    const started = step(m, startSync(m.state, worldOf(m), "vm", "r", startS))
    if (started === null) throw new Error("the scheduler could not start a due cycle")
    m.genVersion.set(started.cycle.generation, m.version)
    const bw = started.cycle.bwlimitBytesPerS ?? linkBytesPerS
    m.flight = { cycle: started.cycle, startS, doneAtS: startS + Math.max(cycleSMin, bytes / bw),
      bytes }
    m.nowS = startS
  }
  m.nowS = Math.max(m.nowS, target)
  const r = replicaOf(m)
  if (r !== undefined) checkRpoAt(m, r, m.nowS)
}

function loseFlight(m: Model, applied: boolean): void {
  const f = m.flight
  if (f === null) return
  if (applied) {
    const slave = m.copies[f.cycle.slaveHost]!
    Object.assign(slave, { gen: f.cycle.generation,
      version: m.genVersion.get(f.cycle.generation)!, divergent: false })
  }
  m.attemptsS += m.nowS - f.startS
  m.flight = null
  step(m, abortSync(m.state, worldOf(m), "vm", "r"))
}

type Op =
  | { op: "advance"; dtS: number; bytes: number } | { op: "write" } | { op: "crash" }
  | { op: "ackLost" } | { op: "hostDown"; host: string } | { op: "hostUp"; host: string }
  | { op: "failover"; force: boolean } | { op: "reinit" } | { op: "tasks"; count: number }
  | { op: "update"; body: Record<string, unknown> } | { op: "create"; node: string;
    reserve: boolean; sleep: number; bw: number | null } | { op: "delete" }

const host = fc.constantFrom(...hostNames)
const createArb = fc.record({ op: fc.constant("create" as const),
  node: fc.constantFrom("h2", "h2", "h3", "h1"), reserve: fc.boolean(),
  sleep: fc.integer({ min: 0, max: 300 }),
  bw: fc.option(fc.integer({ min: 100_000, max: 10_000_000 })) })
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant("advance" as const),
    dtS: fc.integer({ min: 1, max: 200 }), bytes: fc.integer({ min: 0, max: 50_000_000 }) }) },
  { weight: 3, arbitrary: fc.constant({ op: "write" as const }) },
  fc.constant({ op: "crash" as const }), fc.constant({ op: "ackLost" as const }),
  fc.record({ op: fc.constant("hostDown" as const), host }),
  { weight: 2, arbitrary: fc.record({ op: fc.constant("hostUp" as const), host }) },
  { weight: 2,
    arbitrary: fc.record({ op: fc.constant("failover" as const), force: fc.boolean() }) },
  { weight: 2, arbitrary: fc.constant({ op: "reinit" as const }) },
  fc.record({ op: fc.constant("tasks" as const), count: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ op: fc.constant("update" as const), body: fc.record({
    enabled: fc.boolean(), sleep_time: fc.integer({ min: 0, max: 300 }),
    bwlimit: fc.option(fc.integer({ min: 100_000, max: 10_000_000 })),
    reserve_resources: fc.boolean() }, { requiredKeys: [] }) }),
  createArb,
  fc.constant({ op: "delete" as const }),
)

function run(m: Model, o: Op): void {
  const w = worldOf(m)
  switch (o.op) {
    case "advance": return advance(m, o.dtS, o.bytes)
    case "write":
      if (m.copies[m.vmHost]?.running === true && m.hosts[m.vmHost]!.status === "up") m.version++
      return
    case "crash": return loseFlight(m, false)
    case "ackLost": return loseFlight(m, true)
    case "hostDown":
      m.hosts[o.host]!.status = "down"
      m.disturbed = true
      if (m.flight !== null && [m.flight.cycle.masterHost, m.flight.cycle.slaveHost]
        .includes(o.host)) loseFlight(m, false)
      return
    case "hostUp": m.hosts[o.host]!.status = "up"; return
    case "tasks": m.pendingTasks = o.count; return
    case "failover": {
      const t = step(m, failoverReplica(m.state, w, "vm", "r", { force: o.force }),
        (x) => x.effects)
      if (t !== null) { m.flight = null; m.attemptsS = 0; m.disturbed = true }
      return
    }
    case "reinit": step(m, reinitReplica(m.state, w, "vm", "r", m.nowS), (x) => x.effects); return
    case "update": {
      const t = step(m, updateReplica(m.state, w, "vm", "r", o.body, m.nowS), (x) => x.effects)
      if (t !== null) m.sleepBoundS = Math.max(m.sleepBoundS, t.replica!.config.sleepTimeS)
      return
    }
    case "create": {
      const body = { node: o.node, reserve_resources: o.reserve, sleep_time: o.sleep,
        bwlimit: o.bw }
      const t = step(m, createReplica(m.state, w, "vm", "r", body, m.nowS), (x) => x.effects)
      if (t !== null) { m.sleepBoundS = o.sleep; m.disturbed = true; m.attemptsS = 0 }
      return
    }
    case "delete": {
      const t = step(m, deleteReplica(m.state, w, "vm", "r"), (x) => x.effects)
      if (t !== null) { m.flight = null; m.attemptsS = 0 }
      return
    }
  }
}

function checkInvariants(m: Model): void {
  const masters = Object.entries(m.copies).filter(([, c]) => c.role === "master")
  expect(masters.length).toBe(1)
  expect(masters[0]![0]).toBe(m.vmHost)
  const running = Object.values(m.copies).filter((c) => c.running)
  expect(running.length).toBeLessThanOrEqual(1)
  const r = replicaOf(m)
  if (r === undefined) return
  phaseOf(r)
  expect(r.masterHost).toBe(m.vmHost)
  const slave = m.copies[r.slaveHost]!
  if (!r.reinitRequired) {
    expect(slave.role).toBe("slave")
    expect(slave.gen).toBeGreaterThanOrEqual(r.ackedGeneration)
  }
  expect(r.reservedOn === null).toBe(!r.config.reserveResources)
  if (r.reservedOn !== null) expect(r.reservedOn).toBe(r.slaveHost)
}

describe("replica state machine under random operations, failures and crashes", () => {
  it("never two masters, never loses an acknowledged generation, RPO bound holds", () => {
    const opsArb = fc.array(opArb, { minLength: 15, maxLength: 30 })
    fc.assert(fc.property(createArb, opsArb, (first, ops) => {
      const m = fresh()
      for (const o of [first, { op: "advance" as const, dtS: 1, bytes: 1 }, ...ops]) {
        run(m, o)
        checkInvariants(m)
      }
    }))
  })
})
