/**
 * Virtual clusters (seed `vcluster-api.txt`): `POST /v2/{tenant_id}/vclusters/`, `GET` and
 * `DELETE /v2/{tenant_id}/vclusters/{vcluster_id}`. The body is the vcluster core's canonical
 * JSON (arrays for `instances` and `groupings`; the seed's examples repeat keys and are not JSON).
 * Instances are placed as one gang by the vcluster core; their uuids are `<vcluster id>.<index>`.
 * A vcluster of another tenant is "not found".
 */
import { HashMap, Option, Result } from "effect"
import { err, NotFound, ok, type Outcome } from "../../../core/errors.ts"
import {
  createVcluster, deleteVcluster, type Flavor, type VclusterRecord,
} from "../../../core/vcluster/index.ts"
import type { Applied, OpError, Operations } from "../engine.ts"
import type { JournalEntry } from "../journal.ts"
import type { RouteGroup } from "../server.ts"
import type { World } from "../world.ts"
import { paramsOf, sendRead, submit, tenantScope } from "./common.ts"

function flavorTable(world: World): ReadonlyMap<string, Flavor> {
  return new Map(Object.entries(world.offer.flavors).map(([name, f]) =>
    [name, { vcpus: f.vcpus, ramMb: f.ramMb, ...(f.diskGb > 0 ? { diskGb: f.diskGb } : {}) }]))
}

function visible(world: World, tenant: string, id: string): Outcome<VclusterRecord, NotFound> {
  const record = Option.getOrUndefined(HashMap.get(world.vclusters, id))
  return record === undefined || record.tenant !== tenant
    ? err(new NotFound({ resource: "vcluster", id })) : ok(record)
}

function createOp(world: World, e: JournalEntry): Outcome<Applied<World>, OpError> {
  const created = createVcluster({ cluster: world.cluster, vclusters: world.vclusters }, e.body,
    { id: e.ids[0]!, flavors: flavorTable(world), tenant: e.tenant })
  if (Result.isFailure(created)) return err(created.failure)
  const { state, vcluster } = created.success
  return ok({ world: { ...world, cluster: state.cluster, vclusters: state.vclusters },
    reply: { status: 202, body: { vcluster } } })
}

function deleteOp(world: World, e: JournalEntry): Outcome<Applied<World>, OpError> {
  const id = e.params["vcluster_id"]!
  const found = visible(world, e.tenant, id)
  if (Result.isFailure(found)) return err(found.failure)
  const deleted = deleteVcluster({ cluster: world.cluster, vclusters: world.vclusters }, id)
  if (Result.isFailure(deleted)) return err(deleted.failure)
  return ok({ world: { ...world, cluster: deleted.success.cluster,
    vclusters: deleted.success.vclusters }, reply: { status: 204 } })
}

/** The journalled operations of this group. */
export const vclusterOperations: Operations<World> = {
  "vcluster.create": createOp,
  "vcluster.delete": deleteOp,
}

/** Route group for vclusters. */
export const vclusterRoutes: RouteGroup<World> = ({ app, engine }) => {
  app.post("/v2/:tenant_id/vclusters", async (request, reply) => {
    if (tenantScope(request, reply) === null) return reply
    return submit(engine, reply, { op: "vcluster.create", tenant: paramsOf(request)["tenant_id"]!,
      params: {}, body: request.body, idsCount: 1 })
  })
  app.get("/v2/:tenant_id/vclusters/:vcluster_id", async (request, reply) => {
    if (tenantScope(request, reply) === null) return reply
    const { tenant_id, vcluster_id } = paramsOf(request)
    return sendRead(reply, Result.map(visible(engine.world(), tenant_id!, vcluster_id!),
      (vcluster) => ({ vcluster })))
  })
  app.delete("/v2/:tenant_id/vclusters/:vcluster_id", async (request, reply) => {
    if (tenantScope(request, reply) === null) return reply
    const { tenant_id, vcluster_id } = paramsOf(request)
    return submit(engine, reply, { op: "vcluster.delete", tenant: tenant_id!,
      params: { vcluster_id: vcluster_id! }, body: null })
  })
}
