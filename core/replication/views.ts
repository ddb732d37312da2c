/**
 * The replica API's views: `GET …/replica` (names, or full objects with `full`) and
 * `GET …/replica/(repname)`. Field names follow the seed; times are ISO 8601 strings derived
 * from the caller's seconds (no clock is read here).
 */
import { Result } from "effect"
import { decode } from "../decode.ts"
import { err, ok, type Outcome } from "../errors.ts"
import { ListBody, type Replica, type ReplicationState } from "./model.ts"
import { type ReplicaWorld, resolveReplica, resolveVm } from "./machine.ts"

/** One replica as `GET …/replica/(repname)` shows it. */
export interface ReplicaView {
  readonly hostname: string
  readonly uuid: string
  readonly repname: string
  readonly node: string
  readonly master_node: string
  readonly root_zpool: string | null
  readonly disk_zpools: Readonly<Record<string, string>>
  readonly reserve_resources: boolean
  readonly sleep_time: number
  readonly enabled: boolean
  readonly bwlimit: number | null
  readonly status: Replica["syncStatus"]
  readonly reinit_required: boolean
  readonly last_sync: string | null
  readonly last_generation: number
  readonly bytes_sent: number
}

/** Renders one replica. */
export function replicaView(r: Replica): ReplicaView {
  return {
    hostname: r.vmHostname, uuid: r.vmUuid, repname: r.name, node: r.slaveHost,
    master_node: r.masterHost, root_zpool: r.config.rootZpool, disk_zpools: r.config.diskZpools,
    reserve_resources: r.config.reserveResources, sleep_time: r.config.sleepTimeS,
    enabled: r.config.enabled, bwlimit: r.config.bwlimitBytesPerS, status: r.syncStatus,
    reinit_required: r.reinitRequired,
    last_sync: r.lastSyncS === null ? null : new Date(r.lastSyncS * 1000).toISOString(),
    last_generation: r.ackedGeneration, bytes_sent: r.bytesSent,
  }
}

/** `GET /vm/(hostname_or_uuid)/replica`: names sorted, or full views when `full` is true. */
export function listReplicas(
  state: ReplicationState, world: ReplicaWorld, hostnameOrUuid: string, body: unknown = {},
): Outcome<ReadonlyArray<string> | ReadonlyArray<ReplicaView>> {
  const decoded = decode(ListBody, body)
  if (Result.isFailure(decoded)) return err(decoded.failure)
  const vm = resolveVm(world, hostnameOrUuid)
  if (Result.isFailure(vm)) return err(vm.failure)
  const mine = Object.values(state.replicas).filter((r) => r.vmUuid === vm.success.uuid)
    .sort((a, b) => a.name.localeCompare(b.name))
  return ok(decoded.success.full ? mine.map(replicaView) : mine.map((r) => r.name))
}

/** `GET /vm/(hostname_or_uuid)/replica/(repname)`. */
export function showReplica(
  state: ReplicationState, world: ReplicaWorld, hostnameOrUuid: string, repname: string,
): Outcome<ReplicaView> {
  const found = resolveReplica(state, world, hostnameOrUuid, repname)
  if (Result.isFailure(found)) return err(found.failure)
  return ok(replicaView(found.success.replica))
}
