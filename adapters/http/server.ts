/**
 * The HTTP façade over Corral's core, on Fastify: authentication by `X-Auth-Token`, request
 * bodies parsed with limits (adapters/http/body.ts), errors rendered as OpenStack fault bodies
 * through core/errors.ts, `/healthz`, and the route groups of the seeds.
 *
 * `buildServer` wires a ready engine (state + journal) into a Fastify instance; it does not
 * listen, so tests use `inject()` or `listen({port: 0})` and `corral serve` adds the socket and
 * the signal handling. Its Node server puts the read cache (adapters/http/read-cache.ts) in
 * front of the framework: repeated cacheable reads are answered there, the rest by Fastify.
 */
import Fastify, {
  type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest,
  type FastifyServerFactoryHandler, LogController,
} from "fastify"
import { createServer, type Server } from "node:http"
import { Result } from "effect"
import {
  type CorralError, faultBody, Forbidden, httpStatus, PayloadTooLarge, Unauthorized,
} from "../../core/errors.ts"
import { noValidHostFault, noValidHostStatus } from "../../core/placement/errors.ts"
import { parseBody } from "./body.ts"
import { BatchedLines, fdOutput, type LineOutput, RequestLog, requestIds } from "./log.ts"
import { type Principal, principalOfToken, principalsOf, type ServerConfig } from "./config.ts"
import { ReadCache } from "./read-cache.ts"
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
  /** Where cacheable reads are remembered (null: the cache is off). */
  readonly readCache: ReadCache | null
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
  /** The read cache in front of the framework (default on; off answers every request there). */
  readonly readCache?: boolean
}

/** A built server: the app (not listening) and its read cache (null when off). */
export interface BuiltServer {
  readonly app: FastifyInstance
  readonly readCache: ReadCache | null
}

/** Builds the Fastify app (not listening). */
export function buildServer<W>(options: ServerOptions<W>): BuiltServer {
  const principals = principalsOf(options.config)
  const lines = options.logger === true ? new BatchedLines(options.logOutput ?? fdOutput(1))
    : null
  const log = lines === null ? null : new RequestLog(lines)
  const nextRequestId = requestIds()
  let app: FastifyInstance | undefined = undefined
  const readCache = options.readCache === false ? null : new ReadCache({ principals,
    nextRequestId, log, logger: () => app!.log })
  app = Fastify({
    logger: lines === null ? false : { level: "info", stream: lines },
    ...(log === null ? {} : { logController: new OneLinePerRequest(log) }),
    ...(readCache === null ? {} : { serverFactory: (handler: FastifyServerFactoryHandler,
      opts: Readonly<Record<string, unknown>>) => serverInFront(readCache, handler, opts) }),
    genReqId: () => nextRequestId(),
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
    const principal = principalOfToken(principals, token)
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
  if (readCache !== null) {
    // Runs in the tick the framework starts closing in, so from then on every request reaches
    // the framework's own closing answer (503).
    app.addHook("preClose", (done) => {
      readCache.close()
      done()
    })
  }
  app.get("/healthz", async () => ({ status: "ok" }))
  for (const group of options.routes) group({ app, engine: options.engine, readCache })
  return { app, readCache }
}

/**
 * The Node server with the read cache in front of the framework's handler, set up as the
 * framework sets up its own (keep-alive, request and connection timeouts, requests per socket).
 */
function serverInFront(readCache: ReadCache, handler: FastifyServerFactoryHandler,
  opts: Readonly<Record<string, unknown>>): Server {
  const server = createServer((req, res) => {
    if (!readCache.answer(req, res)) handler(req, res)
  })
  server.keepAliveTimeout = Number(opts["keepAliveTimeout"])
  server.requestTimeout = Number(opts["requestTimeout"])
  server.setTimeout(Number(opts["connectionTimeout"]))
  const perSocket = Number(opts["maxRequestsPerSocket"])
  if (perSocket > 0) server.maxRequestsPerSocket = perSocket
  return server
}

/**
 * The framework's request log: no line when a request arrives, one when it is done (adapters/
 * http/log.ts `RequestLog`, the line the read cache writes too); errors as the framework logs
 * them.
 */
class OneLinePerRequest extends LogController {
  constructor(private readonly log: RequestLog) {
    super()
  }

  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest,
    reply: FastifyReply): void {
    this.log.finished(error, { id: request.id, method: request.method, url: request.url,
      status: reply.statusCode, elapsedMs: reply.elapsedTime,
      tenant: request.principal?.tenant }, () => reply.log)
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
