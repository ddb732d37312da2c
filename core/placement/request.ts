/**
 * A placement request (one instance or a gang), its validation, and the check for hard rules
 * among its own members that can never hold together.
 */
import { type BadRequest, type InputIssue, invalid, invalidAll, NotFound, type Outcome, err, ok }
  from "../errors.ts"
import { findGroup, type GroupCreate, groupIssues, instanceIssues, instanceLimits }
  from "../cluster/state.ts"
import { type ClusterState, type GroupRecord, groupScopes } from "../cluster/types.ts"
import { filterNames, type FilterName } from "./errors.ts"
import type { Policy, Weights } from "./plugins.ts"
import type { NamedInstance } from "./view.ts"

/** Bounds on a request. Gangs up to `exactInstancesMax` are searched exhaustively. */
export const requestLimits = {
  instancesMax: 5_000,
  newGroupsMax: 1_000,
  exactInstancesMax: 16,
  /** Hosts tried in a gang search of at most `exactInstancesMax` instances. */
  exactNodeBudget: 2_000_000,
  /** Hosts tried in a larger gang search. */
  largeNodeBudget: 200_000,
} as const

/**
 * What to place, all or nothing. `groups` creates new groups (ids not yet in the state) that the
 * instances may join alongside existing ones; members already placed constrain new ones.
 * `policy` defaults to `pack`; `nodeBudget` bounds the gang search (see `requestLimits`).
 */
export interface PlacementRequest {
  readonly instances: ReadonlyArray<NamedInstance>
  readonly groups?: ReadonlyArray<GroupCreate>
  readonly policy?: Policy
  readonly nodeBudget?: number
  readonly weights?: Weights
  /**
   * Whether a single instance may take the fused-scan fast path (default true). It chooses the
   * same host as the general path; false forces the general path (for tests and baselines).
   */
  readonly fastPath?: boolean
  /**
   * Whether the fast path may find its host through the host index (default true) instead of
   * scanning every host; the answer is the same. false scans every host (for baselines).
   */
  readonly hostIndex?: boolean
}

/** Checks a request against the state; returns every group the request names, by id. */
export function checkRequest(
  state: ClusterState,
  request: PlacementRequest,
): Outcome<Map<string, GroupRecord>, BadRequest | NotFound> {
  const issues: InputIssue[] = []
  const count = request.instances.length
  if (count === 0 || count > requestLimits.instancesMax) {
    issues.push({ path: "instances", message: `1 to ${requestLimits.instancesMax} instances` })
  }
  const newGroups = request.groups ?? []
  if (newGroups.length > requestLimits.newGroupsMax) {
    issues.push({ path: "groups", message: `at most ${requestLimits.newGroupsMax} new groups` })
  }
  const groups = new Map<string, GroupRecord>()
  newGroups.forEach((g, k) => {
    const path = `groups[${k}]`
    issues.push(...groupIssues(g, path))
    if (groups.has(g.id) || findGroup(state, g.id) !== undefined) {
      issues.push({ path: `${path}.id`, message: `a new group id; ${g.id} exists` })
    }
    groups.set(g.id, { id: g.id, rule: g.rule, scope: g.scope ?? "host",
      maxPerDomain: g.maxPerDomain ?? 1, members: [] })
  })
  const names = new Map<string, number>()
  request.instances.forEach((inst, k) => {
    const path = `instances[${k}]`
    if (inst.name === "") issues.push({ path: `${path}.name`, message: "a non-empty name" })
    const first = names.get(inst.name)
    if (first !== undefined) {
      issues.push({ path: `${path}.name`, message: `a unique name; ${inst.name} is instances[${first}]` })
    } else names.set(inst.name, k)
    issues.push(...instanceIssues(inst, path))
  })
  if (issues.length > 0) return err(invalidAll(issues))
  // Per group: how many instances of the request join it, and the first one that does.
  const joining = new Map<string, { count: number; first: number }>()
  for (const [k, inst] of request.instances.entries()) {
    for (const id of inst.groups) {
      const j = joining.get(id)
      if (j === undefined) joining.set(id, { count: 1, first: k })
      else j.count++
      if (groups.has(id)) continue
      const existing = findGroup(state, id)
      if (existing === undefined) return err(new NotFound({ resource: "server group", id }))
      groups.set(id, existing)
    }
  }
  for (const [id, { count, first }] of joining) {
    const members = groups.get(id)!.members.length
    if (members + count > instanceLimits.groupMembersMax) {
      return err(invalid(`instances[${first}].groups`, `a group with room: ${id} has ${members} ` +
        `members and ${count} more would pass its limit of ${instanceLimits.groupMembersMax}`))
    }
  }
  return ok(groups)
}

/**
 * Hard rules among the request's own members that contradict each other: members that
 * hard-affinity rules force into one domain of a scope (directly or through a chain), more of
 * them than an anti-affinity group of that scope allows there. Returns a description, or undefined.
 */
export function contradiction(
  instances: ReadonlyArray<NamedInstance>,
  groups: ReadonlyMap<string, GroupRecord>,
): string | undefined {
  for (let level = 0; level < groupScopes.length; level++) {
    const parent = instances.map((_, k) => k)
    const root = (k: number): number => {
      let r = k
      while (parent[r] !== r) r = parent[r]!
      parent[k] = r
      return r
    }
    for (const g of groups.values()) {
      if (g.rule !== "affinity" || groupScopes.indexOf(g.scope) > level) continue
      let first = -1
      instances.forEach((inst, k) => {
        if (!inst.groups.includes(g.id)) return
        if (first < 0) first = k
        else parent[root(k)] = root(first)
      })
    }
    for (const g of groups.values()) {
      if (g.rule !== "anti-affinity" || g.scope !== groupScopes[level]) continue
      const perComponent = new Map<number, string[]>()
      instances.forEach((inst, k) => {
        if (!inst.groups.includes(g.id)) return
        const list = perComponent.get(root(k)) ?? []
        list.push(inst.name)
        perComponent.set(root(k), list)
      })
      for (const names of perComponent.values()) {
        if (names.length > g.maxPerDomain) {
          return `affinity rules put ${names.join(", ")} in one ${g.scope}, but anti-affinity ` +
            `group ${g.id} allows at most ${g.maxPerDomain} there`
        }
      }
    }
  }
  return undefined
}

/** An instance whose zone or pmem device no host of the inventory has. */
export interface UnmetTarget {
  readonly instance: NamedInstance
  readonly reason: FilterName
  readonly detail: string
}

/**
 * The first instance that asks for a zone no host is in, or a pmem device no host has: such a
 * request is unresolvable whatever the usage. Returns undefined when every target exists.
 */
export function unmetTarget(
  state: ClusterState,
  instances: ReadonlyArray<NamedInstance>,
): UnmetTarget | undefined {
  const zones = state.topology.zoneNames
  for (const instance of instances) {
    if (instance.zone !== undefined && !zones.includes(instance.zone)) {
      return { instance, reason: filterNames.availabilityZone,
        detail: `no host is in zone ${instance.zone} (zones: ${zones.join(", ") || "none"})` }
    }
    const device = instance.pmemDevice
    if (device !== undefined &&
      !state.inventory.hosts.some((h) => h.pmemDevices.some((d) => d.name === device))) {
      return { instance, reason: filterNames.pmem,
        detail: `no host has a pmem device named ${device}` }
    }
  }
  return undefined
}
