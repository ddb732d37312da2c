/**
 * What one placement cycle reads: the cluster state plus the tentative placements of a gang
 * search (an overlay of host usages and group members), and the items being placed.
 */
import { fitOnHost, type Fit } from "../cluster/fit.ts"
import { applyUsage } from "../cluster/fit.ts"
import { memberHosts, scanOf, usageAt } from "../cluster/state.ts"
import type {
  ClusterState,
  GroupRecord,
  HostAssignment,
  HostUsage,
  InstanceSpec,
} from "../cluster/types.ts"
import type { ScanIndex } from "../cluster/scan.ts"
import { fitDevices, wantsDevices } from "../cluster/devices.ts"
import type { PciState } from "../pci/index.ts"
import type { PmemState } from "../pmem/index.ts"

/** A named instance of a request. */
export interface NamedInstance extends InstanceSpec {
  readonly name: string
}

/**
 * What is placed in one step: one instance, or the members of a host-scope hard-affinity group
 * collapsed into one (they go to the same host). `vcpus`/`ramMb` are the members' sums;
 * `groupCounts` says how many members of each group the item carries.
 */
export interface Item {
  readonly members: ReadonlyArray<NamedInstance>
  readonly vcpus: number
  readonly ramMb: number
  readonly detailed: boolean
  /** Whether a member asks for PCI devices or pmem volumes. */
  readonly devices: boolean
  readonly groupCounts: ReadonlyMap<string, number>
  /** Distinct availability zones the members ask for (empty: every zone will do). */
  readonly zones: ReadonlyArray<string>
  /** Distinct pmem device names the members ask their host to have. */
  readonly pmemDevices: ReadonlyArray<string>
}

/** Builds an item from its members. */
export function itemOf(members: ReadonlyArray<NamedInstance>): Item {
  if (members.length === 0) throw new Error("an item needs at least one member")
  const groupCounts = new Map<string, number>()
  for (const m of members) for (const g of m.groups) groupCounts.set(g, (groupCounts.get(g) ?? 0) + 1)
  return {
    members,
    vcpus: members.reduce((s, m) => s + m.vcpus, 0),
    ramMb: members.reduce((s, m) => s + m.ramMb, 0),
    detailed: members.length > 1 ||
      members.some((m) => m.disks.length > 0 || m.numaCells !== undefined),
    devices: members.some(wantsDevices),
    groupCounts,
    zones: distinct(members.map((m) => m.zone)),
    pmemDevices: distinct(members.map((m) => m.pmemDevice)),
  }
}

function distinct(values: ReadonlyArray<string | undefined>): string[] {
  const out: string[] = []
  for (const v of values) if (v !== undefined && !out.includes(v)) out.push(v)
  return out
}

/**
 * The state a cycle reads. `overlay` holds the usage of hosts the search has tentatively used
 * (`touched[i]` is 1 for them); `extraMembers` the hosts of members placed in the search.
 */
export interface SearchView {
  readonly state: ClusterState
  readonly scan: ScanIndex
  readonly groups: ReadonlyMap<string, GroupRecord>
  readonly touched: Uint8Array
  readonly overlay: Map<number, HostUsage>
  readonly extraMembers: Map<string, number[]>
  /** Device states with the search's tentative claims. */
  pci: PciState
  pmem: PmemState
}

/** A view of the state with nothing tentative; `groups` are every group the request names. */
export function viewOf(state: ClusterState, groups: ReadonlyMap<string, GroupRecord>): SearchView {
  return {
    state,
    scan: scanOf(state),
    groups,
    touched: new Uint8Array(state.inventory.hosts.length),
    overlay: new Map(),
    extraMembers: new Map(),
    pci: state.pci,
    pmem: state.pmem,
  }
}

/** The usage of a host as the view sees it. */
export function usageIn(view: SearchView, hostIndex: number): HostUsage {
  return view.touched[hostIndex] === 1 ? view.overlay.get(hostIndex)!
    : usageAt(view.state, hostIndex)
}

/** Hosts of a group's members: placed ones, then those placed by the search. */
export function membersIn(view: SearchView, groupId: string): number[] {
  const group = view.groups.get(groupId)
  if (group === undefined) throw new Error(`unknown group ${groupId} in a checked request`)
  const placed = group.members.length === 0 ? [] : memberHosts(view.state, group)
  const extra = view.extraMembers.get(groupId)
  return extra === undefined ? placed : [...placed, ...extra]
}

/** An item that fits a host: each member's assignment, and the host's usage and devices after. */
export interface ItemFit {
  readonly fits: true
  readonly assignments: HostAssignment[]
  readonly usage: HostUsage
  readonly pci: PciState
  readonly pmem: PmemState
}

/**
 * Fits every member of an item on a host in turn; the assignments or the first misfit. Devices
 * (PCI claims, pmem volumes) are taken only when `withDevices` is set: filtering uses the PCI and
 * pmem filter plugins instead, and the chosen host is then checked exactly.
 */
export function fitItem(
  view: SearchView,
  hostIndex: number,
  item: Item,
  withDevices: boolean,
): ItemFit | (Fit & { fits: false }) {
  const host = view.state.inventory.hosts[hostIndex]!
  let usage = usageIn(view, hostIndex)
  let pci = view.pci
  let pmem = view.pmem
  const assignments: HostAssignment[] = []
  for (const m of item.members) {
    const fit = fitOnHost(host, usage, m)
    if (!fit.fits) return fit
    if (withDevices && wantsDevices(m)) {
      const devices = fitDevices(pci, pmem, host, m.name, m, fit.assignment)
      if ("error" in devices) return { fits: false, misfit: devices }
      pci = devices.pci
      pmem = devices.pmem
    }
    assignments.push(fit.assignment)
    usage = applyUsage(usage, m, fit.assignment, 1)
  }
  return { fits: true, assignments, usage, pci, pmem }
}

/** What `unplace` needs to undo a `place`. */
export interface Undo {
  readonly hostIndex: number
  readonly previous: HostUsage | undefined
  readonly pci: PciState
  readonly pmem: PmemState
}

/** Records an item's tentative placement; returns what `unplace` needs to undo it. */
export function place(view: SearchView, hostIndex: number, item: Item, fit: ItemFit): Undo {
  const previous = view.touched[hostIndex] === 1 ? view.overlay.get(hostIndex) : undefined
  const undo = { hostIndex, previous, pci: view.pci, pmem: view.pmem }
  view.pci = fit.pci
  view.pmem = fit.pmem
  view.overlay.set(hostIndex, fit.usage)
  view.touched[hostIndex] = 1
  for (const [g, count] of item.groupCounts) {
    const list = view.extraMembers.get(g) ?? []
    for (let k = 0; k < count; k++) list.push(hostIndex)
    view.extraMembers.set(g, list)
  }
  return undo
}

/** Undoes the latest `place` of this item. */
export function unplace(view: SearchView, item: Item, undo: Undo): void {
  view.pci = undo.pci
  view.pmem = undo.pmem
  if (undo.previous === undefined) {
    view.overlay.delete(undo.hostIndex)
    view.touched[undo.hostIndex] = 0
  } else view.overlay.set(undo.hostIndex, undo.previous)
  for (const [g, count] of item.groupCounts) {
    const list = view.extraMembers.get(g)!
    if (list.length < count) throw new Error(`unplace of group ${g} without its place`)
    list.length -= count
  }
}
