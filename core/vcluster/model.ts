/**
 * The vcluster request body (seed `vcluster-api.txt`), in its canonical JSON form: `instances` and
 * `groupings` are arrays (the seed's examples repeat keys inside objects and are not valid JSON).
 *
 * ```json
 * {"vcluster": {"name": "db", "instances": [
 *    {"name": "db-server-1", "type": "server", "spec": {"imageRef": "img", "flavorRef": "m1"}},
 *    {"name": "db-vol-1", "type": "volume", "spec": {"size": 10, "volume_type": "ECKD"}}],
 *  "groupings": [{"name": "group-1", "membersRef": ["db-server-1", "db-vol-1"],
 *                 "spec": {"rule": "affinity"}}]}}
 * ```
 */
import { Schema } from "effect"

/** Bounds on a vcluster body. */
export const vclusterLimits = {
  instancesMax: 256,
  groupingsMax: 64,
  nameLengthMax: 255,
} as const

const Name = Schema.String.check(
  Schema.isMinLength(1),
  Schema.isMaxLength(vclusterLimits.nameLengthMax),
)

/** A server instance's spec: an image and a flavor from the caller's flavor table. */
export const ServerSpec = Schema.Struct({
  imageRef: Name,
  flavorRef: Name,
})

/**
 * A volume instance's spec: `size` in GB, `volume_type` selecting the disk pool: `""` any pool,
 * `ECKD`/`FBA`/`zpool` a pool of that kind, anything else a pool of that exact name.
 */
export const VolumeSpec = Schema.Struct({
  size: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 1_048_576 })),
  volume_type: Schema.String,
})

/** One instance: a `server` or a `volume`; `spec` is decoded by type (ServerSpec, VolumeSpec). */
export const InstanceBody = Schema.Struct({
  name: Name,
  type: Schema.Literals(["server", "volume"]),
  spec: Schema.Unknown,
})
export type InstanceBody = typeof InstanceBody.Type

/** A grouping rule; `scope` (Corral's extension) defaults to `host`. */
export const GroupingSpec = Schema.Struct({
  rule: Schema.Literals(["affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity"]),
  scope: Schema.optionalKey(Schema.Literals(["host", "rack", "zone"])),
  max_per_domain: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 1,
    maximum: vclusterLimits.instancesMax }))),
})

/** A grouping: a named set of instance names and the rule between them. */
export const GroupingBody = Schema.Struct({
  name: Name,
  membersRef: Schema.Array(Name).check(Schema.isMaxLength(vclusterLimits.instancesMax)),
  spec: GroupingSpec,
})
export type GroupingBody = typeof GroupingBody.Type

/** The create body. `policy` (Corral's extension) is `pack` unless set. */
export const VclusterBody = Schema.Struct({
  vcluster: Schema.Struct({
    name: Name,
    instances: Schema.Array(InstanceBody).check(Schema.isMinLength(1),
      Schema.isMaxLength(vclusterLimits.instancesMax)),
    groupings: Schema.optionalKey(Schema.Array(GroupingBody)
      .check(Schema.isMaxLength(vclusterLimits.groupingsMax))),
    policy: Schema.optionalKey(Schema.Literals(["pack", "spread"])),
  }),
})
export type VclusterBody = typeof VclusterBody.Type

/**
 * A flavor the caller supplies (`flavorRef` names one): vCPUs, RAM, an optional root disk in GB
 * (from any pool, or pools of `diskKind`), and optional NUMA binding.
 */
export interface Flavor {
  readonly vcpus: number
  readonly ramMb: number
  readonly diskGb?: number
  readonly diskKind?: "ECKD" | "FBA" | "zpool"
  readonly numaCells?: number
}
