/**
 * The values the cluster state is made of: what an instance asks for, what a placed server holds,
 * server groups, and per-host usage. All are readonly; operations return new values.
 */
import type { DiskPoolKind } from "../model/inventory.ts"
import type { Inventory } from "../inventory/inventory.ts"
import type { PciNumaPolicy, PciRequest, PciState } from "../pci/index.ts"
import type { PmemState, PmemVolumeRequest } from "../pmem/index.ts"
import type { RMap } from "../persistent/map.ts"
import type { ScanIndex } from "./scan.ts"
import type { UsageVec } from "./usage.ts"

/** A group rule. The `soft-` rules are preferences (weighers); the others are hard filters. */
export type GroupRule = "affinity" | "anti-affinity" | "soft-affinity" | "soft-anti-affinity"
/** Every rule, in the order reports list them. */
export const groupRules: ReadonlyArray<GroupRule> =
  ["affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity"]
/** The topology level a rule applies at; `host` is the default. */
export type GroupScope = "host" | "rack" | "zone"
/** Every scope, finest first (a finer domain lies inside one coarser domain). */
export const groupScopes: ReadonlyArray<GroupScope> = ["host", "rack", "zone"]

/** Whether the rule is a hard filter (`affinity`, `anti-affinity`) rather than a weigher. */
export const isHardRule = (rule: GroupRule): boolean =>
  rule === "affinity" || rule === "anti-affinity"

/**
 * A server group. For (soft-)anti-affinity, `maxPerDomain` members may share one domain of
 * `scope` (Nova's `max_server_per_host`, generalised); it is 1 unless set. `members` are the
 * uuids of placed servers and volumes, in the order they joined.
 */
export interface GroupRecord {
  readonly id: string
  readonly rule: GroupRule
  readonly scope: GroupScope
  readonly maxPerDomain: number
  readonly members: ReadonlyArray<string>
}

/** A disk an instance asks for: from the named pool, or any pool of `kind`, or any pool. */
export interface DiskRequest {
  readonly sizeMb: number
  readonly pool?: string
  readonly kind?: DiskPoolKind
}

/**
 * What one instance asks for. A `volume` asks only for disks (its one disk is the volume); a
 * `server` asks for vCPUs, RAM, disks and optionally NUMA binding: `numaCells` cells, the vCPUs
 * and RAM split evenly across them (both must divide evenly). `groups` are the ids of the groups
 * it joins; their hard rules are checked and their soft rules weighed.
 */
export interface InstanceSpec {
  readonly kind: "server" | "volume"
  readonly vcpus: number
  readonly ramMb: number
  readonly disks: ReadonlyArray<DiskRequest>
  readonly numaCells?: number
  readonly groups: ReadonlyArray<string>
  /** PCI requests (`corral/pci`), met all or none on the chosen host. */
  readonly pci?: ReadonlyArray<PciRequest>
  /** Default NUMA policy of the PCI requests (the PCI module's default when unset). */
  readonly pciNumaPolicy?: PciNumaPolicy
  /** pmem volumes (`corral/pmem`) to create with the server, on the chosen host's devices. */
  readonly pmem?: ReadonlyArray<PmemVolumeRequest>
  /** Availability zone: only hosts whose `zone` equals it (any zone when unset). */
  readonly zone?: string
  /** Only hosts that have a pmem device of this name (e.g. `NVDIMM0`, `DRAM`). */
  readonly pmemDevice?: string
}

/** A server to create: the instance spec plus its identity and bookkeeping labels. */
export interface ServerCreate extends InstanceSpec {
  readonly uuid: string
  readonly tenant?: string
  readonly flavor?: string
  readonly vcluster?: string
}

/** A disk as placed: the pool (by index on the host and by name) and its size. */
export interface PlacedDisk {
  readonly poolIndex: number
  readonly pool: string
  readonly sizeMb: number
}

/** A share of a NUMA-bound server on one cell (cell by its index in `host.numaCells`). */
export interface PlacedCell {
  readonly cellIndex: number
  readonly vcpus: number
  readonly ramMb: number
}

/** Where a fitted instance's resources come from on one host. */
export interface HostAssignment {
  readonly disks: ReadonlyArray<PlacedDisk>
  readonly cells: ReadonlyArray<PlacedCell>
}

/** A placed server or volume: everything it holds, so delete can release exactly that. */
export interface ServerRecord extends ServerCreate {
  readonly host: string
  readonly hostIndex: number
  readonly assignment: HostAssignment
  /** Ids of the PCI devices it holds (`corral/pci` ids). */
  readonly pciDevices: ReadonlyArray<number>
  /** Uuids of the pmem volumes created with it. */
  readonly pmemVolumes: ReadonlyArray<string>
}

/**
 * What is used on one host. `diskUsedMb` is aligned with `host.diskPools`, the cell arrays with
 * `host.numaCells` (cells count only NUMA-bound servers; every server counts in the totals).
 */
export interface HostUsage {
  readonly vcpusUsed: number
  readonly ramMbUsed: number
  readonly diskUsedMb: ReadonlyArray<number>
  readonly cellVcpusUsed: ReadonlyArray<number>
  readonly cellRamMbUsed: ReadonlyArray<number>
  readonly instanceCount: number
}

/** Integer domain ids per host for each scope (rack ids are per zone: `zone/rack`). */
export interface Topology {
  readonly rackOf: Int32Array
  readonly zoneOf: Int32Array
  readonly rackNames: ReadonlyArray<string>
  readonly zoneNames: ReadonlyArray<string>
}

/**
 * The cluster state every capability commits into. Immutable: every operation returns a new
 * state and leaves its argument as it was. `usage` is aligned with `inventory.hosts` (a
 * persistent vector: read one host with `usageAt(state, i)`, all with `usageList(state)`).
 */
export interface ClusterState {
  readonly inventory: Inventory
  readonly topology: Topology
  readonly usage: UsageVec
  /**
   * Servers and volumes by uuid: a rerootable map (`core/persistent`); read it through
   * `findServer`, `serverRecords` and `serverCount`.
   */
  readonly servers: RMap<ServerRecord>
  /** Server groups by id (rerootable, like `servers`); read through `findGroup`. */
  readonly groups: RMap<GroupRecord>
  /** PCI accounting (`corral/pci`); servers' claims are committed here. */
  readonly pci: PciState
  /** pmem accounting (`corral/pmem`); servers' volumes are committed here. */
  readonly pmem: PmemState
  /** @internal The scan arrays; owned by the newest state derived from them. */
  readonly scan: ScanIndex
}
