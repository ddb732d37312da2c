/** Shared fixtures for the replication tests: a small world and helpers that reach each phase. */
import { Result } from "effect"
import {
  acknowledgeSync, createReplica, failoverReplica, type HostFacts, type Replica, replicaKey,
  type ReplicaWorld, type ReplicationState, emptyReplicationState, startSync, updateReplica,
  type VmFacts, type ReplicaPhase,
} from "../core/replication/index.ts"
import type { Outcome } from "../core/errors.ts"

/** A compute node with sensible defaults. */
export function node(name: string, over: Partial<HostFacts> = {}): HostFacts {
  return { name, status: "up", zpools: ["zones", "data"], freeVcpus: 16, freeRamMb: 32768,
    vcpuCapacity: 32, ramCapacityMb: 65536, ...over }
}

/** A VM on h1 with two disks. */
export function vm(over: Partial<VmFacts> = {}): VmFacts {
  return { uuid: "u-1", hostname: "web1", host: "h1", status: "running", vcpus: 4,
    ramMb: 8192, pendingTaskCount: 0, diskIds: ["0", "1"], ...over }
}

/** h1 (master), h2 (target), h3 (down), h4 (small). */
export function world(over: { vm?: Partial<VmFacts>; hosts?: HostFacts[] } = {}): ReplicaWorld {
  return {
    vms: [vm(over.vm)],
    hosts: over.hosts ?? [node("h1"), node("h2"), node("h3", { status: "down" }),
      node("h4", { freeVcpus: 2, freeRamMb: 1024 })],
  }
}

/** Unwraps a success or throws the error (for test setup). */
export function must<A>(o: Outcome<A>): A {
  if (Result.isFailure(o)) throw new Error(`unexpected ${o.failure._tag}: ${o.failure.message}`)
  return o.success
}

/** The only replica of the fixture VM. */
export function only(state: ReplicationState): Replica {
  const r = state.replicas[replicaKey("u-1", "r1")]
  if (r === undefined) throw new Error("no replica r1")
  return r
}

/** A state with replica r1 of web1 on h2, synced once at t=10. */
export function synced(w: ReplicaWorld = world(), body: object = { node: "h2" }): ReplicationState {
  let s = must(createReplica(emptyReplicationState, w, "web1", "r1", body, 0)).state
  const started = must(startSync(s, w, "web1", "r1", 1))
  s = must(acknowledgeSync(started.state, w, "web1", "r1",
    { generation: started.cycle.generation, bytesSent: 4096, atS: 10 })).state
  return s
}

/** A state with replica r1 in the given phase. */
export function inPhase(phase: ReplicaPhase, w: ReplicaWorld = world()): ReplicationState {
  const s = synced(w)
  switch (phase) {
    case "enabled": return s
    case "syncing": return must(startSync(s, w, "web1", "r1", 20)).state
    case "paused": return must(updateReplica(s, w, "web1", "r1", { enabled: false }, 20)).state
    case "pausedSyncing": {
      const p = must(updateReplica(s, w, "web1", "r1", { enabled: false }, 20)).state
      return must(startSync(p, w, "web1", "r1", 21)).state
    }
    case "failedOver": return must(failoverReplica(s, w, "web1", "r1", {})).state
  }
}
