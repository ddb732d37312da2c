/**
 * Helpers every route group shares: guards for tenant scope and role, ownership lookups that
 * answer 404 for what a caller may not know exists, and the path from a request to a journalled
 * change.
 */
import type { FastifyReply, FastifyRequest } from "fastify"
import { Result } from "effect"
import { NotFound } from "../../../core/errors.ts"
import type { Principal } from "../config.ts"
import type { Engine, OpError, Reply } from "../engine.ts"
import { checkAdmin, checkTenant, principalOf, sendFault, sendOutcome } from "../server.ts"
import type { ServerMeta, World } from "../world.ts"

/** Path parameters as Fastify hands them over. */
export type Params = Readonly<Record<string, string>>

/** The request's path parameters. */
export function paramsOf(request: FastifyRequest): Params {
  return (request.params ?? {}) as Params
}

/**
 * Runs the tenant guard for a `/v2/{tenant_id}/…` route and returns the caller, or sends 403
 * and returns null.
 */
export function tenantScope(request: FastifyRequest, reply: FastifyReply): Principal | null {
  const principal = principalOf(request)
  const refused = checkTenant(principal, paramsOf(request)["tenant_id"] ?? "")
  if (refused !== null) {
    sendFault(reply, refused)
    return null
  }
  return principal
}

/** Like `tenantScope`, and the route is admin-only. */
export function adminScope(request: FastifyRequest, reply: FastifyReply): Principal | null {
  const principal = principalOf(request)
  const refused = checkAdmin(principal)
  if (refused !== null) {
    sendFault(reply, refused)
    return null
  }
  const tenant = paramsOf(request)["tenant_id"]
  if (tenant !== undefined) return tenantScope(request, reply)
  return principal
}

/**
 * The server `id` under the path's tenant. A server of another tenant is "not found" (a member
 * may not learn that it exists); the tenant guard has already checked the caller may act there.
 */
export function visibleServer(
  world: World,
  tenant: string,
  id: string,
): Result.Result<ServerMeta, NotFound> {
  const meta = world.servers.get(id)
  if (meta === undefined || meta.tenant !== tenant) {
    return Result.fail(new NotFound({ resource: "Instance", id }))
  }
  return Result.succeed(meta)
}

/** Submits a change to the engine and sends its outcome once it is durable. */
export function submit(
  engine: Engine<World>,
  reply: FastifyReply,
  change: { op: string; tenant: string; params: Params; body: unknown; idsCount?: number },
): Promise<FastifyReply> {
  return engine.apply({ ...change, idsCount: change.idsCount ?? 0 })
    .then((outcome) => sendOutcome(reply, outcome))
}

/** Sends a read's outcome with status 200. */
export function sendRead(
  reply: FastifyReply,
  outcome: Result.Result<unknown, OpError>,
): FastifyReply {
  return sendOutcome(reply, Result.map(outcome, (body): Reply => ({ status: 200, body })))
}
