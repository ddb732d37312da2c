/**
 * Servers and hypervisors: `POST /v2/{tenant_id}/servers` with a flavor, `GET`/`DELETE
 * /v2/{tenant_id}/servers/{server_id}`, `GET /v2/{tenant_id}/servers`, and the admin-only
 * `GET /v2/{tenant_id}/os-hypervisors[/{hypervisor_hostname}]`.
 *
 * Placement is the solver's (`schedule` from core/placement, default policy): it filters by
 * status, zone, capacity, NUMA, PCI and pmem device, weighs, and the cluster core commits. A
 * rejection is its NoValidHost (409). The server's id is the journalled id.
 */
import { Result, Schema } from "effect"
import { createServer, deleteServer, findServer, usageAt } from "../../../core/cluster/state.ts"
import { freeRamMbOf, freeVcpusOf } from "../../../core/cluster/scan.ts"
import { schedule } from "../../../core/placement/index.ts"
import type { ClusterState, ServerCreate, ServerRecord } from "../../../core/cluster/types.ts"
import { decode } from "../../../core/decode.ts"
import {
  type BadRequest, type CorralError, Conflict, err, invalid, NotFound, ok, type Outcome,
} from "../../../core/errors.ts"
import type { Host } from "../../../core/inventory/inventory.ts"
import { decodePciRequests } from "../../../core/pci/index.ts"
import { releaseServer } from "../../../core/pmem/index.ts"
import type { Flavor } from "../../../core/scenario/schema.ts"
import type { Applied, Engine, OpError, Operations } from "../engine.ts"
import type { JournalEntry } from "../journal.ts"
import type { CachedRead } from "../read-cache.ts"
import { renderedOf } from "../rendered.ts"
import type { RouteGroup } from "../server.ts"
import { type ServerMeta, withEntry, withoutEntry, type World } from "../world.ts"
import {
  adminScope, paramsOf, sendRead, serveRead, submit, tenantRefusal, tenantScope, visibleServer,
} from "./common.ts"

/** Most servers one tenant may list in one response. */
export const serverListMax = 10_000

const Name = Schema.String.check(
  Schema.isPattern(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, {
    message: "a name of 1-63 letters, digits, '_', '.' or '-'",
  }),
)

/** `POST /v2/{tenant_id}/servers` body (Nova's names; unknown fields are refused). */
export const CreateServerBody = Schema.Struct({
  server: Schema.Struct({
    name: Name,
    flavorRef: Schema.String,
    imageRef: Schema.optionalKey(Schema.String),
    availability_zone: Schema.optionalKey(Schema.String),
    /** PCI requests (the PCI core's wire shape): `[{"alias": "a100", "count": 1}]`. */
    pci_requests: Schema.optionalKey(Schema.Unknown),
    /** Place on a host that has a pmem device of this name (`DRAM`, `NVDIMM0`…). */
    "os-pmem:device": Schema.optionalKey(Schema.String.check(Schema.isBetweenLength(1, 64))),
  }),
})

/** Extra fields other route groups add to the server view (PCI devices, pmem volumes). */
export type ServerExtras = (world: World, meta: ServerMeta) => Record<string, unknown>

function flavorOf(world: World, ref: string): Outcome<Flavor, CorralError> {
  const flavor = Object.hasOwn(world.offer.flavors, ref) ? world.offer.flavors[ref] : undefined
  return flavor === undefined
    ? err(invalid("server.flavorRef",
      `one of the flavors (${Object.keys(world.offer.flavors).join(", ")})`))
    : ok(flavor)
}

function createOp(world: World, e: JournalEntry): Outcome<Applied<World>, OpError> {
  const decoded = decode(CreateServerBody, e.body)
  if (Result.isFailure(decoded)) return err(decoded.failure)
  const s = decoded.success.server
  const flavor = flavorOf(world, s.flavorRef)
  if (Result.isFailure(flavor)) return err(flavor.failure)
  const pciRequests = s.pci_requests === undefined ? ok([]) : decodePciRequests(s.pci_requests,
    world.offer.pciAliasTable, { pathPrefix: "server.pci_requests" })
  if (Result.isFailure(pciRequests)) return err(pciRequests.failure)
  const zone = s.availability_zone
  const device = s["os-pmem:device"]
  const target = checkTarget(world, zone, device)
  if (target !== null) return err(target)
  const id = e.ids[0]!
  const f = flavor.success
  const request: ServerCreate = {
    kind: "server", uuid: id, tenant: e.tenant, flavor: s.flavorRef,
    vcpus: f.vcpus, ramMb: f.ramMb, groups: [],
    disks: f.diskGb === 0 ? [] : [{ sizeMb: f.diskGb * 1024,
      ...(f.diskPool === undefined ? {} : { pool: f.diskPool }) }],
    ...(pciRequests.success.length === 0 ? {} : { pci: pciRequests.success }),
    ...(zone === undefined ? {} : { zone }),
    ...(device === undefined ? {} : { pmemDevice: device }),
  }
  // A replayed create goes where it went when it was accepted, whatever today's solver prefers.
  const recorded = e.decided?.["host"]
  const placed: Outcome<{ state: ClusterState; server: ServerRecord }, OpError> =
    recorded === undefined
      ? Result.map(schedule(world.cluster, { servers: [request] }),
        (r) => ({ state: r.state, server: r.servers[0]! }))
      : createServer(world.cluster, request, recorded)
  if (Result.isFailure(placed)) return err(placed.failure)
  const host = placed.success.server.host
  const meta: ServerMeta = { id, name: s.name, tenant: e.tenant, flavor: s.flavorRef,
    createdAtMs: e.atMs }
  return ok({
    world: { ...world, cluster: placed.success.state, servers: withEntry(world.servers, id, meta) },
    reply: { status: 202, body: { server: { id, links: [] } } },
    decided: { host },
  })
}

/**
 * A zone the fleet does not have, or a pmem device no host (of the zone) has, is the caller's
 * mistake in a field of the body (400 naming it), not a lack of capacity (409).
 */
function checkTarget(world: World, zone: string | undefined, device: string | undefined)
  : BadRequest | null {
  const zones = world.cluster.topology.zoneNames
  if (zone !== undefined && !zones.includes(zone)) {
    return invalid("server.availability_zone", `one of the zones (${zones.join(", ")})`)
  }
  if (device === undefined) return null
  const found = world.cluster.inventory.hosts.some((h) =>
    (zone === undefined || h.zone === zone) && h.pmemDevices.some((d) => d.name === device))
  return found ? null : invalid("server.os-pmem:device", zone === undefined
    ? "a pmem device some host has" : `a pmem device some host of zone ${zone} has`)
}

function deleteOp(world: World, e: JournalEntry): Outcome<Applied<World>, CorralError> {
  const id = e.params["server_id"] ?? ""
  const meta = visibleServer(world, e.tenant, id)
  if (Result.isFailure(meta)) return err(meta.failure)
  const inUse = Object.values(world.replication.replicas).find((r) => r.vmUuid === id)
  if (inUse !== undefined) {
    return err(new Conflict({ message: `server ${id} has replica ${inUse.name}; delete it first` }))
  }
  const removed = deleteServer(world.cluster, id)
  if (Result.isFailure(removed)) return err(removed.failure)
  // Volumes added later by the pmem action are the server's too: they go with it.
  const cluster = removed.success.state
  const pmem = releaseServer(cluster.pmem, id).state
  return ok({
    world: { ...world, cluster: pmem === cluster.pmem ? cluster : { ...cluster, pmem },
      servers: withoutEntry(world.servers, id) },
    reply: { status: 204 },
  })
}

/** The journalled operations of this group. */
export const serverOperations: Operations<World> = {
  "server.create": createOp,
  "server.delete": deleteOp,
}

/** The server view: Nova's fields plus what `extras` add. */
export function serverView(world: World, meta: ServerMeta, extras: ReadonlyArray<ServerExtras>,
  admin: boolean): Record<string, unknown> {
  const record = findServer(world.cluster, meta.id)
  if (record === undefined) throw new Error(`server ${meta.id} has no cluster record`)
  const view: Record<string, unknown> = {
    id: meta.id, name: meta.name, tenant_id: meta.tenant, user_id: meta.tenant,
    status: "ACTIVE", flavor: { id: meta.flavor },
    created: new Date(meta.createdAtMs).toISOString(),
  }
  if (admin) view["OS-EXT-SRV-ATTR:host"] = record.host
  for (const extra of extras) Object.assign(view, extra(world, meta))
  return view
}

/** The hypervisor view (`pci_stats` and others come from `extras`). */
export function hypervisorView(world: World, host: Host,
  extras: ReadonlyArray<(world: World, host: Host) => Record<string, unknown>>)
  : Record<string, unknown> {
  const usage = usageAt(world.cluster, host.index)
  const view: Record<string, unknown> = {
    id: host.index + 1, hypervisor_hostname: host.name,
    state: host.status === "down" ? "down" : "up",
    status: host.status === "up" ? "enabled" : "disabled", vcpus: host.vcpuCapacity,
    vcpus_used: usage.vcpusUsed, memory_mb: host.ramCapacityMb, memory_mb_used: usage.ramMbUsed,
    free_ram_mb: freeRamMbOf(host, usage), free_vcpus: freeVcpusOf(host, usage),
    running_vms: usage.instanceCount, zone: host.zone, rack: host.rack,
  }
  for (const extra of extras) Object.assign(view, extra(world, host))
  return view
}

/**
 * A tenant's server list (ids and names), rendered once per (servers map, tenant): every create
 * or delete makes a new map.
 */
function serverListRead(engine: Engine<World>, tenant: string): CachedRead {
  const key = `servers:${tenant}`
  return {
    refusal: (principal) => tenantRefusal(principal, tenant),
    rendering: () => {
      const all = engine.world().servers
      return renderedOf(all, key, () => ok({ servers: [...all.values()]
        .filter((s) => s.tenant === tenant).slice(0, serverListMax)
        .map((s) => ({ id: s.id, name: s.name })) }))
    },
  }
}

/** Route group for servers and hypervisors; `extras` extend the views. */
export function serverRoutes(
  serverExtras: ReadonlyArray<ServerExtras>,
  hypervisorExtras: ReadonlyArray<(world: World, host: Host) => Record<string, unknown>>,
): RouteGroup<World> {
  return ({ app, engine, readCache }) => {
    app.post("/v2/:tenant_id/servers", async (request, reply) => {
      const p = tenantScope(request, reply)
      if (p === null) return reply
      const tenant = paramsOf(request)["tenant_id"]!
      return submit(engine, reply, { op: "server.create", tenant, params: {}, body: request.body,
        idsCount: 1 })
    })
    app.get("/v2/:tenant_id/servers", (request, reply) => {
      serveRead(request, reply, serverListRead(engine, paramsOf(request)["tenant_id"]!),
        readCache)
    })
    app.get("/v2/:tenant_id/servers/:server_id", async (request, reply) => {
      const p = tenantScope(request, reply)
      if (p === null) return reply
      const { tenant_id, server_id } = paramsOf(request)
      const world = engine.world()
      const meta = visibleServer(world, tenant_id!, server_id!)
      return sendRead(reply, Result.map(meta, (m) =>
        ({ server: serverView(world, m, serverExtras, p.role === "admin") })))
    })
    app.delete("/v2/:tenant_id/servers/:server_id", async (request, reply) => {
      if (tenantScope(request, reply) === null) return reply
      const params = paramsOf(request)
      return submit(engine, reply, { op: "server.delete", tenant: params["tenant_id"]!,
        params: { server_id: params["server_id"]! }, body: null })
    })
    app.get("/v2/:tenant_id/os-hypervisors", async (request, reply) => {
      if (adminScope(request, reply) === null) return reply
      const hosts = engine.world().cluster.inventory.hosts
      return sendRead(reply, ok({ hypervisors: hosts.map((h) =>
        ({ id: h.index + 1, hypervisor_hostname: h.name, state: h.status === "down" ? "down" : "up",
          status: h.status === "up" ? "enabled" : "disabled" })) }))
    })
    app.get("/v2/:tenant_id/os-hypervisors/:hypervisor_hostname", async (request, reply) => {
      if (adminScope(request, reply) === null) return reply
      const name = paramsOf(request)["hypervisor_hostname"]!
      const world = engine.world()
      const index = world.cluster.inventory.hostIndex.get(name) ??
        (/^\d+$/.test(name) ? Number(name) - 1 : undefined)
      const host = index === undefined ? undefined : world.cluster.inventory.hosts[index]
      if (host === undefined) {
        return sendRead(reply, err(new NotFound({ resource: "Hypervisor", id: name })))
      }
      return sendRead(reply, ok({ hypervisor: hypervisorView(world, host, hypervisorExtras) }))
    })
  }
}
