/**
 * Topology domains and the hard group rules on one host, for a placement already decided
 * (`createServer` with a host choice). The solver checks the same rules over all hosts at once.
 */
import type { Inventory } from "../inventory/inventory.ts"
import type { GroupRecord, GroupScope, Topology } from "./types.ts"

/** Numbers the racks (per zone: `zone/rack`) and zones of an inventory. */
export function topologyOf(inventory: Inventory): Topology {
  const count = inventory.hosts.length
  const rackOf = new Int32Array(count)
  const zoneOf = new Int32Array(count)
  const racks = new Map<string, number>()
  const zones = new Map<string, number>()
  for (const host of inventory.hosts) {
    const rackKey = `${host.zone}/${host.rack}`
    if (!racks.has(rackKey)) racks.set(rackKey, racks.size)
    if (!zones.has(host.zone)) zones.set(host.zone, zones.size)
    rackOf[host.index] = racks.get(rackKey)!
    zoneOf[host.index] = zones.get(host.zone)!
  }
  return { rackOf, zoneOf, rackNames: [...racks.keys()], zoneNames: [...zones.keys()] }
}

/** The domain id of a host at a scope (the host index itself at `host` scope). */
export function domainOf(topology: Topology, scope: GroupScope, hostIndex: number): number {
  if (scope === "host") return hostIndex
  return scope === "rack" ? topology.rackOf[hostIndex]! : topology.zoneOf[hostIndex]!
}

/** How many domains a scope has in the cluster. */
export function domainCount(topology: Topology, scope: GroupScope, hostCount: number): number {
  if (scope === "host") return hostCount
  return scope === "rack" ? topology.rackNames.length : topology.zoneNames.length
}

/**
 * Whether a new member on `hostIndex` keeps the group's hard rule, given the hosts of its current
 * members (`memberHosts`). Soft rules always hold. Returns why not, or undefined.
 */
export function hardRuleBreach(
  topology: Topology,
  group: GroupRecord,
  memberHosts: ReadonlyArray<number>,
  hostIndex: number,
): string | undefined {
  const domain = domainOf(topology, group.scope, hostIndex)
  if (group.rule === "affinity") {
    const away = memberHosts.find((h) => domainOf(topology, group.scope, h) !== domain)
    return away === undefined ? undefined
      : `group ${group.id} (affinity, ${group.scope}) has members in another ${group.scope}`
  }
  if (group.rule === "anti-affinity") {
    const here = memberHosts.filter((h) => domainOf(topology, group.scope, h) === domain).length
    return here < group.maxPerDomain ? undefined
      : `group ${group.id} (anti-affinity, ${group.scope}) already has ${here} of at most ` +
        `${group.maxPerDomain} members in that ${group.scope}`
  }
  return undefined
}
