/**
 * The scenario document a capacity planner writes: fleet, workload, policies, latencies, faults,
 * replication, duration, seed and outputs. Decoded with Effect Schema: a bad scenario names every
 * wrong field with its path (`workload.mix[2].flavor.vcpus`). Every bound is named.
 *
 * Units are in the names (`durationS`, `ratePerS`, `sizeMb`). Distributions are
 * `{"kind": "fixed", "value"}`, `{"kind": "exponential", "mean"}`,
 * `{"kind": "lognormal", "median", "sigma"}` or `{"kind": "uniform", "min", "max"}`.
 */
import { Effect, Schema } from "effect"

const withDefault = <S extends Schema.Top & { readonly DecodingServices: never }>(
  schema: S,
  value: S["Encoded"],
) => schema.pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))

/** Bounds on a scenario, so a hostile or mistyped file cannot run forever or exhaust memory. */
export const scenarioLimits = {
  durationSMax: 10 * 365 * 86_400,
  requestsMax: 20_000_000,
  mixEntriesMax: 64,
  vclusterSizeMax: 64,
  pciRequestsMax: 8,
  pmemVolumesMax: 8,
  diurnalPointsMax: 1_440,
  maintenanceWindowsMax: 10_000,
  timeseriesPointsMax: 2_000,
  growthIterationsMax: 40,
} as const

const PositiveInt = Schema.Int.check(Schema.isGreaterThan(0))
const NonNegativeInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))
const Positive = Schema.Finite.check(Schema.isGreaterThan(0))
const NonNegative = Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0))
const Share = Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 }))
const HexId = Schema.String.check(
  Schema.isPattern(/^[0-9a-fA-F]{4}$/, { message: "4 hexadecimal digits, e.g. 8086" }),
)

/** A distribution of a non-negative quantity (seconds unless the field says otherwise). */
export const Distribution = Schema.Union([
  Schema.Struct({ kind: Schema.Literal("fixed"), value: NonNegative }),
  Schema.Struct({ kind: Schema.Literal("exponential"), mean: Positive }),
  Schema.Struct({
    kind: Schema.Literal("lognormal"),
    median: Positive,
    sigma: Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 5 })),
  }),
  Schema.Struct({ kind: Schema.Literal("uniform"), min: NonNegative, max: NonNegative })
    .check(Schema.makeFilter((u) => u.max >= u.min || "max ≥ min")),
])
export type Distribution = typeof Distribution.Type

/**
 * How requests arrive: a Poisson process, a diurnal curve (one rate per equal slice of a day,
 * linear in between, repeated daily), or a CSV trace (`timeS,mix` lines; `mix` names an entry).
 */
export const Arrivals = Schema.Union([
  Schema.Struct({ kind: Schema.Literal("poisson"), ratePerS: Positive }),
  Schema.Struct({
    kind: Schema.Literal("diurnal"),
    ratesPerS: Schema.Array(NonNegative).check(
      Schema.isMinLength(2),
      Schema.isMaxLength(scenarioLimits.diurnalPointsMax),
    ),
  }),
  Schema.Struct({
    kind: Schema.Literal("trace"),
    csvPath: Schema.String.check(Schema.isMinLength(1)),
  }),
])
export type Arrivals = typeof Arrivals.Type

/**
 * A PCI alias (Nova's `[pci] alias`): which devices a request by this name matches. Any other
 * key (e.g. `physical_network`) is a tag the device's `extra_info` must carry.
 */
export const PciAlias = Schema.StructWithRest(
  Schema.Struct({
    vendor_id: HexId,
    product_id: HexId,
    dev_type: Schema.optionalKey(Schema.Literals(["type-PCI", "type-PF", "type-VF"])),
  }),
  [Schema.Record(Schema.String, Schema.String)],
)
export type PciAlias = typeof PciAlias.Type

/** A PCI request of a mix entry: `count` devices of the alias named `alias`. */
export const PciRequest = Schema.Struct({
  alias: Schema.String,
  count: withDefault(PositiveInt, 1),
})
export type PciRequest = typeof PciRequest.Type

/**
 * A pmem volume (seed `pmem-volume-api`): `sizeMb` on the device named `device` (e.g. `DRAM`,
 * `NVDIMM0`). `workingSetMb` is what a boot must reload from disk when the volume was not
 * retained (defaults to `sizeMb`).
 */
export const PmemVolumeRequest = Schema.Struct({
  sizeMb: PositiveInt,
  device: Schema.String,
  workingSetMb: Schema.optionalKey(NonNegativeInt),
})
export type PmemVolumeRequest = typeof PmemVolumeRequest.Type

/** A flavor: what one VM asks for (`diskGb` is its root disk, as Nova's `root_gb`). */
export const Flavor = Schema.Struct({
  vcpus: PositiveInt,
  ramMb: PositiveInt,
  diskGb: withDefault(NonNegativeInt, 0),
  diskPool: Schema.optionalKey(Schema.String),
})
export type Flavor = typeof Flavor.Type

/** A placement rule among a vcluster's members (seed `vcluster-api`, Nova server groups). */
export const Rule = Schema.Struct({
  kind: Schema.Literals(["affinity", "anti-affinity"]),
  scope: withDefault(Schema.Literals(["host", "rack", "zone"]), "host"),
  hard: withDefault(Schema.Boolean, true),
  maxPerHost: Schema.optionalKey(PositiveInt),
})
export type Rule = typeof Rule.Type

/** One entry of the request mix: a flavor, its devices, and whether it is a vcluster. */
export const MixEntry = Schema.Struct({
  name: Schema.String.check(Schema.isPattern(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, {
    message: "a name of letters, digits, '_', '.', '-'",
  })),
  weight: Positive,
  /** A flavor name from `flavors`, or a flavor written inline. */
  flavor: Schema.Union([Schema.String, Flavor]),
  pci: withDefault(
    Schema.Array(PciRequest).check(Schema.isMaxLength(scenarioLimits.pciRequestsMax)), [],
  ),
  pmem: withDefault(
    Schema.Array(PmemVolumeRequest).check(Schema.isMaxLength(scenarioLimits.pmemVolumesMax)), [],
  ),
  /** A vcluster of `size` identical members placed together under `rules`. */
  vcluster: Schema.optionalKey(Schema.Struct({
    size: Schema.Int.check(
      Schema.isBetween({ minimum: 2, maximum: scenarioLimits.vclusterSizeMax }),
    ),
    rules: Schema.Array(Rule).check(Schema.isMinLength(1), Schema.isMaxLength(8)),
  })),
  /** Share of these VMs that get a replica (seed `vm-replica-api`). */
  replicatedShare: withDefault(Share, 0),
  /** The VM restarts itself (guest reboot) at these intervals; pmem volumes are retained. */
  restartEveryS: Schema.optionalKey(Distribution),
})
export type MixEntry = typeof MixEntry.Type

/** The workload: arrivals, lifetimes, the mix. */
export const Workload = Schema.Struct({
  arrivals: Arrivals,
  lifetimeS: Distribution,
  mix: Schema.Array(MixEntry).check(
    Schema.isMinLength(1),
    Schema.isMaxLength(scenarioLimits.mixEntriesMax),
  ),
  /** Stop generating after this many requests (a vcluster counts once). */
  requestsMax: withDefault(
    Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: scenarioLimits.requestsMax })),
    1_000_000,
  ),
})
export type Workload = typeof Workload.Type

/** Placement and recovery policies. Ratios, when given, override every host's own. */
export const Policies = Schema.Struct({
  weigher: withDefault(Schema.Literals(["pack", "spread"]), "pack"),
  cpuAllocationRatio: Schema.optionalKey(Positive),
  ramAllocationRatio: Schema.optionalKey(Positive),
  /** What happens to a non-replicated VM whose host crashes. */
  onHostCrash: withDefault(Schema.Literals(["reschedule", "lose"]), "reschedule"),
})
export type Policies = typeof Policies.Type

/** Operation latencies of the simulated hosts (the driver port's create, deploy, boot…). */
export const Latencies = Schema.Struct({
  createS: withDefault(Distribution, { kind: "fixed", value: 5 }),
  deployS: withDefault(Distribution, { kind: "fixed", value: 20 }),
  bootS: withDefault(Distribution, { kind: "fixed", value: 30 }),
  stopS: withDefault(Distribution, { kind: "fixed", value: 10 }),
  rebootS: withDefault(Distribution, { kind: "fixed", value: 15 }),
  /** Reloading a working set from disk when pmem was not retained, in MB per second. */
  reloadMbPerS: withDefault(Positive, 500),
})
export type Latencies = typeof Latencies.Type

/** A maintenance window: `hostsCount` hosts (taken in inventory order from `firstHost`). */
export const MaintenanceWindow = Schema.Struct({
  startS: NonNegative,
  durationS: Positive,
  firstHost: withDefault(NonNegativeInt, 0),
  hostsCount: withDefault(PositiveInt, 1),
})
export type MaintenanceWindow = typeof MaintenanceWindow.Type

/** Fault injection. Each kind is absent (off) or configured. */
export const Faults = Schema.Struct({
  hostCrash: Schema.optionalKey(Schema.Struct({ mtbfS: Distribution, mttrS: Distribution })),
  maintenance: withDefault(
    Schema.Array(MaintenanceWindow).check(Schema.isMaxLength(scenarioLimits.maintenanceWindowsMax)),
    [],
  ),
  linkLoss: Schema.optionalKey(Schema.Struct({ mtbfS: Distribution, durationS: Distribution })),
})
export type Faults = typeof Faults.Type

/** Replication of the replicated share (seed `vm-replica-api` parameters, Corral units). */
export const Replication = Schema.Struct({
  sleepTimeS: withDefault(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 86_400 })), 60),
  bwlimitBytesPerS: withDefault(Schema.NullOr(PositiveInt), null),
  /** Link speed when `bwlimitBytesPerS` is null. */
  linkBytesPerS: withDefault(PositiveInt, 1_250_000_000),
  dirtyBytesPerS: withDefault(Distribution, { kind: "fixed", value: 1_000_000 }),
  detectionS: withDefault(Distribution, { kind: "fixed", value: 30 }),
  promotionS: withDefault(Distribution, { kind: "fixed", value: 10 }),
})
export type Replication = typeof Replication.Type

/** What the run reports. */
export const Outputs = Schema.Struct({
  timeseriesPoints: withDefault(
    Schema.Int.check(Schema.isBetween({ minimum: 2, maximum: scenarioLimits.timeseriesPointsMax })),
    200,
  ),
  /** Run the invariant checks every this many events (0: only at the end). */
  invariantsEveryEvents: withDefault(NonNegativeInt, 10_000),
})
export type Outputs = typeof Outputs.Type

/**
 * A growth plan: find the smallest number of racks per zone whose rejection rate stays at or
 * below `rejectionRateMax` (binary search between the bounds).
 */
export const Growth = Schema.Struct({
  rejectionRateMax: Share,
  racksPerZoneMin: PositiveInt,
  racksPerZoneMax: PositiveInt,
}).check(Schema.makeFilter((g) => g.racksPerZoneMax >= g.racksPerZoneMin
  || "racksPerZoneMax ≥ racksPerZoneMin"))
export type Growth = typeof Growth.Type

/** The scenario document. `fleet` is checked by `expandFleet` (core/scenario/fleet.ts). */
export const ScenarioSpec = Schema.Struct({
  name: Schema.String,
  description: Schema.optionalKey(Schema.String),
  seed: withDefault(
    Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })), 1,
  ),
  durationS: Positive.check(Schema.isLessThanOrEqualTo(scenarioLimits.durationSMax)),
  fleet: Schema.Unknown,
  flavors: withDefault(Schema.Record(Schema.String, Flavor), {}),
  pciAliases: withDefault(Schema.Record(Schema.String, PciAlias), {}),
  workload: Workload,
  policies: withDefault(Policies, {}),
  latencies: withDefault(Latencies, {}),
  faults: withDefault(Faults, {}),
  replication: withDefault(Replication, {}),
  outputs: withDefault(Outputs, {}),
  growth: Schema.optionalKey(Growth),
})
export type ScenarioSpec = typeof ScenarioSpec.Type
