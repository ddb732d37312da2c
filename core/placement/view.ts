/**
 * What one placement cycle reads: the cluster state plus the tentative placements of a gang
 * search (an overlay of host usages and group members), and the items being placed.
 */
import { fitOnHost, type Fit } from "../cluster/fit.ts"
import { applyUsage } from "../cluster/fit.ts"
import { memberHosts, scanOf } from "../cluster/state.ts"
import type {
  ClusterState,
  GroupRecord,
  HostAssignment,
  HostUsage,
  InstanceSpec,
} from "../cluster/types.ts"
import type { ScanIndex } from "../cluster/scan.ts"

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
  readonly groupCounts: ReadonlyMap<string, number>
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
    groupCounts,
  }
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
  }
}

/** The usage of a host as the view sees it. */
export function usageIn(view: SearchView, hostIndex: number): HostUsage {
  return view.touched[hostIndex] === 1 ? view.overlay.get(hostIndex)! : view.state.usage[hostIndex]!
}

/** Hosts of a group's members: placed ones, then those placed by the search. */
export function membersIn(view: SearchView, groupId: string): number[] {
  const group = view.groups.get(groupId)
  if (group === undefined) throw new Error(`unknown group ${groupId} in a checked request`)
  const placed = group.members.length === 0 ? [] : memberHosts(view.state, group)
  const extra = view.extraMembers.get(groupId)
  return extra === undefined ? placed : [...placed, ...extra]
}

/** Fits every member of an item on a host in turn; the assignments or the first misfit. */
export function fitItem(
  view: SearchView,
  hostIndex: number,
  item: Item,
): { fits: true; assignments: HostAssignment[]; usage: HostUsage } | (Fit & { fits: false }) {
  const host = view.state.inventory.hosts[hostIndex]!
  let usage = usageIn(view, hostIndex)
  const assignments: HostAssignment[] = []
  for (const m of item.members) {
    const fit = fitOnHost(host, usage, m)
    if (!fit.fits) return fit
    assignments.push(fit.assignment)
    usage = applyUsage(usage, m, fit.assignment, 1)
  }
  return { fits: true, assignments, usage }
}

/** Records an item's tentative placement; returns what `unplace` needs to undo it. */
export function place(view: SearchView, hostIndex: number, item: Item, usage: HostUsage): {
  readonly hostIndex: number
  readonly previous: HostUsage | undefined
} {
  const previous = view.touched[hostIndex] === 1 ? view.overlay.get(hostIndex) : undefined
  view.overlay.set(hostIndex, usage)
  view.touched[hostIndex] = 1
  for (const [g, count] of item.groupCounts) {
    const list = view.extraMembers.get(g) ?? []
    for (let k = 0; k < count; k++) list.push(hostIndex)
    view.extraMembers.set(g, list)
  }
  return { hostIndex, previous }
}

/** Undoes the latest `place` of this item. */
export function unplace(
  view: SearchView,
  item: Item,
  undo: { readonly hostIndex: number; readonly previous: HostUsage | undefined },
): void {
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
