/**
 * A sync cycle as data: snapshot → changed blocks since the last acknowledged generation →
 * transfer (bytes / bwlimit) → apply → acknowledge → `last_sync`. The caller's driver does
 * the work; these transitions record it. Time is always a value passed in, in seconds.
 */
import { Result } from "effect"
import { Conflict, err, invalid, ok, type Outcome } from "../errors.ts"
import { type Replica, replicaKey, type ReplicationState } from "./model.ts"
import { type ReplicaWorld, resolveReplica } from "./machine.ts"
import { checkTransition } from "./table.ts"

/** What the driver must ship for one cycle. */
export interface SyncCycle {
  readonly generation: number
  /** The generation the slave holds; changed blocks are counted from it. */
  readonly fromGeneration: number
  /** Also ship the blocks the slave changed since `fromGeneration` (first cycle after reinit). */
  readonly includeSlaveChanges: boolean
  readonly bwlimitBytesPerS: number | null
  readonly masterHost: string
  readonly slaveHost: string
}

/** The slave's acknowledgement of a generation it fully holds (written and fsynced). */
export interface SyncAck {
  readonly generation: number
  readonly bytesSent: number
  readonly atS: number
}

function put(state: ReplicationState, replica: Replica): ReplicationState {
  return { replicas: { ...state.replicas, [replicaKey(replica.vmUuid, replica.name)]: replica } }
}

/** Starts a cycle: takes snapshot number `nextGeneration` and marks it in flight. */
export function startSync(
  state: ReplicationState, world: ReplicaWorld, hostnameOrUuid: string, repname: string,
  nowS: number,
): Outcome<{ state: ReplicationState; replica: Replica; cycle: SyncCycle }> {
  const found = resolveReplica(state, world, hostnameOrUuid, repname)
  if (Result.isFailure(found)) return err(found.failure)
  const r = found.success.replica
  const refused = checkTransition(r, "syncStart")
  if (refused !== null) return err(refused)
  const cycle: SyncCycle = {
    generation: r.nextGeneration, fromGeneration: r.ackedGeneration,
    includeSlaveChanges: r.slaveDivergent, bwlimitBytesPerS: r.config.bwlimitBytesPerS,
    masterHost: r.masterHost, slaveHost: r.slaveHost,
  }
  const replica: Replica = {
    ...r, nextGeneration: r.nextGeneration + 1,
    inFlight: { generation: cycle.generation, fromGeneration: cycle.fromGeneration,
      startedAtS: nowS },
  }
  return ok({ state: put(state, replica), replica, cycle })
}

/**
 * Records the slave's acknowledgement: the acknowledged generation, `last_sync` and bytes sent.
 * Only the in-flight generation can be acknowledged; an acknowledgement never goes back in time.
 */
export function acknowledgeSync(
  state: ReplicationState, world: ReplicaWorld, hostnameOrUuid: string, repname: string,
  ack: SyncAck,
): Outcome<{ state: ReplicationState; replica: Replica }> {
  const found = resolveReplica(state, world, hostnameOrUuid, repname)
  if (Result.isFailure(found)) return err(found.failure)
  const r = found.success.replica
  const refused = checkTransition(r, "syncAck")
  if (refused !== null) return err(refused)
  const flight = r.inFlight
  if (flight === null) throw new Error("syncAck allowed without a cycle in flight")
  if (ack.generation !== flight.generation) {
    return err(new Conflict({ message: `replica ${r.name}: acknowledgement of generation ` +
      `${ack.generation}, but ${flight.generation} is in flight` }))
  }
  if (ack.atS < flight.startedAtS) return err(invalid("atS", "a time after the cycle started"))
  if (!Number.isSafeInteger(ack.bytesSent) || ack.bytesSent < 0) {
    return err(invalid("bytesSent", "a non-negative integer"))
  }
  if (ack.generation <= r.ackedGeneration) throw new Error("acknowledged generation went back")
  const replica: Replica = {
    ...r, ackedGeneration: ack.generation, lastSyncS: ack.atS, inFlight: null,
    bytesSent: r.bytesSent + ack.bytesSent, slaveDivergent: false,
  }
  return ok({ state: put(state, replica), replica })
}

/** Abandons the in-flight cycle (connection cut, agent crashed): nothing new is acknowledged. */
export function abortSync(
  state: ReplicationState, world: ReplicaWorld, hostnameOrUuid: string, repname: string,
): Outcome<{ state: ReplicationState; replica: Replica }> {
  const found = resolveReplica(state, world, hostnameOrUuid, repname)
  if (Result.isFailure(found)) return err(found.failure)
  const r = found.success.replica
  const refused = checkTransition(r, "syncAbort")
  if (refused !== null) return err(refused)
  const replica: Replica = { ...r, inFlight: null }
  return ok({ state: put(state, replica), replica })
}

/** Seconds to move `bytes` at `bwlimitBytesPerS` (0 when unlimited: the link decides). */
export function transferTimeS(bytes: number, bwlimitBytesPerS: number | null): number {
  if (bytes < 0) throw new Error("negative byte count")
  return bwlimitBytesPerS === null ? 0 : bytes / bwlimitBytesPerS
}

/** Payload bytes of `changedBlockCount` blocks of an image (its last block may be partial). */
export function changedBytes(
  changed: ReadonlyArray<number>, blockSizeBytes: number, imageSizeBytes: number,
): number {
  let total = 0
  for (const index of changed) {
    const start = index * blockSizeBytes
    if (start >= imageSizeBytes) throw new Error(`block ${index} is past the image's end`)
    total += Math.min(blockSizeBytes, imageSizeBytes - start)
  }
  return total
}

/**
 * When the scheduler should start the next cycle, or null when it should not (service paused or
 * absent, or a cycle in flight). Right after (re)enabling, the next cycle is due at once.
 */
export function nextSyncDueS(replica: Replica): number | null {
  if (replica.syncStatus !== "enabled" || replica.inFlight !== null) return null
  const since = replica.enabledSinceS
  if (since === null) throw new Error("an enabled replica without enabledSinceS")
  if (replica.lastSyncS === null || replica.lastSyncS < since) return since
  return replica.lastSyncS + replica.config.sleepTimeS
}

/** The recovery point objective now: now − `last_sync`, or null before the first sync. */
export function rpoS(replica: Replica, nowS: number): number | null {
  return replica.lastSyncS === null ? null : nowS - replica.lastSyncS
}
