/**
 * The `SimCluster` port over the real core: `core/placement` chooses hosts (resource, PCI, pmem
 * and rule filters, pack/spread weighers, gang search), `core/cluster` commits vCPU/RAM/disk/
 * NUMA, groups, PCI claims (`corral/pci`) and pmem volumes (`corral/pmem`) in one immutable
 * state. An operation computes the next state and swaps it in only when every step succeeded,
 * so a failed operation changes nothing.
 *
 * Workaround (the core has no API for it yet): host status lives in the immutable inventory; a
 * status change builds a cluster state whose inventory carries the new status and hands it the
 * scan arrays with that one host rewritten (`updateScanHost`, as the core's own operations do),
 * so the core does not rebuild them for every host (~85 ms at 10,000 hosts).
 */
import { HashMap, Result } from "effect"
import type { Host, Inventory } from "../../core/inventory/inventory.ts"
import {
  type ClusterState, createCluster, createGroup, createServer, deleteGroup, deleteServer,
  findGroup, findServer, type GroupCreate, scanOf, type ServerRecord, usageAt,
} from "../../core/cluster/index.ts"
import { updateScanHost } from "../../core/cluster/scan.ts"
import { placeGang } from "../../core/placement/gang.ts"
import type { NamedInstance } from "../../core/placement/view.ts"
import { pciFreeByHost, type PciRequest, pciShow } from "../../core/pci/index.ts"
import { serverPmemOf } from "../../core/pmem/index.ts"
import type {
  GroupDemand, Holding, Member, PciDemand, Placement, ResourceTotal, SimCluster, VmDemand,
} from "./port.ts"

/** Weigher policy of the solver. */
export type Weigher = "pack" | "spread"

/** The real core behind the simulator's cluster port. */
export class CoreCluster implements SimCluster {
  readonly hostCount: number
  private state: ClusterState
  private readonly hosts: Host[]
  private readonly used = new Map<string, number>()
  private readonly capacity = new Map<string, number>()
  private readonly demandOf = new Map<string, VmDemand>()
  private readonly pciRequests = new Map<string, PciRequest>()
  /** Per host, mirrored from the state after each change: free vCPUs, free RAM, instances. */
  private readonly freeVcpus: Float64Array
  private readonly freeRamMb: Float64Array
  private readonly instances: Int32Array
  private hostsUsed = 0

  constructor(private readonly inventory: Inventory, private readonly weigher: Weigher,
    aliases: ReadonlyArray<PciDemand>) {
    this.hostCount = inventory.hosts.length
    this.hosts = inventory.hosts.slice()
    this.state = createCluster(inventory)
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
    this.freeVcpus = Float64Array.from(inventory.hosts, (h) => h.vcpuCapacity)
    this.freeRamMb = Float64Array.from(inventory.hosts, (h) => h.ramCapacityMb)
    this.instances = new Int32Array(this.hostCount)
  }

  /** Copies one host's usage from the state into the per-host arrays (O(1)). */
  private mirror(host: number): void {
    const h = this.inventory.hosts[host]!
    const u = usageAt(this.state, host)
    this.freeVcpus[host] = h.vcpuCapacity - u.vcpusUsed
    this.freeRamMb[host] = h.ramCapacityMb - u.ramMbUsed
    const before = this.instances[host]!
    this.instances[host] = u.instanceCount
    this.hostsUsed += (u.instanceCount > 0 ? 1 : 0) - (before > 0 ? 1 : 0)
  }

  private add(m: Map<string, number>, key: string, n: number): void {
    m.set(key, (m.get(key) ?? 0) + n)
  }

  private instanceOf(m: Member, groups: ReadonlyArray<string>): NamedInstance {
    const d = m.demand
    return {
      kind: "server", name: m.id, vcpus: d.vcpus, ramMb: d.ramMb, groups,
      disks: d.diskMb === 0 ? [] : [{ sizeMb: d.diskMb, ...(d.diskPool === undefined ? {}
        : { pool: d.diskPool }) }],
      ...(d.pci.length === 0 ? {} : { pci: d.pci.map((p) => ({ ...this.pciRequests.get(p.alias)!,
        count: p.count })) }),
      ...(d.pmem.length === 0 ? {} : { pmem: d.pmem.map((v, i) => ({ name: `v${i}`,
        sizeMb: v.sizeMb, affinity: false, device: v.device })) }),
    }
  }

  place(members: ReadonlyArray<Member>, group: GroupDemand | undefined): Placement {
    const groups: GroupCreate[] = (group?.rules ?? []).map((r, k) => ({
      id: `${group!.id}/${k}`,
      rule: r.hard ? r.kind : r.kind === "affinity" ? "soft-affinity" : "soft-anti-affinity",
      scope: r.scope,
      ...(r.maxPerHost === undefined || r.kind === "affinity" ? {}
        : { maxPerDomain: r.maxPerHost }),
    }))
    const instances = members.map((m) => this.instanceOf(m, groups.map((g) => g.id)))
    return this.commit(members, instances, groups)
  }

  private commit(members: ReadonlyArray<Member>, instances: ReadonlyArray<NamedInstance>,
    groups: ReadonlyArray<GroupCreate>): Placement {
    let cluster = this.state
    const found = placeGang(cluster, { instances, groups, policy: this.weigher })
    if (Result.isFailure(found)) {
      const f = found.failure
      return { ok: false, reason: f._tag === "NoValidHost" ? f.reason : f._tag }
    }
    for (const g of groups) cluster = expect(createGroup(cluster, g), "createGroup")
    const hosts: number[] = []
    for (const [k, p] of found.success.placements.entries()) {
      const created = createServer(cluster, { ...instances[k]!, uuid: members[k]!.id },
        { host: p.host, assignment: p.assignment })
      cluster = expect(created, "createServer").state
      hosts.push(p.hostIndex)
    }
    this.state = cluster
    for (const h of hosts) this.mirror(h)
    for (const m of members) {
      this.demandOf.set(m.id, m.demand)
      this.account(m.demand, 1)
    }
    return { ok: true, hosts }
  }

  private account(d: VmDemand, sign: 1 | -1): void {
    this.add(this.used, "vcpus", sign * d.vcpus)
    this.add(this.used, "ramMb", sign * d.ramMb)
    this.add(this.used, "diskMb", sign * d.diskMb)
    for (const p of d.pci) this.add(this.used, `pci:${p.alias}`, sign * p.count)
    for (const v of d.pmem) this.add(this.used, `pmem:${v.device}`, sign * v.sizeMb)
  }

  release(id: string): void {
    const server = findServer(this.state, id)
    const demand = this.demandOf.get(id)
    if (server === undefined || demand === undefined) {
      throw new Error(`release of ${id}, which holds nothing`)
    }
    this.state = this.without(this.state, server)
    this.mirror(server.hostIndex)
    this.account(demand, -1)
    this.demandOf.delete(id)
  }

  private without(state: ClusterState, server: ServerRecord): ClusterState {
    let cluster = expect(deleteServer(state, server.uuid), "deleteServer").state
    for (const g of server.groups) {
      if (findGroup(cluster, g)?.members.length === 0) {
        cluster = expect(deleteGroup(cluster, g), "deleteGroup")
      }
    }
    return cluster
  }

  migrate(id: string): Placement {
    const server = findServer(this.state, id)
    const demand = this.demandOf.get(id)
    if (server === undefined || demand === undefined) {
      throw new Error(`migrate of ${id}, which holds nothing`)
    }
    const before = this.state
    const member = { id, demand }
    let cluster = expect(deleteServer(before, id), "deleteServer").state
    const instance = this.instanceOf(member, server.groups)
    const found = placeGang(cluster, { instances: [instance], policy: this.weigher })
    if (Result.isFailure(found)) {
      const f = found.failure
      return { ok: false, reason: f._tag === "NoValidHost" ? f.reason : f._tag }
    }
    const p = found.success.placements[0]!
    cluster = expect(createServer(cluster, { ...instance, uuid: id },
      { host: p.host, assignment: p.assignment }), "createServer").state
    this.state = cluster
    this.mirror(server.hostIndex)
    this.mirror(p.hostIndex)
    return { ok: true, hosts: [p.hostIndex] }
  }

  setHostStatus(host: number, status: "up" | "down" | "maintenance"): void {
    const h = this.hosts[host]!
    if (h.status === status) return
    const changed = { ...h, status }
    this.hosts[host] = changed
    const scan = scanOf(this.state)
    const next: ClusterState = { ...this.state,
      inventory: { hosts: this.hosts.slice(), hostIndex: this.inventory.hostIndex } }
    updateScanHost(scan, changed, usageAt(next, host), next.pci)
    scan.owner = next
    this.state = next
  }

  totals(): ReadonlyMap<string, ResourceTotal> {
    const out = new Map<string, ResourceTotal>()
    for (const [k, capacity] of this.capacity) out.set(k, { used: this.used.get(k) ?? 0, capacity })
    return out
  }

  hostsInUse(): number {
    return this.hostsUsed
  }

  free(host: number): { vcpus: number; ramMb: number } {
    return { vcpus: this.freeVcpus[host]!, ramMb: this.freeRamMb[host]! }
  }

  *holdings(): Iterable<Holding> {
    const { pci, pmem } = this.state
    for (const s of HashMap.values(this.state.servers)) {
      const pciAddresses = s.pciDevices.map((id) => {
        const shown = pciShow(pci, id)
        if (Result.isFailure(shown)) throw new Error(`server ${s.uuid} holds unknown device ${id}`)
        return shown.success.pci_device.address
      })
      const volumes = serverPmemOf(pmem, s.uuid)?.volumes ?? []
      yield { id: s.uuid, host: s.hostIndex, vcpus: s.vcpus, ramMb: s.ramMb,
        diskMb: s.disks.reduce((t, d) => t + d.sizeMb, 0), pciAddresses,
        pmemExtents: volumes.map((v) =>
          ({ device: v.device, offsetMb: v.offsetMb, sizeMb: v.extentMb })),
        groups: s.groups }
    }
  }
}

/** The core's PCI request for an alias: one alternative with vendor, product, type and tags. */
export function pciRequestOf(a: PciDemand): PciRequest {
  const spec: Record<string, string> = { vendor_id: a.vendorId, product_id: a.productId, ...a.tags }
  if (a.devType !== undefined) spec["dev_type"] = a.devType
  return { count: a.count, spec: [spec], alias: a.alias }
}

function expect<A, E extends { message: string }>(r: Result.Result<A, E>, what: string): A {
  if (Result.isFailure(r)) {
    throw new Error(`simulator defect: ${what} refused: ${r.failure.message}`)
  }
  return r.success
}
