/**
 * Persistent memory (seed `pmem-volume-api.txt`): `POST /v2.1/{tenant_id}/servers/{server_id}/
 * action` with `{"add-pmem-vol": [...]}` or `{"del-pmem-vol": [...]}` → 202 without a body.
 *
 * The body is read with the pmem core's `parsePmemActionText` (it accepts the seed's typographic
 * quotes) and then checked like every body (depth, prototype keys). The volumes a server holds
 * show in its view as `os-pmem:volumes`, which is how a caller learns their uuids.
 */
import { Result } from "effect"
import { findServer } from "../../../core/cluster/state.ts"
import { type CorralError, err, ok, type Outcome } from "../../../core/errors.ts"
import {
  addPmemVolumes, decodePmemAction, deletePmemVolumes, parsePmemActionText, pmemHostUsage,
  type PmemState, serverPmemVolumes,
} from "../../../core/pmem/index.ts"
import type { Host } from "../../../core/inventory/inventory.ts"
import { checkBody } from "../body.ts"
import type { Applied, Operations } from "../engine.ts"
import type { JournalEntry } from "../journal.ts"
import { FaultError, type RouteGroup } from "../server.ts"
import type { ServerMeta, World } from "../world.ts"
import { paramsOf, submit, tenantScope, visibleServer } from "./common.ts"

/** The server view's `os-pmem:volumes`. */
export function serverPmemExtra(world: World, meta: ServerMeta): Record<string, unknown> {
  return { "os-pmem:volumes": serverPmemVolumes(world.cluster.pmem, meta.id) }
}

/** The hypervisor view's `pmem_devices` (only for hosts with pmem). */
export function hypervisorPmemExtra(world: World, host: Host): Record<string, unknown> {
  return host.pmemDevices.length === 0 ? {}
    : { pmem_devices: pmemHostUsage(world.cluster.pmem, host.name) }
}

/** The world with the cluster's pmem state replaced (usage and servers are untouched). */
function withPmem(world: World, pmem: PmemState): World {
  return { ...world, cluster: { ...world.cluster, pmem } }
}

function actionOp(world: World, e: JournalEntry): Outcome<Applied<World>, CorralError> {
  const id = e.params["server_id"] ?? ""
  const meta = visibleServer(world, e.tenant, id)
  if (Result.isFailure(meta)) return err(meta.failure)
  const action = decodePmemAction(e.body)
  if (Result.isFailure(action)) return err(action.failure)
  if (action.success._tag === "DelPmemVol") {
    const deleted = deletePmemVolumes(world.cluster.pmem, id, action.success.volumeUuids)
    if (Result.isFailure(deleted)) return err(deleted.failure)
    return ok({ world: withPmem(world, deleted.success.state), reply: { status: 202 } })
  }
  const record = findServer(world.cluster, id)
  if (record === undefined) throw new Error(`server ${id} has no cluster record`)
  const host = world.cluster.inventory.hosts[record.hostIndex]!
  const cell = record.assignment.cells[0]
  const numaNode = cell === undefined ? undefined : host.numaCells[cell.cellIndex]!.id
  const added = addPmemVolumes(world.cluster.pmem, { serverUuid: id, host: host.name, numaNode },
    action.success.volumes)
  if (Result.isFailure(added)) return err(added.failure)
  return ok({ world: withPmem(world, added.success.state), reply: { status: 202 } })
}

/** The journalled operations of this group. */
export const pmemOperations: Operations<World> = { "server.action": actionOp }

/** Route group for server actions (its own body parser: the seed's quotes are accepted). */
export const pmemRoutes: RouteGroup<World> = ({ app, engine }) => {
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers()
    scope.addContentTypeParser("*", { parseAs: "string" }, (_req, text, done) => {
      const parsed = parsePmemActionText(typeof text === "string" ? text : text.toString("utf8"))
      if (Result.isFailure(parsed)) return done(new FaultError(parsed.failure))
      const problem = checkBody(parsed.success)
      if (problem !== null) return done(new FaultError(problem))
      done(null, parsed.success)
    })
    for (const version of ["v2.1", "v2"]) {
      scope.post(`/${version}/:tenant_id/servers/:server_id/action`, async (request, reply) => {
        if (tenantScope(request, reply) === null) return reply
        const params = paramsOf(request)
        return submit(engine, reply, { op: "server.action", tenant: params["tenant_id"]!,
          params: { server_id: params["server_id"]! }, body: request.body })
      })
    }
  })
}
