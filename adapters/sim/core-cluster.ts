/**
 * The `SimCluster` port over the real core: `core/placement` chooses hosts (filters, weighers,
 * gang search with hard rules), `core/cluster` commits vCPU/RAM/disk/NUMA and groups,
 * `core/pci` claims devices and `core/pmem` allocates volumes. All four states are immutable
 * values; an operation computes the next four and swaps them in only when every step succeeded,
 * so a failed operation changes nothing.
 *
 * Two workarounds, both within this file (the core has no API for them yet):
 * - Host status lives in the immutable inventory; a status change builds a cluster state whose
 *   inventory carries the new status (the core rebuilds its scan arrays for it).
 * - The solver does not filter on PCI and pmem; for a request that needs them, the hosts where
 *   `pciFits`/the pmem allocator say no are masked (given a non-`up` status in a copy of the
 *   state used only for the search), then the choice is committed on the real state.
 */
import { HashMap, Result } from "effect"
import type { Host, Inventory } from "../../core/inventory/inventory.ts"
import {
  type ClusterState, createCluster, createGroup, createServer, deleteGroup, deleteServer,
  findGroup, findServer, type GroupCreate, type ServerRecord,
} from "../../core/cluster/index.ts"
import { placeGang } from "../../core/placement/gang.ts"
import type { NamedInstance } from "../../core/placement/view.ts"
import {
  claim, free as pciFree, pciFreeByHost, type PciRequest, pciShow, type PciState, pciStateOf,
  serverPciDevices,
} from "../../core/pci/index.ts"
import {
  addPmemVolumes, allocateOnHost, hostPmemOf, type PmemState, pmemStateOf, releaseServer,
  serverPmemOf,
} from "../../core/pmem/index.ts"
import type {
  GroupDemand, Holding, Member, PciDemand, Placement, ResourceTotal, SimCluster, VmDemand,
} from "./port.ts"

/** Weigher policy of the solver. */
export type Weigher = "pack" | "spread"

interface Committed {
  cluster: ClusterState
  pci: PciState
  pmem: PmemState
}

/** The real core behind the simulator's cluster port. */
export class CoreCluster implements SimCluster {
  readonly hostCount: number
  private state: Committed
  private readonly hosts: Host[]
  private readonly used = new Map<string, number>()
  private readonly capacity = new Map<string, number>()
  private readonly pciOf = new Map<string, ReadonlyArray<{ alias: string; count: number }>>()
  private readonly pmemOf = new Map<string, ReadonlyArray<{ device: string; sizeMb: number }>>()
  private readonly groupOf = new Map<string, string>()
  private readonly pciRequests = new Map<string, PciRequest>()
  private readonly pciColumn: Int32Array

  constructor(private readonly inventory: Inventory, private readonly weigher: Weigher,
    aliases: ReadonlyArray<PciDemand>) {
    this.hostCount = inventory.hosts.length
    this.hosts = inventory.hosts.slice()
    this.state = { cluster: createCluster(inventory), pci: pciStateOf(inventory),
      pmem: pmemStateOf(inventory) }
    this.pciColumn = new Int32Array(this.hostCount)
    let vcpus = 0
    let ramMb = 0
    let diskMb = 0
    for (const h of inventory.hosts) {
      vcpus += h.vcpuCapacity
      ramMb += h.ramCapacityMb
      for (const p of h.diskPools) diskMb += p.sizeMb
      for (const d of h.pmemDevices) this.add(this.capacity, `pmem:${d.name}`, d.sizeMb)
    }
    this.capacity.set("vcpus", vcpus).set("ramMb", ramMb).set("diskMb", diskMb)
    for (const a of aliases) {
      const request = pciRequestOf(a)
      this.pciRequests.set(a.alias, request)
      const column = pciFreeByHost(this.state.pci, request)
      this.capacity.set(`pci:${a.alias}`, column.reduce((s, n) => s + n, 0))
    }
    for (const k of this.capacity.keys()) this.used.set(k, 0)
  }

  private add(m: Map<string, number>, key: string, n: number): void {
    m.set(key, (m.get(key) ?? 0) + n)
  }

  place(members: ReadonlyArray<Member>, group: GroupDemand | undefined,
    avoidHosts: ReadonlyArray<number>): Placement {
    const mask = this.candidates(members, avoidHosts)
    if (typeof mask === "string") return { ok: false, reason: mask }
    let cluster = this.state.cluster
    const groups: GroupCreate[] = (group?.rules ?? []).map((r, k) => ({
      id: `${group!.id}/${k}`,
      rule: r.hard ? r.kind : r.kind === "affinity" ? "soft-affinity" : "soft-anti-affinity",
      scope: r.scope,
      ...(r.maxPerHost === undefined || r.kind === "affinity" ? {} : { maxPerDomain: r.maxPerHost }),
    }))
    const instances: NamedInstance[] = members.map((m) => ({ ...specOf(m.demand), name: m.id,
      groups: groups.map((g) => g.id) }))
    const search = mask === undefined ? cluster : this.masked(cluster, mask)
    const found = placeGang(search, { instances, groups, policy: this.weigher })
    if (Result.isFailure(found)) {
      const f = found.failure
      return { ok: false, reason: f._tag === "NoValidHost" ? f.reason : f._tag }
    }
    for (const g of groups) cluster = expect(createGroup(cluster, g), "createGroup")
    let { pci, pmem } = this.state
    const hosts: number[] = []
    for (const [k, p] of found.success.placements.entries()) {
      const m = members[k]!
      const created = createServer(cluster, { ...instances[k]!, uuid: m.id },
        { host: p.host, assignment: p.assignment })
      cluster = expect(created, "createServer").state
      const devices = this.claimDevices(pci, pmem, m, p.host)
      if (typeof devices === "string") {
        for (const x of members) this.forget(x.id)
        return { ok: false, reason: devices }
      }
      pci = devices.pci
      pmem = devices.pmem
      hosts.push(p.hostIndex)
    }
    this.state = { cluster, pci, pmem }
    for (const m of members) this.account(m, 1)
    if (group !== undefined) for (const m of members) this.groupOf.set(m.id, group.id)
    return { ok: true, hosts }
  }

  /** Claims PCI devices and pmem volumes of a member on `host`; a reason when they do not fit. */
  private claimDevices(pci: PciState, pmem: PmemState, m: Member, host: string):
    { pci: PciState; pmem: PmemState } | string {
    const d = m.demand
    if (d.pci.length > 0) {
      const requests = d.pci.map((p) => ({ ...this.pciRequests.get(p.alias)!, count: p.count }))
      const claimed = claim(pci, { host, instanceUuid: m.id, requests })
      if (Result.isFailure(claimed)) return `pci:${d.pci[0]!.alias}`
      pci = claimed.success.state
    }
    if (d.pmem.length > 0) {
      const devices = this.pmemDevices(pmem, host, d)
      if (devices === undefined) return `pmem:${d.pmem[0]!.device ?? "any"}`
      const volumes = d.pmem.map((v, i) => ({ name: `v${i}`, sizeMb: v.sizeMb, affinity: false,
        device: devices[i]! }))
      const added = addPmemVolumes(pmem, { serverUuid: m.id, host }, volumes)
      if (Result.isFailure(added)) return `pmem:${devices[0]}`
      pmem = added.success.state
      this.pmemOf.set(m.id, volumes.map((v) => ({ device: v.device, sizeMb: v.sizeMb })))
    }
    if (d.pci.length > 0) this.pciOf.set(m.id, d.pci.map((p) => ({ alias: p.alias, count: p.count })))
    return { pci, pmem }
  }

  /** The device of each volume on `host`: as named, or the first device where all fit. */
  private pmemDevices(pmem: PmemState, host: string, d: VmDemand): string[] | undefined {
    const hp = hostPmemOf(pmem, host)
    if (d.pmem.every((v) => v.device !== undefined)) {
      const named = d.pmem.map((v) => v.device!)
      if (!named.every((n) => hp.devices.some((x) => x.name === n))) return undefined
      const fit = allocateOnHost(hp, d.pmem.map((v, i) => ({ device: named[i]!, sizeMb: v.sizeMb })))
      return "host" in fit ? named : undefined
    }
    for (const dev of hp.devices) {
      const names = d.pmem.map((v) => v.device ?? dev.name)
      const fit = allocateOnHost(hp, d.pmem.map((v, i) => ({ device: names[i]!, sizeMb: v.sizeMb })))
      if ("host" in fit) return names
    }
    return undefined
  }

  /**
   * Hosts the members' PCI and pmem needs allow (undefined: no mask needed), or the reason no
   * host does. A host must hold what every member needs (members of a request share a demand
   * shape, so one check per distinct demand).
   */
  private candidates(members: ReadonlyArray<Member>, avoid: ReadonlyArray<number>):
    Uint8Array | string | undefined {
    const needs = members.some((m) => m.demand.pci.length > 0 || m.demand.pmem.length > 0)
    if (!needs && avoid.length === 0) return undefined
    const ok = new Uint8Array(this.hostCount).fill(1)
    for (const h of avoid) ok[h] = 0
    for (const m of members) {
      for (const p of m.demand.pci) {
        const column = pciFreeByHost(this.state.pci, this.pciRequests.get(p.alias)!, this.pciColumn)
        let any = false
        for (let h = 0; h < this.hostCount; h++) {
          if (column[h]! < p.count) ok[h] = 0
          else any ||= ok[h] === 1
        }
        if (!any) return `pci:${p.alias}`
      }
      if (m.demand.pmem.length > 0) {
        let any = false
        for (let h = 0; h < this.hostCount; h++) {
          if (ok[h] === 0) continue
          const host = this.hosts[h]!
          if (host.pmemDevices.length === 0 ||
            this.pmemDevices(this.state.pmem, host.name, m.demand) === undefined) ok[h] = 0
          else any = true
        }
        if (!any) return `pmem:${m.demand.pmem[0]!.device ?? "any"}`
      }
    }
    return ok
  }

  /** A copy of the state for the search only, with hosts outside `mask` not `up`. */
  private masked(cluster: ClusterState, mask: Uint8Array): ClusterState {
    const hosts = this.hosts.map((h, i) => mask[i] === 1 || h.status !== "up" ? h
      : { ...h, status: "maintenance" as const })
    return { ...cluster, inventory: { hosts, hostIndex: this.inventory.hostIndex } }
  }

  private account(m: Member, sign: 1 | -1): void {
    const d = m.demand
    this.add(this.used, "vcpus", sign * d.vcpus)
    this.add(this.used, "ramMb", sign * d.ramMb)
    this.add(this.used, "diskMb", sign * d.diskMb)
    for (const p of this.pciOf.get(m.id) ?? []) this.add(this.used, `pci:${p.alias}`, sign * p.count)
    for (const v of this.pmemOf.get(m.id) ?? []) this.add(this.used, `pmem:${v.device}`, sign * v.sizeMb)
  }

  release(id: string): void {
    const server = findServer(this.state.cluster, id)
    if (server === undefined) throw new Error(`release of ${id}, which holds nothing`)
    this.account({ id, demand: demandOf(server) }, -1)
    let cluster = expect(deleteServer(this.state.cluster, id), "deleteServer").state
    for (const g of server.groups) {
      if (findGroup(cluster, g)?.members.length === 0) cluster = expect(deleteGroup(cluster, g), "deleteGroup")
    }
    let pci = this.state.pci
    if (this.pciOf.has(id)) pci = expect(pciFree(pci, { instanceUuid: id }), "pci free").state
    const pmem = releaseServer(this.state.pmem, id).state
    this.state = { cluster, pci, pmem }
    this.forget(id)
  }

  private forget(id: string): void {
    this.pciOf.delete(id)
    this.pmemOf.delete(id)
    this.groupOf.delete(id)
  }

  migrate(id: string): Placement {
    const server = findServer(this.state.cluster, id)
    if (server === undefined) throw new Error(`migrate of ${id}, which holds nothing`)
    const before = this.state
    const saved = { pci: this.pciOf.get(id), pmem: this.pmemOf.get(id), group: this.groupOf.get(id) }
    const demand = this.savedDemand(server)
    this.release(id)
    const placed = this.placeInGroups({ id, demand }, server)
    if (!placed.ok) {
      this.state = before
      this.pciOf.delete(id)
      this.pmemOf.delete(id)
      if (saved.pci !== undefined) this.pciOf.set(id, saved.pci)
      if (saved.pmem !== undefined) this.pmemOf.set(id, saved.pmem)
      if (saved.group !== undefined) this.groupOf.set(id, saved.group)
      this.account({ id, demand: demandOf(server) }, 1)
    }
    return placed
  }

  /** The demand a server was placed with, PCI and pmem included. */
  private savedDemand(server: ServerRecord): VmDemand {
    const pci = (this.pciOf.get(server.uuid) ?? []).map((p) => ({ ...this.aliasDemand(p.alias), count: p.count }))
    const pmem = (this.pmemOf.get(server.uuid) ?? []).map((v) => ({ sizeMb: v.sizeMb, device: v.device }))
    return { ...demandOf(server), pci, pmem }
  }

  private aliasDemand(alias: string): PciDemand {
    const r = this.pciRequests.get(alias)!
    const { vendor_id, product_id, dev_type, ...tags } = r.spec[0]!
    return { alias, vendorId: vendor_id!, productId: product_id!, devType: dev_type, tags, count: 1 }
  }

  /** Places one member into the groups it already belongs to (their rules still apply). */
  private placeInGroups(m: Member, server: ServerRecord): Placement {
    let cluster = this.state.cluster
    const instance: NamedInstance = { ...specOf(m.demand), name: m.id, groups: server.groups }
    const mask = this.candidates([m], [])
    if (typeof mask === "string") return { ok: false, reason: mask }
    const search = mask === undefined ? cluster : this.masked(cluster, mask)
    const found = placeGang(search, { instances: [instance], policy: this.weigher })
    if (Result.isFailure(found)) {
      const f = found.failure
      return { ok: false, reason: f._tag === "NoValidHost" ? f.reason : f._tag }
    }
    const p = found.success.placements[0]!
    cluster = expect(createServer(cluster, { ...instance, uuid: m.id },
      { host: p.host, assignment: p.assignment }), "createServer").state
    const devices = this.claimDevices(this.state.pci, this.state.pmem, m, p.host)
    if (typeof devices === "string") {
      this.forget(m.id)
      return { ok: false, reason: devices }
    }
    this.state = { cluster, ...devices }
    this.account(m, 1)
    return { ok: true, hosts: [p.hostIndex] }
  }

  setHostStatus(host: number, status: "up" | "down" | "maintenance"): void {
    const h = this.hosts[host]!
    if (h.status === status) return
    this.hosts[host] = { ...h, status }
    const cluster = this.state.cluster
    this.state = { ...this.state, cluster: { ...cluster,
      inventory: { hosts: this.hosts.slice(), hostIndex: this.inventory.hostIndex } } }
  }

  totals(): ReadonlyMap<string, ResourceTotal> {
    const out = new Map<string, ResourceTotal>()
    for (const [k, capacity] of this.capacity) out.set(k, { used: this.used.get(k) ?? 0, capacity })
    return out
  }

  hostsInUse(): number {
    let n = 0
    for (const u of this.state.cluster.usage) if (u.instanceCount > 0) n++
    return n
  }

  free(host: number): { vcpus: number; ramMb: number } {
    const h = this.inventory.hosts[host]!
    const u = this.state.cluster.usage[host]!
    return { vcpus: h.vcpuCapacity - u.vcpusUsed, ramMb: h.ramCapacityMb - u.ramMbUsed }
  }

  *holdings(): Iterable<Holding> {
    const { cluster, pci, pmem } = this.state
    for (const s of HashMap.values(cluster.servers)) {
      const ids = serverPciDevices(pci, s.uuid)["os-pci:pci_devices"]
      const pciAddresses = ids.map(({ id }) => {
        const shown = pciShow(pci, id)
        if (Result.isFailure(shown)) throw new Error(`server ${s.uuid} holds unknown device ${id}`)
        return shown.success.pci_device.address
      })
      const volumes = serverPmemOf(pmem, s.uuid)?.volumes ?? []
      yield { id: s.uuid, host: s.hostIndex, vcpus: s.vcpus, ramMb: s.ramMb,
        diskMb: s.disks.reduce((t, d) => t + d.sizeMb, 0), pciAddresses,
        pmemExtents: volumes.map((v) => ({ device: v.device, offsetMb: v.offsetMb, sizeMb: v.extentMb })),
        groups: s.groups }
    }
  }

  /** The hard rules of a group as the core records them, for the checker. */
  groupRecord(id: string): { rule: string; scope: string; maxPerDomain: number } | undefined {
    return findGroup(this.state.cluster, id)
  }
}

function specOf(d: VmDemand): Omit<NamedInstance, "name" | "groups"> {
  return { kind: "server", vcpus: d.vcpus, ramMb: d.ramMb,
    disks: d.diskMb === 0 ? [] : [{ sizeMb: d.diskMb, ...(d.diskPool === undefined ? {} : { pool: d.diskPool }) }] }
}

function demandOf(s: ServerRecord): VmDemand {
  return { vcpus: s.vcpus, ramMb: s.ramMb, diskMb: s.disks.reduce((t, d) => t + d.sizeMb, 0),
    diskPool: s.disks[0]?.pool, pci: [], pmem: [] }
}

/** The core's PCI request for an alias: one alternative with vendor, product, type and tags. */
export function pciRequestOf(a: PciDemand): PciRequest {
  const spec: Record<string, string> = { vendor_id: a.vendorId, product_id: a.productId, ...a.tags }
  if (a.devType !== undefined) spec["dev_type"] = a.devType
  return { count: a.count, spec: [spec], alias: a.alias }
}

function expect<A, E extends { message: string }>(r: Result.Result<A, E>, what: string): A {
  if (Result.isFailure(r)) throw new Error(`simulator defect: ${what} refused: ${r.failure.message}`)
  return r.success
}
