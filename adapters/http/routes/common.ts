/**
 * Helpers every route group shares: guards for tenant scope and role, ownership lookups that
 * answer 404 for what a caller may not know exists, and the path from a request to a journalled
 * change.
 */
import type { FastifyReply, FastifyRequest } from "fastify"
import { Result } from "effect"
import { type Forbidden, NotFound } from "../../../core/errors.ts"
import type { Principal } from "../config.ts"
import type { Engine, OpError, Reply } from "../engine.ts"
import type { CachedRead, ReadCache } from "../read-cache.ts"
import { sendRendered } from "../rendered.ts"
import { checkAdmin, checkTenant, principalOf, sendFault, sendOutcome } from "../server.ts"
import type { ServerMeta, World } from "../world.ts"

/** Path parameters as Fastify hands them over. */
export type Params = Readonly<Record<string, string>>

/** The request's path parameters. */
export function paramsOf(request: FastifyRequest): Params {
  return (request.params ?? {}) as Params
}

/** The tenant guard of a `/v2/{tenant_id}/…` route: 403 for a member naming another tenant. */
export function tenantRefusal(principal: Principal, tenantId: string | undefined)
  : Forbidden | null {
  return checkTenant(principal, tenantId ?? "")
}

/** The guard of an admin-only route: 403 for a member, then the tenant guard if it has one. */
export function adminRefusal(principal: Principal, tenantId: string | undefined)
  : Forbidden | null {
  return checkAdmin(principal) ?? (tenantId === undefined ? null
    : tenantRefusal(principal, tenantId))
}

function scoped(request: FastifyRequest, reply: FastifyReply,
  refusal: (p: Principal, tenantId: string | undefined) => Forbidden | null): Principal | null {
  const principal = principalOf(request)
  const refused = refusal(principal, paramsOf(request)["tenant_id"])
  if (refused !== null) {
    sendFault(reply, refused)
    return null
  }
  return principal
}

/**
 * Runs the tenant guard for a `/v2/{tenant_id}/…` route and returns the caller, or sends 403
 * and returns null.
 */
export function tenantScope(request: FastifyRequest, reply: FastifyReply): Principal | null {
  return scoped(request, reply, tenantRefusal)
}

/** Like `tenantScope`, and the route is admin-only. */
export function adminScope(request: FastifyRequest, reply: FastifyReply): Principal | null {
  return scoped(request, reply, adminRefusal)
}

/**
 * Answers a cacheable read through the framework: the refusal or the fault, else the rendering
 * (gzip, ETag/304: `sendRendered`); a GET answered with its rendering teaches the read cache
 * its URL, so the next request for it is answered in front of the framework (read-cache.ts).
 */
export function serveRead(request: FastifyRequest, reply: FastifyReply, read: CachedRead,
  cache: ReadCache | null): void {
  const refused = read.refusal(principalOf(request))
  if (refused !== null) {
    sendFault(reply, refused)
    return
  }
  const rendered = read.rendering()
  if (Result.isFailure(rendered)) {
    sendFault(reply, rendered.failure)
    return
  }
  sendRendered(request, reply, rendered.success)
  if (cache !== null && request.method === "GET") cache.learn(request.url, read)
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
