/**
 * The replica API's data: request bodies (seed `vm-replica-api.txt`, parameter names and defaults
 * kept), the replica's explicit state, the facts the caller supplies about VMs and hosts, and the
 * effects a transition asks the caller to apply.
 *
 * Replication is decoupled from cluster accounting: the machine never reads a capacity table, it
 * is given the target's free vCPUs/RAM as values and returns reservations and releases as data.
 */
import { Effect, Schema } from "effect"

const withDefault = <S extends Schema.Top & { readonly DecodingServices: never }>(
  schema: S,
  value: S["Type"] & S["Encoded"],
) => schema.pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))

/** Largest `sleep_time` the API accepts: one day, in seconds. */
export const sleepTimeSMax = 86_400
/** Largest `bwlimit` the API accepts (bytes/s): 2^31 - 1. */
export const bwlimitBytesPerSMax = 2_147_483_647
/** The seed's default `sleep_time` in seconds. */
export const sleepTimeSDefault = 60
/** Most disks one VM may name in `disk_zpools`. */
export const diskZpoolsCountMax = 64

const Name = Schema.String.check(
  Schema.isPattern(/^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,62}$/, {
    message: "a name of 1-63 letters, digits, '_', '.', ':', '@' or '-'",
  }),
)
const SleepTime = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: sleepTimeSMax }))
const Bwlimit = Schema.NullOr(
  Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: bwlimitBytesPerSMax })),
)

/** POST body: create a slave VM and its replication service on `node`. */
export const CreateBody = Schema.Struct({
  node: Name,
  root_zpool: Schema.optionalKey(Name),
  disk_zpools: withDefault(
    Schema.Record(Schema.String, Name).check(
      Schema.makeFilter((r) => Object.keys(r).length <= diskZpoolsCountMax
        || `at most ${diskZpoolsCountMax} disks`),
    ),
    {},
  ),
  reserve_resources: withDefault(Schema.Boolean, true),
  sleep_time: withDefault(SleepTime, sleepTimeSDefault),
  enabled: withDefault(Schema.Boolean, true),
  bwlimit: withDefault(Bwlimit, null),
})
export type CreateBody = typeof CreateBody.Type

/** PUT body: change the replication service's parameters (every field optional). */
export const UpdateBody = Schema.Struct({
  reserve_resources: Schema.optionalKey(Schema.Boolean),
  sleep_time: Schema.optionalKey(SleepTime),
  enabled: Schema.optionalKey(Schema.Boolean),
  bwlimit: Schema.optionalKey(Bwlimit),
})
export type UpdateBody = typeof UpdateBody.Type

/** PUT …/failover body. */
export const FailoverBody = Schema.Struct({ force: withDefault(Schema.Boolean, false) })
export type FailoverBody = typeof FailoverBody.Type

/** GET list body. */
export const ListBody = Schema.Struct({ full: withDefault(Schema.Boolean, false) })
export type ListBody = typeof ListBody.Type

/** Power state of a VM as the caller knows it. */
export type VmStatus = "running" | "stopped" | "stopping" | "pending" | "frozen" | "notcreated"

/** What the caller knows about the (master) VM. `host` is where its master runs. */
export interface VmFacts {
  readonly uuid: string
  readonly hostname: string
  readonly host: string
  readonly status: VmStatus
  readonly vcpus: number
  readonly ramMb: number
  readonly pendingTaskCount: number
  /** Disk ids (as the API names them in `disk_zpools`). */
  readonly diskIds: ReadonlyArray<string>
}

/** What the caller knows about a compute node. */
export interface HostFacts {
  readonly name: string
  readonly status: "up" | "down" | "maintenance"
  readonly zpools: ReadonlyArray<string>
  readonly freeVcpus: number
  readonly freeRamMb: number
  readonly vcpuCapacity: number
  readonly ramCapacityMb: number
}

/** Sync status as the seed's views name it: `disabled` means the service is absent. */
export type SyncStatus = "disabled" | "paused" | "enabled"

/** The parameters a replica was created or last updated with (seed names, Corral units). */
export interface ReplicaConfig {
  readonly node: string
  readonly rootZpool: string | null
  readonly diskZpools: Readonly<Record<string, string>>
  readonly reserveResources: boolean
  readonly sleepTimeS: number
  readonly enabled: boolean
  readonly bwlimitBytesPerS: number | null
}

/** A sync cycle in flight: shipping snapshot `generation` taken at `startedAtS`. */
export interface InFlight {
  readonly generation: number
  readonly fromGeneration: number
  readonly startedAtS: number
}

/**
 * One replica. `masterHost` runs the master, `slaveHost` holds the slave. After a failover the two
 * are swapped, the old master (now `slaveHost`) is stopped and fenced, `reinitRequired` is set and
 * the service is absent (`disabled`) until reinit.
 */
export interface Replica {
  readonly vmUuid: string
  readonly vmHostname: string
  readonly name: string
  readonly config: ReplicaConfig
  readonly masterHost: string
  readonly slaveHost: string
  readonly syncStatus: SyncStatus
  readonly reinitRequired: boolean
  /** When the last acknowledgement arrived (seconds, caller's clock); null before the first. */
  readonly lastSyncS: number | null
  /** Highest generation the slave acknowledged (0: none yet). */
  readonly ackedGeneration: number
  /** Generation both sides held at the last failover: reinit diffs against it. */
  readonly commonGeneration: number
  /** Next snapshot number: generations only grow, across failovers too. */
  readonly nextGeneration: number
  readonly inFlight: InFlight | null
  readonly bytesSent: number
  /** Host where the slave's vCPU/RAM are reserved, or null. */
  readonly reservedOn: string | null
  readonly vcpus: number
  readonly ramMb: number
  readonly createdAtS: number
  /** When the service was last (re)enabled: the RPO bound counts from here or the last sync. */
  readonly enabledSinceS: number | null
  /**
   * Set by reinit: the slave (the old master) may hold writes made after `commonGeneration`, so
   * the next cycle must also ship the blocks it changed. Cleared by the next acknowledgement.
   */
  readonly slaveDivergent: boolean
}

/** A request for the caller's driver or accounting; transitions return these, never do them. */
export type ReplicaEffect =
  | { readonly kind: "reserve"; readonly host: string; readonly vcpus: number;
    readonly ramMb: number }
  | { readonly kind: "release"; readonly host: string; readonly vcpus: number;
    readonly ramMb: number }
  | { readonly kind: "createSlave"; readonly host: string; readonly rootZpool: string | null;
    readonly diskZpools: Readonly<Record<string, string>> }
  | { readonly kind: "destroySlave"; readonly host: string }
  | { readonly kind: "startService"; readonly host: string }
  | { readonly kind: "pauseService"; readonly host: string }
  | { readonly kind: "removeService"; readonly host: string }
  | { readonly kind: "dropTasks"; readonly count: number }
  | { readonly kind: "stopVm"; readonly host: string }
  | { readonly kind: "fence"; readonly host: string }
  | { readonly kind: "promote"; readonly host: string }
  | { readonly kind: "degrade"; readonly host: string; readonly fromGeneration: number }

/** All replicas, keyed by `replicaKey(vmUuid, name)`. Immutable: transitions return a new one. */
export interface ReplicationState {
  readonly replicas: Readonly<Record<string, Replica>>
}

/** The empty state. */
export const emptyReplicationState: ReplicationState = { replicas: {} }

/** The key of a replica in `ReplicationState.replicas`. */
export function replicaKey(vmUuid: string, name: string): string {
  return `${vmUuid}/${name}`
}
