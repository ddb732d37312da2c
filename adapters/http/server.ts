/**
 * The HTTP façade over Corral's core, on Fastify: authentication by `X-Auth-Token`, request
 * bodies parsed with limits (adapters/http/body.ts), errors rendered as OpenStack fault bodies
 * through core/errors.ts, `/healthz`, and the route groups of the seeds.
 *
 * `buildServer` wires a ready engine (state + journal) into a Fastify instance; it does not
 * listen, so tests use `inject()` or `listen({port: 0})` and `corral serve` adds the socket and
 * the signal handling.
 */
import Fastify, {
  type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest, LogController,
} from "fastify"
import { hostname } from "node:os"
import { Result } from "effect"
import {
  type CorralError, faultBody, Forbidden, httpStatus, PayloadTooLarge, Unauthorized,
} from "../../core/errors.ts"
import { noValidHostFault, noValidHostStatus } from "../../core/placement/errors.ts"
import { parseBody } from "./body.ts"
import { BatchedLines, fdOutput, type LineOutput } from "./log.ts"
import { type Principal, principalsOf, type ServerConfig } from "./config.ts"
import type { Engine, OpError, Reply } from "./engine.ts"

declare module "fastify" {
  interface FastifyRequest {
    /** The caller, set by the auth hook (null only on unauthenticated routes). */
    principal: Principal | null
  }
}

const internalErrorMessage =
  "The server has either erred or is incapable of performing the requested operation."

/** The path served without a token. */
const publicPath = "/healthz"

/** Whether a request URL's path (before any `?`) is the public one, without splitting it. */
function isPublic(url: string): boolean {
  return url.startsWith(publicPath) &&
    (url.length === publicPath.length || url.charCodeAt(publicPath.length) === 63 /* ? */)
}

/** What a route group is given to register its routes. */
export interface RouteContext<W> {
  readonly app: FastifyInstance
  readonly engine: Engine<W>
}

/** A route group: registers its routes on the app. */
export type RouteGroup<W> = (ctx: RouteContext<W>) => void

/** Options for `buildServer`. */
export interface ServerOptions<W> {
  readonly config: ServerConfig
  readonly engine: Engine<W>
  readonly routes: ReadonlyArray<RouteGroup<W>>
  /**
   * Structured JSON logs (the framework's logger, one line per request, batched: see
   * adapters/http/log.ts); off in tests.
   */
  readonly logger?: boolean
  /** Where log lines go (default: stdout, written on the thread pool). */
  readonly logOutput?: LineOutput
}

/** Builds the Fastify app (not listening). */
export function buildServer<W>(options: ServerOptions<W>): FastifyInstance {
  const principals = principalsOf(options.config)
  const lines = options.logger === true ? new BatchedLines(options.logOutput ?? fdOutput(1))
    : null
  const app = Fastify({
    logger: lines === null ? false : { level: "info", stream: lines },
    ...(lines === null ? {} : { logController: new OneLinePerRequest(lines) }),
    bodyLimit: options.config.bodyLimitBytes,
    return503OnClosing: true,
    forceCloseConnections: "idle",
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 256 },
  })
  app.decorateRequest("principal", null)
  app.removeAllContentTypeParsers()
  const parser = (_req: FastifyRequest, text: string | Buffer, done: (e: Error | null,
    body?: unknown) => void) => {
    const parsed = parseBody(typeof text === "string" ? text : text.toString("utf8"))
    if (Result.isFailure(parsed)) done(new FaultError(parsed.failure))
    else done(null, parsed.success)
  }
  app.addContentTypeParser("application/json", { parseAs: "string" }, parser)
  app.addContentTypeParser("*", { parseAs: "string" }, parser)
  app.addHook("onRequest", (request, reply, done) => {
    if (isPublic(request.url)) return done()
    const token = request.headers["x-auth-token"]
    const principal = typeof token === "string" ? principals.get(token) : undefined
    if (principal === undefined) {
      const message = token === undefined ? "X-Auth-Token is required" : "Unknown token"
      sendFault(reply, new Unauthorized({ message }))
      return
    }
    request.principal = principal
    done()
  })
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof FaultError) return sendFault(reply, error.fault)
    const status = error.statusCode ?? 500
    if (status === 413) {
      return sendFault(reply, new PayloadTooLarge({ limitBytes: options.config.bodyLimitBytes }))
    }
    if (status >= 400 && status < 500) {
      return reply.code(status).send({ [clientFaultKey(status)]: { code: status,
        message: error.message } })
    }
    request.log.error({ err: error }, "unexpected error")
    return reply.code(500).send({ computeFault: { code: 500, message: internalErrorMessage } })
  })
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ itemNotFound: { code: 404,
      message: `No route ${request.method} ${request.url.split("?")[0]}` } }))
  if (lines !== null) {
    app.addHook("onClose", (_instance, done) => {
      lines.flush()
      done()
    })
  }
  app.get("/healthz", async () => ({ status: "ok" }))
  for (const group of options.routes) group({ app, engine: options.engine })
  return app
}

/**
 * The request log: one line when the response is done (method, url, status, time in ms, the
 * caller's tenant), none when the request arrives; errors as the framework logs them.
 *
 * The line of a completed request is the one the framework's logger (pino) would write for
 * `reply.log.info(fields, "request")` — same keys, order and escaping — composed here as one
 * string and handed straight to the batch, which skips pino's generic serialisation on every
 * request. Lines of failed requests still go through the logger (error serialisers).
 */
class OneLinePerRequest extends LogController {
  /** `"pid":…,"hostname":…,` as pino's base bindings write them. */
  private readonly base = `"pid":${process.pid},"hostname":${JSON.stringify(hostname())},`

  constructor(private readonly lines: BatchedLines) {
    super()
  }

  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest,
    reply: FastifyReply): void {
    const ms = Math.round(reply.elapsedTime * 1000) / 1000
    const tenant = request.principal?.tenant
    if (error) {
      reply.log.error({ method: request.method, url: request.url, status: reply.statusCode, ms,
        tenant, err: error }, "request errored")
      return
    }
    const msJson = Number.isFinite(ms) ? ms : null
    this.lines.write(`{"level":30,"time":${Date.now()},${this.base}"reqId":` +
      `${JSON.stringify(request.id)},"method":${JSON.stringify(request.method)},"url":` +
      `${JSON.stringify(request.url)},"status":${reply.statusCode},"ms":${msJson}` +
      `${tenant === undefined ? "" : `,"tenant":${JSON.stringify(tenant)}`},"msg":"request"}\n`)
  }
}

/** Carries a Corral error through Fastify's error path (from the body parser). */
export class FaultError extends Error {
  constructor(readonly fault: CorralError) {
    super(fault.message)
  }
}

/** Sends a Corral error as its OpenStack fault body with its status. */
export function sendFault(reply: FastifyReply, error: CorralError): FastifyReply {
  return reply.code(httpStatus(error)).send(faultBody(error))
}

/**
 * Sends an operation's outcome: the reply, or the error as a fault (a connector failure as the
 * connector's envelope with an empty output).
 */
export function sendOutcome(
  reply: FastifyReply,
  outcome: Result.Result<Reply, OpError>,
): FastifyReply {
  if (Result.isFailure(outcome)) {
    const e = outcome.failure
    if (e._tag === "SdkFailure") {
      return reply.code(e.httpStatus).send({ ...e.connector, output: "" })
    }
    if (e._tag === "NoValidHost") return reply.code(noValidHostStatus).send(noValidHostFault(e))
    return sendFault(reply, e)
  }
  const { status, body } = outcome.success
  return body === undefined ? reply.code(status).send() : reply.code(status).send(body)
}

/** The authenticated caller (asserts the auth hook ran). */
export function principalOf(request: FastifyRequest): Principal {
  const p = request.principal
  if (p === null) throw new Error(`no principal on ${request.method} ${request.url}`)
  return p
}

/**
 * The `{tenant_id}` in a path must be the caller's tenant. An admin may name any tenant (it
 * acts on that tenant's behalf, as Nova's admin may); a member naming another tenant gets 403.
 */
export function checkTenant(principal: Principal, tenantId: string): Forbidden | null {
  if (principal.role === "admin" || principal.tenant === tenantId) return null
  return new Forbidden({ message: `Token is not scoped to tenant ${tenantId}` })
}

/** Admin-only routes (replicas, hypervisors, PCI inventory): a member gets 403. */
export function checkAdmin(principal: Principal): Forbidden | null {
  if (principal.role === "admin") return null
  return new Forbidden({ message: "This action is only allowed to an admin" })
}

function clientFaultKey(status: number): string {
  switch (status) {
    case 400: return "badRequest"
    case 404: return "itemNotFound"
    case 405: return "badMethod"
    case 413: return "overLimit"
    case 415: return "badMediaType"
    default: return "clientFault"
  }
}
