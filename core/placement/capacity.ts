/**
 * A counting bound on hard anti-affinity, checked before any search: a group of scope S with at
 * most M members per domain can never hold more than (domains of S) × M members. Without it, a
 * gang one member too large for the topology makes the backtracking search try every ordering of
 * the domains before it gives up (9 members over 8 racks: 8! orderings).
 *
 * - More members than the topology can ever hold: `unresolvable` (no capacity would help).
 * - More than the domains with an `up` host still have room for, given the members already
 *   placed: `unschedulable` (hosts coming back up, or members leaving, would help).
 */
import { domainCount, domainOf } from "../cluster/rules.ts"
import type { ClusterState, GroupRecord, GroupScope } from "../cluster/types.ts"
import type { Inventory } from "../inventory/inventory.ts"
import { memberHosts } from "../cluster/state.ts"
import type { NamedInstance } from "./view.ts"

/** A group whose hard anti-affinity bound the request breaks, and how. */
export interface AntiAffinityOverflow {
  readonly code: "unschedulable" | "unresolvable"
  readonly detail: string
}

/**
 * The first hard anti-affinity group of `groups` that the request's new members overflow, or
 * undefined when every group's members fit the bound.
 */
export function antiAffinityOverflow(
  state: ClusterState,
  groups: ReadonlyMap<string, GroupRecord>,
  instances: ReadonlyArray<NamedInstance>,
): AntiAffinityOverflow | undefined {
  const hostCount = state.inventory.hosts.length
  for (const group of groups.values()) {
    if (group.rule !== "anti-affinity") continue
    const joining = instances.filter((i) => i.groups.includes(group.id)).length
    if (joining === 0) continue
    const placed = memberHosts(state, group)
    const domains = domainCount(state.topology, group.scope, hostCount)
    const ever = domains * group.maxPerDomain
    const wanted = placed.length + joining
    const what = `group ${group.id} (anti-affinity, ${group.scope}, at most ` +
      `${group.maxPerDomain} per ${group.scope})`
    if (wanted > ever) {
      return { code: "unresolvable",
        detail: `${what} can hold ${ever} members in ${domains} ${group.scope}s; ` +
          `it would have ${wanted}` }
    }
    const room = roomInUpDomains(state, group, placed)
    if (joining > room) {
      return { code: "unschedulable",
        detail: `${what} has room for ${room} more members in ${group.scope}s with a host up; ` +
          `${joining} asked` }
    }
  }
  return undefined
}

function roomInUpDomains(
  state: ClusterState,
  group: GroupRecord,
  placed: ReadonlyArray<number>,
): number {
  const used = new Map<number, number>()
  for (const h of placed) {
    const d = domainOf(state.topology, group.scope, h)
    used.set(d, (used.get(d) ?? 0) + 1)
  }
  const up = upDomainsOf(state, group.scope)
  let room = up.size * group.maxPerDomain
  for (const [d, n] of used) if (up.has(d)) room -= Math.min(n, group.maxPerDomain)
  return room
}

const upDomainsByInventory = new WeakMap<Inventory, Map<GroupScope, ReadonlySet<number>>>()

/** The domains of a scope that have a host `up`; host status lives in the inventory, so cached. */
function upDomainsOf(state: ClusterState, scope: GroupScope): ReadonlySet<number> {
  let byScope = upDomainsByInventory.get(state.inventory)
  if (byScope === undefined) {
    byScope = new Map()
    upDomainsByInventory.set(state.inventory, byScope)
  }
  const known = byScope.get(scope)
  if (known !== undefined) return known
  const up = new Set<number>()
  for (const host of state.inventory.hosts) {
    if (host.status === "up") up.add(domainOf(state.topology, scope, host.index))
  }
  byScope.set(scope, up)
  return up
}
