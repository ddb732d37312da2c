/**
 * What the simulator needs from the cluster it drives: place and release VMs (alone or as a gang
 * under rules), take hosts in and out of service, and expose what is held where so checkers and
 * reports can read it from outside. `core-cluster.ts` implements it over the real core.
 */
import type { Rule } from "../../core/scenario/schema.ts"

/** A PCI device request resolved from an alias: what a matching device must be. */
export interface PciDemand {
  readonly alias: string
  readonly vendorId: string
  readonly productId: string
  readonly devType: string | undefined
  readonly tags: Readonly<Record<string, string>>
  readonly count: number
}

/** A pmem volume request. */
export interface PmemDemand {
  readonly sizeMb: number
  readonly device: string
}

/** What one VM holds once placed. */
export interface VmDemand {
  readonly vcpus: number
  readonly ramMb: number
  readonly diskMb: number
  readonly diskPool: string | undefined
  readonly pci: ReadonlyArray<PciDemand>
  readonly pmem: ReadonlyArray<PmemDemand>
}

/** One VM of a placement request. */
export interface Member {
  readonly id: string
  readonly demand: VmDemand
}

/** A placement: the host index of each member, or the reason (a shared constant) it failed. */
export type Placement =
  | { readonly ok: true; readonly hosts: ReadonlyArray<number> }
  | { readonly ok: false; readonly reason: string }

/** A group of VMs placed together (a vcluster, or a VM and its replica's slave). */
export interface GroupDemand {
  readonly id: string
  readonly rules: ReadonlyArray<Rule>
}

/** What one placed VM holds, as the checker reads it. */
export interface Holding {
  readonly id: string
  readonly host: number
  readonly vcpus: number
  readonly ramMb: number
  readonly diskMb: number
  /** PCI addresses held on `host`. */
  readonly pciAddresses: ReadonlyArray<string>
  /** pmem extents held on `host`: device name, offset and size. */
  readonly pmemExtents: ReadonlyArray<{ device: string; offsetMb: number; sizeMb: number }>
  readonly groups: ReadonlyArray<string>
}

/** Fleet-wide totals of one resource. */
export interface ResourceTotal {
  readonly used: number
  readonly capacity: number
}

/** A cluster the simulator drives. Every operation is atomic: on failure nothing changed. */
export interface SimCluster {
  /** The hosts, in inventory order. */
  readonly hostCount: number
  /**
   * Places every member or none, in one group when `group` is given. Hard rules are kept; the
   * scenario's weigher orders the candidates.
   */
  place(members: ReadonlyArray<Member>, group: GroupDemand | undefined): Placement
  /** Releases everything `id` holds. A defect if `id` holds nothing. */
  release(id: string): void
  /** Moves a placed VM to another host (live migration): place elsewhere, then release. */
  migrate(id: string): Placement
  /** Sets a host's status; `down` and `maintenance` hosts take no new VMs. */
  setHostStatus(host: number, status: "up" | "down" | "maintenance"): void
  /** Fleet totals per resource name (`vcpus`, `ramMb`, `diskMb`, `pci:<alias>`, `pmem:<dev>`). */
  totals(): ReadonlyMap<string, ResourceTotal>
  /** Hosts that hold at least one VM. */
  hostsInUse(): number
  /** Free vCPUs and RAM of a host (after allocation ratios), for fragmentation. */
  free(host: number): { readonly vcpus: number; readonly ramMb: number }
  /** Everything held, for the invariant checkers. */
  holdings(): Iterable<Holding>
}
