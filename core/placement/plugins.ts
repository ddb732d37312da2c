/**
 * Placement plugins: records of optional phases over a readonly view. `preFilter`/`preScore`
 * compute the per-cycle state once (a returned value; `undefined` means "nothing to do for this
 * item"), `filter` and `score` read it per host. The resource filters (status, vCPU, RAM, disk
 * pool, NUMA fit) run fused over the scan arrays in `cycle.ts`; these are the others.
 */
import { domainOf } from "../cluster/rules.ts"
import { freeRamMbOf, freeVcpusOf } from "../cluster/scan.ts"
import type { GroupScope } from "../cluster/types.ts"
import type { Inventory } from "../inventory/inventory.ts"
import { type FilterName, filterNames } from "./errors.ts"
import { type Item, membersIn, type SearchView, usageIn } from "./view.ts"
import { pciFreeByHost, type PciRequest } from "../pci/index.ts"
import { allocateOnHost, hostPmemOf, PmemInsufficientCapacity, placementIssues,
  type PmemVolumeRequest } from "../pmem/index.ts"

/** `pack` fills the fullest hosts first (fewest hosts); `spread` balances load. */
export type Policy = "pack" | "spread"

/** What a cycle's plugins read. */
export interface CycleInput {
  readonly view: SearchView
  readonly item: Item
  readonly policy: Policy
}

/** A filter plugin. */
export interface FilterPlugin<P> {
  readonly name: FilterName
  readonly preFilter: (input: CycleInput) => P | undefined
  readonly filter: (pre: P, hostIndex: number) => boolean
}

/** A weigher plugin; its raw scores are normalised to [0, 1] over the candidates, then weighted. */
export interface WeigherPlugin<P> {
  readonly name: string
  readonly preScore: (input: CycleInput) => P | undefined
  readonly score: (pre: P, hostIndex: number) => number
}

/**
 * Multipliers of the weighers (Nova's defaults: 1.0 each). `specialHardware` keeps hosts with
 * PCI or pmem devices free for the instances that need them; it defaults to 2.0 so that it
 * outweighs pack's pull towards a fuller device host (Nova's PCI weigher plays this role).
 */
export interface Weights {
  readonly policy: number
  readonly softAffinity: number
  readonly softAntiAffinity: number
  readonly specialHardware?: number
}
/** The default multipliers. */
export const defaultWeights: Weights =
  { policy: 1, softAffinity: 1, softAntiAffinity: 1, specialHardware: 2 }

interface DomainRule {
  readonly view: SearchView
  readonly scope: GroupScope
}

/** Hard affinity: every group member in the domain of the members already placed. */
export const affinityFilter: FilterPlugin<ReadonlyArray<DomainRule & { domain: number }>> = {
  name: filterNames.affinity,
  preFilter: ({ view, item }) => {
    const rules: Array<DomainRule & { domain: number }> = []
    for (const id of item.groupCounts.keys()) {
      const group = view.groups.get(id)!
      if (group.rule !== "affinity") continue
      const hosts = membersIn(view, id)
      if (hosts.length === 0) continue
      const domain = domainOf(view.state.topology, group.scope, hosts[0]!)
      rules.push({ view, scope: group.scope, domain })
    }
    return rules.length === 0 ? undefined : rules
  },
  filter: (rules, i) => {
    for (const r of rules) if (domainOf(r.view.state.topology, r.scope, i) !== r.domain) return false
    return true
  },
}

interface CountRule extends DomainRule {
  readonly counts: ReadonlyMap<number, number>
  readonly room: number
}

function domainCounts(view: SearchView, id: string, scope: GroupScope): Map<number, number> {
  const counts = new Map<number, number>()
  for (const h of membersIn(view, id)) {
    const d = domainOf(view.state.topology, scope, h)
    counts.set(d, (counts.get(d) ?? 0) + 1)
  }
  return counts
}

/** Hard anti-affinity: at most `maxPerDomain` group members in one domain of the scope. */
export const antiAffinityFilter: FilterPlugin<ReadonlyArray<CountRule>> = {
  name: filterNames.antiAffinity,
  preFilter: ({ view, item }) => {
    const rules: CountRule[] = []
    for (const [id, carried] of item.groupCounts) {
      const group = view.groups.get(id)!
      if (group.rule !== "anti-affinity") continue
      const counts = domainCounts(view, id, group.scope)
      rules.push({ view, scope: group.scope, counts, room: group.maxPerDomain - carried })
    }
    return rules.length === 0 ? undefined : rules
  },
  filter: (rules, i) => {
    for (const r of rules) {
      const here = r.counts.get(domainOf(r.view.state.topology, r.scope, i)) ?? 0
      if (here > r.room) return false
    }
    return true
  },
}

/**
 * PCI: every request has at least `count` free matching devices on the host (`pciFreeByHost`,
 * NUMA aside). The chosen host is then claimed exactly (`claim`), NUMA policy included; a host
 * that fails that is skipped and the next best tried.
 */
export const pciFilter: FilterPlugin<ReadonlyArray<{ count: number; free: Int32Array }>> = {
  name: filterNames.pci,
  preFilter: ({ view, item }) => {
    const requests: PciRequest[] = item.members.flatMap((m) => [...(m.pci ?? [])])
    if (requests.length === 0) return undefined
    return requests.map((r) => ({ count: r.count, free: pciFreeByHost(view.pci, r) }))
  },
  filter: (columns, i) => {
    for (const c of columns) if (c.free[i]! < c.count) return false
    return true
  },
}

/**
 * pmem: the host has every pmem device the item names (`pmemDevice`), and the devices its volumes
 * name (on one NUMA node for affinity) with room for all of them.
 */
export const pmemFilter: FilterPlugin<{ view: SearchView; volumes: PmemVolumeRequest[];
  names: ReadonlyArray<string> }> = {
  name: filterNames.pmem,
  preFilter: ({ view, item }) => {
    const volumes = item.members.flatMap((m) => [...(m.pmem ?? [])])
    const names = item.pmemDevices
    return volumes.length === 0 && names.length === 0 ? undefined : { view, volumes, names }
  },
  filter: ({ view, volumes, names }, i) => {
    const host = view.state.inventory.hosts[i]!
    for (const name of names) if (!host.pmemDevices.some((d) => d.name === name)) return false
    if (volumes.length === 0) return true
    const hostPmem = hostPmemOf(view.pmem, host.name)
    if (hostPmem.devices.length === 0) return false
    if (placementIssues(hostPmem, volumes, undefined).length > 0) return false
    return !(allocateOnHost(hostPmem, volumes) instanceof PmemInsufficientCapacity)
  },
}

/** A plugin with its per-cycle state type hidden: `prepare` binds the state into a closure. */
export interface BoundFilter {
  readonly name: FilterName
  readonly prepare: (input: CycleInput) => ((hostIndex: number) => boolean) | undefined
}

/** Hides a filter plugin's state type. */
export function bindFilter<P>(plugin: FilterPlugin<P>): BoundFilter {
  return {
    name: plugin.name,
    prepare: (input) => {
      const pre = plugin.preFilter(input)
      return pre === undefined ? undefined : (i) => plugin.filter(pre, i)
    },
  }
}

/** A weigher with its per-cycle state type hidden. */
export interface BoundWeigher {
  readonly name: string
  readonly prepare: (input: CycleInput) => ((hostIndex: number) => number) | undefined
}

/** Hides a weigher plugin's state type. */
export function bindWeigher<P>(plugin: WeigherPlugin<P>): BoundWeigher {
  return {
    name: plugin.name,
    prepare: (input) => {
      const pre = plugin.preScore(input)
      return pre === undefined ? undefined : (i) => plugin.score(pre, i)
    },
  }
}

/** Every filter plugin, in the order they run after the resource filters. */
export const filterPlugins: ReadonlyArray<BoundFilter> = [
  bindFilter(pciFilter),
  bindFilter(pmemFilter),
  bindFilter(affinityFilter),
  bindFilter(antiAffinityFilter),
]

/**
 * Pack/spread: the host's mean utilisation of vCPUs and RAM after the item lands. The policy
 * picks the sign (pack prefers full hosts, spread empty ones).
 */
export const resourceWeigher: WeigherPlugin<{ view: SearchView; item: Item; sign: number }> = {
  name: "ResourceWeigher",
  preScore: ({ view, item, policy }) => ({ view, item, sign: policy === "pack" ? 1 : -1 }),
  score: ({ view, item, sign }, i) => {
    const scan = view.scan
    let freeVcpus: number
    let freeRamMb: number
    if (view.touched[i] === 1) {
      const host = view.state.inventory.hosts[i]!
      const usage = usageIn(view, i)
      freeVcpus = freeVcpusOf(host, usage)
      freeRamMb = freeRamMbOf(host, usage)
    } else {
      freeVcpus = scan.freeVcpus[i]!
      freeRamMb = scan.freeRamMb[i]!
    }
    const cpu = 1 - (freeVcpus - item.vcpus) / scan.vcpuCapacity[i]!
    const ram = 1 - (freeRamMb - item.ramMb) / scan.ramCapacityMb[i]!
    return sign * (cpu + ram) / 2
  },
}

interface SoftRule extends CountRule { readonly sign: number }

function softWeigher(name: string, rule: "soft-affinity" | "soft-anti-affinity"):
  WeigherPlugin<ReadonlyArray<SoftRule>> {
  return {
    name,
    preScore: ({ view, item }) => {
      const rules: SoftRule[] = []
      for (const id of item.groupCounts.keys()) {
        const group = view.groups.get(id)!
        if (group.rule !== rule) continue
        const counts = domainCounts(view, id, group.scope)
        if (counts.size === 0) continue
        const sign = rule === "soft-affinity" ? 1 : -1
        rules.push({ view, scope: group.scope, counts, room: group.maxPerDomain, sign })
      }
      return rules.length === 0 ? undefined : rules
    },
    score: (rules, i) => {
      let total = 0
      for (const r of rules) {
        const here = r.counts.get(domainOf(r.view.state.topology, r.scope, i)) ?? 0
        total += r.sign > 0 ? here : -Math.max(0, here - r.room + 1)
      }
      return total
    },
  }
}

/** Soft affinity: prefer domains holding more members of the group. */
export const softAffinityWeigher = softWeigher("SoftAffinityWeigher", "soft-affinity")
/** Soft anti-affinity: prefer domains where the group is below `maxPerDomain`, then fewer. */
export const softAntiAffinityWeigher = softWeigher("SoftAntiAffinityWeigher", "soft-anti-affinity")

/**
 * Special hardware: an instance that asks for no PCI device and no pmem volume prefers hosts
 * without them (one point off for PCI devices, one for pmem devices), so GPUs, SR-IOV NICs and
 * pmem stay reachable for the instances that need them. No preference for those that ask.
 */
export const specialHardwareWeigher: WeigherPlugin<Int8Array> = {
  name: "SpecialHardwareWeigher",
  preScore: ({ view, item }) => {
    if (item.devices) return undefined
    const special = specialHardwareOf(view.state.inventory)
    return special === undefined ? undefined : special
  },
  score: (special, i) => -special[i]!,
}

const specialByInventory = new WeakMap<Inventory, Int8Array | undefined>()

/**
 * Per host, how many kinds of special hardware it has (PCI devices, pmem devices: 0 to 2);
 * undefined when no host has either. Computed once per inventory.
 */
export function specialHardwareOf(inventory: Inventory): Int8Array | undefined {
  if (specialByInventory.has(inventory)) return specialByInventory.get(inventory)
  const special = new Int8Array(inventory.hosts.length)
  let any = false
  for (const host of inventory.hosts) {
    special[host.index] = (host.pciDevices.length > 0 ? 1 : 0) + (host.pmemDevices.length > 0 ? 1 : 0)
    any ||= special[host.index]! > 0
  }
  specialByInventory.set(inventory, any ? special : undefined)
  return any ? special : undefined
}

/** The weighers with their multiplier from `Weights`. */
export const weigherPlugins: ReadonlyArray<[BoundWeigher, keyof Weights]> = [
  [bindWeigher(resourceWeigher), "policy"],
  [bindWeigher(softAffinityWeigher), "softAffinity"],
  [bindWeigher(softAntiAffinityWeigher), "softAntiAffinity"],
  [bindWeigher(specialHardwareWeigher), "specialHardware"],
]
