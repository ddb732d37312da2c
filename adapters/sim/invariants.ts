/**
 * Invariant checkers that run outside the code they check: they read what the cluster says is
 * held (`holdings()`) and the inventory, recompute usage from scratch and compare with capacity,
 * check every hard rule from the topology, every device held once, and that each replicated VM
 * has exactly one master. A violation is a defect: `InvariantViolation` names it and the
 * command that reproduces the run.
 */
import type { Inventory } from "../../core/inventory/inventory.ts"
import { replicaKey } from "../../core/replication/index.ts"
import type { Rule } from "../../core/scenario/schema.ts"
import type { Simulation } from "./engine.ts"
import type { Holding, ResourceTotal } from "./port.ts"
import { repname } from "./replicas.ts"

/** A broken invariant, with the command that replays the run up to it. */
export class InvariantViolation extends Error {
  constructor(readonly problems: ReadonlyArray<string>, readonly reproduce: string,
    readonly atS: number, readonly events: number) {
    super(`invariant violated at t=${atS}s after ${events} events:\n  ` +
      `${problems.slice(0, 20).join("\n  ")}\nreproduce with: ${reproduce}`)
  }
}

/** Most problems one check collects before it stops looking. */
export const problemsMax = 100

/** Capacity: recomputed per host from the holdings, never above what the host offers. */
export function checkCapacity(inventory: Inventory, holdings: ReadonlyArray<Holding>): string[] {
  const n = inventory.hosts.length
  const vcpus = new Float64Array(n)
  const ram = new Float64Array(n)
  const disk = new Float64Array(n)
  for (const h of holdings) {
    vcpus[h.host] = vcpus[h.host]! + h.vcpus
    ram[h.host] = ram[h.host]! + h.ramMb
    disk[h.host] = disk[h.host]! + h.diskMb
  }
  const problems: string[] = []
  for (const host of inventory.hosts) {
    const i = host.index
    const diskMb = host.diskPools.reduce((s, p) => s + p.sizeMb, 0)
    const over = (what: string, held: number, capacity: number) => {
      if (held > capacity) problems.push(`${host.name}: ${held} ${what} held of ${capacity}`)
    }
    over("vCPUs", vcpus[i]!, host.vcpuCapacity)
    over("MB RAM", ram[i]!, host.ramCapacityMb)
    if (disk[i]! > diskMb) problems.push(`${host.name}: ${disk[i]} MB disk held of ${diskMb}`)
    if (problems.length >= problemsMax) break
  }
  return problems
}

/**
 * Fleet totals as the cluster reports them (what utilisation reads): vCPUs, RAM and disk in use
 * equal the sums of the holdings.
 */
export function checkTotals(
  holdings: ReadonlyArray<Holding>,
  totals: ReadonlyMap<string, ResourceTotal>,
): string[] {
  let vcpus = 0
  let ramMb = 0
  let diskMb = 0
  for (const h of holdings) {
    vcpus += h.vcpus
    ramMb += h.ramMb
    diskMb += h.diskMb
  }
  const problems: string[] = []
  for (const [name, held] of [["vcpus", vcpus], ["ramMb", ramMb], ["diskMb", diskMb]] as const) {
    const used = totals.get(name)?.used
    if (used !== held) problems.push(`fleet ${name}: reports ${used} in use, holdings hold ${held}`)
  }
  return problems
}

/**
 * Free capacity as the cluster reports it (what utilisation, fragmentation and replication read)
 * equals each host's capacity minus what its holdings hold.
 */
export function checkFree(
  inventory: Inventory,
  holdings: ReadonlyArray<Holding>,
  free: (host: number) => { readonly vcpus: number; readonly ramMb: number },
): string[] {
  const n = inventory.hosts.length
  const vcpus = new Float64Array(n)
  const ram = new Float64Array(n)
  for (const h of holdings) {
    vcpus[h.host] = vcpus[h.host]! + h.vcpus
    ram[h.host] = ram[h.host]! + h.ramMb
  }
  const problems: string[] = []
  for (const host of inventory.hosts) {
    const f = free(host.index)
    const vcpusFree = host.vcpuCapacity - vcpus[host.index]!
    const ramFree = host.ramCapacityMb - ram[host.index]!
    if (f.vcpus !== vcpusFree || f.ramMb !== ramFree) {
      problems.push(`${host.name}: reports ${f.vcpus} vCPUs and ${f.ramMb} MB free, ` +
        `holdings leave ${vcpusFree} and ${ramFree}`)
    }
    if (problems.length >= problemsMax) break
  }
  return problems
}

/**
 * Devices: no PCI address held twice on a host, a PF never held with one of its VFs, pmem extents
 * within their device and never overlapping.
 */
export function checkDevices(inventory: Inventory, holdings: ReadonlyArray<Holding>): string[] {
  const problems: string[] = []
  const pciHolder = new Map<string, string>()
  const pmemByDevice = new Map<string, Array<{ from: number; to: number; id: string }>>()
  for (const h of holdings) {
    const host = inventory.hosts[h.host]!
    for (const a of h.pciAddresses) {
      const key = `${h.host}/${a.toLowerCase()}`
      const other = pciHolder.get(key)
      if (other !== undefined) problems.push(`${host.name} ${a}: held by ${other} and ${h.id}`)
      pciHolder.set(key, h.id)
    }
    for (const e of h.pmemExtents) {
      const device = host.pmemDevices.find((d) => d.name === e.device)
      if (device === undefined || e.offsetMb < 0 || e.offsetMb + e.sizeMb > device.sizeMb) {
        problems.push(`${host.name} pmem ${e.device}: ${h.id}'s extent outside the device`)
      }
      const key = `${h.host}/${e.device}`
      const list = pmemByDevice.get(key) ?? []
      list.push({ from: e.offsetMb, to: e.offsetMb + e.sizeMb, id: h.id })
      pmemByDevice.set(key, list)
    }
  }
  for (const [key, pf] of pciHolder) {
    const [hostIndex, address] = key.split("/") as [string, string]
    const host = inventory.hosts[Number(hostIndex)]!
    const d = host.pciDevices.find((x) => x.address.toLowerCase() === address)
    const parent = d?.parent_addr?.toLowerCase()
    if (parent !== undefined && pciHolder.has(`${hostIndex}/${parent}`)) {
      problems.push(`${host.name}: VF ${address} (${pf}) held with its PF ${parent}`)
    }
  }
  for (const [key, list] of pmemByDevice) {
    list.sort((a, b) => a.from - b.from)
    for (let i = 1; i < list.length; i++) {
      if (list[i]!.from < list[i - 1]!.to) {
        problems.push(`pmem ${key}: ${list[i - 1]!.id} and ${list[i]!.id} overlap`)
      }
    }
  }
  return problems.slice(0, problemsMax)
}

/** Hard rules: each group's members, by domain of its scope, as the rule demands. */
export function checkRules(
  inventory: Inventory,
  holdings: ReadonlyArray<Holding>,
  ruleOf: (group: string) => Rule | undefined,
): string[] {
  const members = new Map<string, Holding[]>()
  for (const h of holdings) {
    for (const g of h.groups) {
      const list = members.get(g) ?? []
      list.push(h)
      members.set(g, list)
    }
  }
  const problems: string[] = []
  for (const [group, list] of members) {
    const rule = ruleOf(group)
    if (rule === undefined || !rule.hard) continue
    const domainOf = (h: Holding): string => {
      const host = inventory.hosts[h.host]!
      return rule.scope === "host" ? host.name : rule.scope === "rack"
        ? `${host.zone}/${host.rack}` : host.zone
    }
    const counts = new Map<string, number>()
    for (const h of list) counts.set(domainOf(h), (counts.get(domainOf(h)) ?? 0) + 1)
    if (rule.kind === "affinity" && counts.size > 1) {
      const domains = [...counts.keys()].join(", ")
      problems.push(`group ${group} (affinity/${rule.scope}) spans ${domains}`)
    }
    const max = rule.maxPerHost ?? 1
    if (rule.kind === "anti-affinity") {
      for (const [domain, c] of counts) {
        if (c <= max) continue
        problems.push(`group ${group} (anti-affinity/${rule.scope}): ${c} in ${domain}`)
      }
    }
    if (problems.length >= problemsMax) break
  }
  return problems
}

/**
 * Replication: every replicated VM has one master, where the simulator runs it, and a slave on
 * another host; the two cluster records are on those hosts.
 */
export function checkMasters(sim: Simulation, holdings: ReadonlyArray<Holding>): string[] {
  const problems: string[] = []
  if (sim.replicas.byVm.size === 0) return problems
  const where = new Map<string, number>()
  for (const h of holdings) where.set(h.id, h.host)
  const hosts = sim.scenario.inventory.hosts
  const hostName = (i: number) => hosts[i]!.name
  for (const [index, r] of sim.replicas.byVm) {
    const vm = sim.vmAt(index)
    if (vm === undefined) {
      problems.push(`replica of a VM that is gone (#${index})`)
      continue
    }
    const replica = r.state.replicas[replicaKey(vm.uuid, repname)]
    if (replica === undefined || Object.keys(r.state.replicas).length !== 1) {
      problems.push(`${vm.uuid}: its replication state does not hold exactly its replica`)
      continue
    }
    if (replica !== r.replica) problems.push(`${vm.uuid}: tracked replica is not the core's`)
    if (replica.masterHost !== hostName(vm.host)) {
      problems.push(`${vm.uuid}: core says master on ${replica.masterHost}, ` +
        `it runs on ${hostName(vm.host)}`)
    }
    if (replica.masterHost === replica.slaveHost) {
      problems.push(`${vm.uuid}: master and slave on one host`)
    }
    if (where.get(vm.record) !== vm.host) problems.push(`${vm.uuid}: master record not on its host`)
    if (where.get(r.slaveRecord) !== r.slaveHost) {
      problems.push(`${vm.uuid}: slave record not on its host`)
    }
    if (problems.length >= problemsMax) break
  }
  return problems
}

/** Every check at once; throws `InvariantViolation` naming what broke and how to reproduce. */
export function checkAll(sim: Simulation, reproduce: string): void {
  const inventory = sim.scenario.inventory
  const holdings = [...sim.cluster.holdings()]
  const ruleOf = (group: string): Rule | undefined => {
    if (group.startsWith("rep-")) return { kind: "anti-affinity", scope: "host", hard: true }
    const m = /^vc-\d+\.m(\d+)\/(\d+)$/.exec(group)
    if (m === null) throw new Error(`a group the simulator did not make: ${group}`)
    return sim.scenario.spec.workload.mix[Number(m[1])]?.vcluster?.rules[Number(m[2])]
  }
  const problems = [
    ...checkCapacity(inventory, holdings),
    ...checkFree(inventory, holdings, (h) => sim.cluster.free(h)),
    ...checkTotals(holdings, sim.cluster.totals()),
    ...checkDevices(inventory, holdings),
    ...checkRules(inventory, holdings, ruleOf),
    ...checkMasters(sim, holdings),
  ]
  sim.recorder.count("invariantChecks")
  if (problems.length > 0) throw new InvariantViolation(problems, reproduce, sim.nowS, sim.events)
}
