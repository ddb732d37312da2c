/**
 * Request builders for placement, cluster and vcluster tests:
 * `server("a").cpus(2).ram(1024).groups("g")`, `volume("v", 10240)`, and `clusterOf(...hosts)`.
 */
import { Result } from "effect"
import { type ClusterState, createCluster, createGroup, type DiskRequest, type GroupCreate,
  type InstanceSpec, type ServerCreate } from "../core/cluster/index.ts"
import type { DiskPoolKind } from "../core/model/inventory.ts"
import { schedule } from "../core/placement/index.ts"
import { host, type HostBuilder, inventoryOf } from "./builders.ts"

export class ServerBuilder {
  private spec: { -readonly [K in keyof ServerCreate]: ServerCreate[K] }
  constructor(uuid: string, kind: "server" | "volume" = "server") {
    this.spec = { uuid, kind, vcpus: kind === "server" ? 1 : 0,
      ramMb: kind === "server" ? 1024 : 0, disks: [], groups: [] }
  }
  cpus(vcpus: number): this { this.spec.vcpus = vcpus; return this }
  ram(ramMb: number): this { this.spec.ramMb = ramMb; return this }
  disk(sizeMb: number, where: Omit<DiskRequest, "sizeMb"> = {}): this {
    this.spec.disks = [...this.spec.disks, { sizeMb, ...where }]
    return this
  }
  numa(cells: number): this { this.spec.numaCells = cells; return this }
  groups(...ids: string[]): this { this.spec.groups = ids; return this }
  zone(zone: string): this { this.spec.zone = zone; return this }
  pmemDevice(name: string): this { this.spec.pmemDevice = name; return this }
  build(): ServerCreate { return { ...this.spec } }
  /** As a named instance for placeGang. */
  instance(): InstanceSpec & { name: string } { return { ...this.spec, name: this.spec.uuid } }
}

/** A server request builder (1 vCPU, 1024 MB, no disks, no groups). */
export const server = (uuid: string): ServerBuilder => new ServerBuilder(uuid)
/** A volume request builder: one disk of `sizeMb`, optionally of a pool kind or name. */
export const volume = (uuid: string, sizeMb: number, where: Omit<DiskRequest, "sizeMb"> = {}) =>
  new ServerBuilder(uuid, "volume").disk(sizeMb, where)

/** An empty cluster over hosts built with test/builders.ts. */
export const clusterOf = (...hosts: HostBuilder[]): ClusterState =>
  createCluster(inventoryOf(...hosts))

/** Adds groups to a cluster; a failure fails the test loudly. */
export function withGroups(state: ClusterState, ...groups: GroupCreate[]): ClusterState {
  let next = state
  for (const g of groups) {
    const r = createGroup(next, g)
    if (Result.isFailure(r)) throw new Error(`bad test group: ${r.failure.message}`)
    next = r.success
  }
  return next
}

/** Schedules servers that must fit; a failure fails the test loudly. */
export function placed(state: ClusterState, ...servers: ServerBuilder[]): ClusterState {
  const r = schedule(state, { servers: servers.map((s) => s.build()) })
  if (Result.isFailure(r)) throw new Error(`test setup did not fit: ${r.failure.message}`)
  return r.success.state
}

/** A server drawn by a property's arbitrary: sizes, group picks, one optional disk, zone, VF. */
export interface ServerDraw {
  readonly cpus: number
  readonly ramGb: number
  readonly groups: ReadonlyArray<number>
  readonly disk: { readonly mb: number; readonly kind: DiskPoolKind | undefined } | null
  readonly zone: number | null
  readonly vf: boolean
}

/** The request of a drawn server, its groups limited to the `groups` that exist (`g0`…). */
export function drawnRequest(uuid: string, d: ServerDraw, groups: number): ServerCreate {
  return {
    uuid, kind: "server", vcpus: d.cpus, ramMb: d.ramGb * 1024,
    groups: d.groups.filter((g) => g < groups).map((g) => `g${g}`),
    disks: d.disk === null ? [] : [{ sizeMb: d.disk.mb,
      ...(d.disk.kind === undefined ? {} : { kind: d.disk.kind }) }],
    ...(d.zone === null ? {} : { zone: `z${d.zone}` }),
    ...(d.vf ? { pci: [{ count: 1, spec: [{ vendor_id: "8086", product_id: "1520" }] }] } : {}),
  }
}

/** A host drawn by a property's arbitrary (host `h${k}`, rack `r…`, zone `z…`). */
export interface HostDraw {
  readonly cpus: number
  readonly cpuRatio?: number
  readonly ramGb: number
  readonly rack: number
  readonly zone: number
  readonly down: boolean
  readonly pool: string
  readonly poolMb: number
  readonly sriov: boolean
  readonly pmem: boolean
}

/** A hard or soft group drawn by a property's arbitrary (group `g${k}`). */
export interface GroupDraw {
  readonly rule: GroupCreate["rule"]
  readonly scope: NonNullable<GroupCreate["scope"]>
  readonly max: number
}

/** The cluster of drawn hosts with the drawn groups (`max` per domain for anti-affinity rules). */
export function drawnCluster(hosts: ReadonlyArray<HostDraw>, groups: ReadonlyArray<GroupDraw>)
  : ClusterState {
  const state = clusterOf(...hosts.map((h, k) => {
    let b = host(`h${k}`).cpus(h.cpus).ram(h.ramGb * 1024).rack(`r${h.rack}`).zone(`z${h.zone}`)
    if (h.cpuRatio !== undefined) b = b.ratios(h.cpuRatio, 1)
    if (h.down) b = b.status("down")
    if (h.pool !== "none") b = b.diskPool(h.pool, h.poolMb)
    if (h.sriov) b = b.sriov(4, 2)
    if (h.pmem) b = b.pmem("NVDIMM0", 1024)
    return b
  }))
  return withGroups(state, ...groups.map((g, k) => ({ id: `g${k}`, rule: g.rule,
    scope: g.scope, ...(g.rule.endsWith("anti-affinity") ? { maxPerDomain: g.max } : {}) })))
}
