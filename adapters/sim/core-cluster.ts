/**
 * The `SimCluster` port over the real core: `core/placement` chooses hosts (resource, PCI, pmem
 * and rule filters, pack/spread weighers, gang search), `core/cluster` commits vCPU/RAM/disk/
 * NUMA, groups, PCI claims (`corral/pci`) and pmem volumes (`corral/pmem`) in one immutable
 * state. An operation computes the next state and swaps it in only when every step succeeded,
 * so a failed operation changes nothing. A host status change is `withHostStatus` (the core
 * rewrites that host in its scan arrays instead of rebuilding them for every host).
 */
import { Result } from "effect"
import type { Inventory } from "../../core/inventory/inventory.ts"
import {
  type ClusterState, createCluster, deleteGroup, deleteServer, type DiskRequest, findGroup,
  findServer, type GroupCreate, type ServerCreate, serverRecords, usageAt, withHostStatus,
} from "../../core/cluster/index.ts"
import { schedule } from "../../core/placement/schedule.ts"
import { preparePlacement } from "../../core/placement/fast.ts"
import { pciFreeByHost, type PciRequest, pciShow } from "../../core/pci/index.ts"
import { type PmemVolumeRequest, serverPmemOf } from "../../core/pmem/index.ts"
import type {
  GroupDemand, Holding, Member, PciDemand, Placement, ResourceTotal, SimCluster, VmDemand,
} from "./port.ts"

/** Weigher policy of the solver. */
export type Weigher = "pack" | "spread"

/** What every VM of one demand asks the core for (built once per demand, shared by its VMs). */
interface Template {
  readonly vcpus: number
  readonly ramMb: number
  readonly disks: ReadonlyArray<DiskRequest>
  readonly pci: ReadonlyArray<PciRequest> | undefined
  readonly pmem: ReadonlyArray<PmemVolumeRequest> | undefined
}

const noGroups: ReadonlyArray<string> = []

/** Cells of a host row in `CoreCluster.hostRows` (8 doubles: one 64-byte line). */
const row = {
  vcpuCapacity: 0, ramCapacityMb: 1, freeVcpus: 2, freeRamMb: 3, diskUsedMb: 4, instances: 5,
} as const
const rowCells = 8

/** The real core behind the simulator's cluster port. */
export class CoreCluster implements SimCluster {
  readonly hostCount: number
  private state: ClusterState
  /**
   * Fleet totals in use: vCPUs, RAM and disk summed from the per-host mirror (so a VM costs no
   * bookkeeping of its own), PCI aliases and pmem devices by name from the VMs that hold them.
   */
  private vcpusUsed = 0
  private ramMbUsed = 0
  private diskMbUsed = 0
  private readonly devicesUsed = new Map<string, number>()
  private readonly capacity = new Map<string, number>()
  private readonly pciRequests = new Map<string, PciRequest>()
  /** Per demand (the engine passes one object per mix entry): what its VMs ask the core for. */
  private readonly templates = new WeakMap<VmDemand, Template>()
  /**
   * Per host, one row of `rowCells` numbers (`row`): what it offers (read here rather than from
   * the host records) and, mirrored from the state after each change, its free vCPUs and RAM,
   * disk used and VMs. One row per host rather than one array per column: a placement or release
   * on a random host of 10,000 then touches one cache line here instead of six.
   */
  private readonly hostRows: Float64Array
  private hostsUsed = 0

  constructor(inventory: Inventory, private readonly weigher: Weigher,
    aliases: ReadonlyArray<PciDemand>) {
    this.hostCount = inventory.hosts.length
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
    for (const k of this.capacity.keys()) if (k.includes(":")) this.devicesUsed.set(k, 0)
    this.hostRows = new Float64Array(rowCells * this.hostCount)
    for (const h of inventory.hosts) {
      const at = rowCells * h.index
      this.hostRows[at + row.vcpuCapacity] = h.vcpuCapacity
      this.hostRows[at + row.ramCapacityMb] = h.ramCapacityMb
      this.hostRows[at + row.freeVcpus] = h.vcpuCapacity
      this.hostRows[at + row.freeRamMb] = h.ramCapacityMb
    }
    // The host index and the aliases' device columns, built now rather than by the first
    // placement and the first request of each alias.
    preparePlacement(this.state, { pci: [...this.pciRequests.values()].map((r) => r.spec) })
  }

  /** Copies one host's usage from the state into its row and the totals (O(1)). */
  private mirror(host: number): void {
    const u = usageAt(this.state, host)
    const rows = this.hostRows
    const at = rowCells * host
    const freeVcpus = rows[at + row.vcpuCapacity]! - u.vcpusUsed
    const freeRamMb = rows[at + row.ramCapacityMb]! - u.ramMbUsed
    let diskMb = 0
    const disks = u.diskUsedMb
    for (let p = 0; p < disks.length; p++) diskMb += disks[p]!
    this.vcpusUsed += rows[at + row.freeVcpus]! - freeVcpus
    this.ramMbUsed += rows[at + row.freeRamMb]! - freeRamMb
    this.diskMbUsed += diskMb - rows[at + row.diskUsedMb]!
    rows[at + row.freeVcpus] = freeVcpus
    rows[at + row.freeRamMb] = freeRamMb
    rows[at + row.diskUsedMb] = diskMb
    const before = rows[at + row.instances]!
    rows[at + row.instances] = u.instanceCount
    this.hostsUsed += (u.instanceCount > 0 ? 1 : 0) - (before > 0 ? 1 : 0)
  }

  private add(m: Map<string, number>, key: string, n: number): void {
    m.set(key, (m.get(key) ?? 0) + n)
  }

  private templateOf(d: VmDemand): Template {
    const known = this.templates.get(d)
    if (known !== undefined) return known
    const t: Template = {
      vcpus: d.vcpus, ramMb: d.ramMb,
      disks: d.diskMb === 0 ? [] : [d.diskPool === undefined ? { sizeMb: d.diskMb }
        : { sizeMb: d.diskMb, pool: d.diskPool }],
      pci: d.pci.length === 0 ? undefined
        : d.pci.map((p) => ({ ...this.pciRequests.get(p.alias)!, count: p.count })),
      pmem: d.pmem.length === 0 ? undefined
        : d.pmem.map((v, i) => ({ name: `v${i}`, sizeMb: v.sizeMb, affinity: false,
          device: v.device })),
    }
    this.templates.set(d, t)
    return t
  }

  /** The core's request for one VM: one object shape for every VM. */
  private serverOf(uuid: string, t: Template, groups: ReadonlyArray<string>): ServerCreate {
    return { kind: "server", uuid, vcpus: t.vcpus, ramMb: t.ramMb, disks: t.disks, groups,
      pci: t.pci, pmem: t.pmem }
  }

  place(members: ReadonlyArray<Member>, group: GroupDemand | undefined): Placement {
    let groups: GroupCreate[] | undefined
    let ids = noGroups
    if (group !== undefined && group.rules.length > 0) {
      groups = group.rules.map((r, k) => ({
        id: `${group.id}/${k}`,
        rule: r.hard ? r.kind : r.kind === "affinity" ? "soft-affinity" : "soft-anti-affinity",
        scope: r.scope,
        ...(r.maxPerHost === undefined || r.kind === "affinity" ? {}
          : { maxPerDomain: r.maxPerHost }),
      }))
      ids = groups.map((g) => g.id)
    }
    const servers = new Array<ServerCreate>(members.length)
    for (let k = 0; k < members.length; k++) {
      servers[k] = this.serverOf(members[k]!.id, this.templateOf(members[k]!.demand), ids)
    }
    const placed = schedule(this.state, groups === undefined
      ? { servers, policy: this.weigher } : { servers, groups, policy: this.weigher })
    if (Result.isFailure(placed)) {
      const f = placed.failure
      return { ok: false, reason: f._tag === "NoValidHost" ? f.reason : f._tag }
    }
    this.state = placed.success.state
    const placedServers = placed.success.servers
    const hosts = new Array<number>(placedServers.length)
    for (let k = 0; k < placedServers.length; k++) {
      const host = placedServers[k]!.hostIndex
      hosts[k] = host
      this.mirror(host)
      this.accountDevices(servers[k]!.pci, servers[k]!.pmem, 1)
    }
    return { ok: true, hosts }
  }

  /** Adds (or with -1 takes off) a VM's PCI devices and pmem volumes to the fleet totals. */
  private accountDevices(pci: ReadonlyArray<PciRequest> | undefined,
    pmem: ReadonlyArray<PmemVolumeRequest> | undefined, sign: 1 | -1): void {
    if (pci !== undefined) {
      for (const p of pci) this.add(this.devicesUsed, `pci:${p.alias}`, sign * p.count)
    }
    if (pmem !== undefined) {
      for (const v of pmem) this.add(this.devicesUsed, `pmem:${v.device}`, sign * v.sizeMb)
    }
  }

  release(id: string): void {
    const deleted = deleteServer(this.state, id)
    if (Result.isFailure(deleted)) throw new Error(`release of ${id}, which holds nothing`)
    const server = deleted.success.server
    let cluster = deleted.success.state
    for (const g of server.groups) {
      if (findGroup(cluster, g)?.members.length === 0) {
        cluster = expect(deleteGroup(cluster, g), "deleteGroup")
      }
    }
    this.state = cluster
    this.mirror(server.hostIndex)
    this.accountDevices(server.pci, server.pmem, -1)
  }

  migrate(id: string): Placement {
    const server = findServer(this.state, id)
    if (server === undefined) throw new Error(`migrate of ${id}, which holds nothing`)
    const cluster = expect(deleteServer(this.state, id), "deleteServer").state
    const request: ServerCreate = { kind: "server", uuid: id, vcpus: server.vcpus,
      ramMb: server.ramMb, disks: server.disks, groups: server.groups, pci: server.pci,
      pmem: server.pmem }
    const placed = schedule(cluster, { servers: [request], policy: this.weigher })
    if (Result.isFailure(placed)) {
      const f = placed.failure
      return { ok: false, reason: f._tag === "NoValidHost" ? f.reason : f._tag }
    }
    const to = placed.success.servers[0]!.hostIndex
    this.state = placed.success.state
    this.mirror(server.hostIndex)
    this.mirror(to)
    return { ok: true, hosts: [to] }
  }

  setHostStatus(host: number, status: "up" | "down" | "maintenance"): void {
    this.state = withHostStatus(this.state, host, status)
  }

  totals(): ReadonlyMap<string, ResourceTotal> {
    const out = new Map<string, ResourceTotal>()
    for (const [k, capacity] of this.capacity) {
      const used = k === "vcpus" ? this.vcpusUsed : k === "ramMb" ? this.ramMbUsed
        : k === "diskMb" ? this.diskMbUsed : this.devicesUsed.get(k) ?? 0
      out.set(k, { used, capacity })
    }
    return out
  }

  hostsInUse(): number {
    return this.hostsUsed
  }

  free(host: number): { vcpus: number; ramMb: number } {
    const at = rowCells * host
    return { vcpus: this.hostRows[at + row.freeVcpus]!, ramMb: this.hostRows[at + row.freeRamMb]! }
  }

  holdings(): Iterable<Holding> {
    const { pci, pmem } = this.state
    const out: Holding[] = []
    for (const s of serverRecords(this.state)) {
      let pciAddresses: ReadonlyArray<string> = none
      if (s.pciDevices.length > 0) {
        pciAddresses = s.pciDevices.map((id) => {
          const shown = pciShow(pci, id)
          if (Result.isFailure(shown)) throw new Error(`${s.uuid} holds unknown device ${id}`)
          return shown.success.pci_device.address
        })
      }
      let pmemExtents: Holding["pmemExtents"] = none
      if (s.pmemVolumes.length > 0) {
        pmemExtents = (serverPmemOf(pmem, s.uuid)?.volumes ?? []).map((v) =>
          ({ device: v.device, offsetMb: v.offsetMb, sizeMb: v.extentMb }))
      }
      let diskMb = 0
      for (const d of s.disks) diskMb += d.sizeMb
      out.push({ id: s.uuid, host: s.hostIndex, vcpus: s.vcpus, ramMb: s.ramMb, diskMb,
        pciAddresses, pmemExtents, groups: s.groups })
    }
    return out
  }
}

const none: ReadonlyArray<never> = []

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
