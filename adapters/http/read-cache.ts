/**
 * The read cache: answers repeated cacheable reads (the os-pci lists, a tenant's server list)
 * straight from Node's request handler, in front of the framework, where a profile showed the
 * framework's routing, hooks and reply costing about as much again as the read itself.
 *
 * It learns from the framework: when a route answers a read with a rendering (routes/common.ts
 * `serveRead`), the request's URL is remembered with that route's `CachedRead` — its access
 * check and the way to the rendering — resolved from the URL once (path parameters, query).
 * The same URL always routes the same way (the routes are fixed once the server is ready), so
 * a later GET of that exact URL is answered here: the same token lookup as the auth hook
 * (`principalOfToken`), the route's own refusal check, the rendering of the current durable
 * state (`renderedOf`, kept per state object, so any accepted change that touches the view is
 * a new rendering), the same variant choice (`variantOf`: gzip, ETag/304), the same headers
 * and bytes, and the same request log line (`RequestLog`) with an id from the shared counter.
 * Only a success is answered here: no token, a refusal, a fault, another method, or a server
 * that is closing go to the framework, which answers as it always does. What is remembered is
 * how to reach the rendering, never a decision: every request is authorised again.
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import { Result } from "effect"
import type { FastifyBaseLogger } from "fastify"
import type { CorralError } from "../../core/errors.ts"
import { type Principal, principalOfToken } from "./config.ts"
import type { RequestLog } from "./log.ts"
import { type Rendered, type Variant, variantOf } from "./rendered.ts"

/** Most URLs remembered; past it the table starts again (hot URLs are learned back at once). */
export const readUrlsMax = 4_096

/**
 * A read route's answer for one URL. `refusal` and `rendering` must depend on nothing but the
 * URL they were resolved from, the caller (refusal) and the current state (rendering): the
 * cache reuses them for every later request of that URL.
 */
export interface CachedRead {
  /** The route's access check: the refusal for this caller, or null when it may read. */
  readonly refusal: (principal: Principal) => CorralError | null
  /** The rendering of the current durable state, or the fault the route answers. */
  readonly rendering: () => Result.Result<Rendered, CorralError>
}

/** What the cache needs from the server it sits in front of. */
export interface ReadCacheDeps {
  /** The configured tokens (the auth hook's map). */
  readonly principals: ReadonlyMap<string, Principal>
  /** The request-id counter the framework uses too. */
  readonly nextRequestId: () => string
  /** The request log, or null when logs are off. */
  readonly log: RequestLog | null
  /** The framework's logger, for a failed response's line (request id bound). */
  readonly logger: () => FastifyBaseLogger
}

/** Cached reads by URL, and the request handler that answers them. */
export class ReadCache {
  private readonly reads = new Map<string, CachedRead>()
  private closing = false
  /** Requests answered here (tests check that the cache is in the path). */
  hits = 0

  constructor(private readonly deps: ReadCacheDeps) {}

  /** How many URLs are remembered. */
  get size(): number {
    return this.reads.size
  }

  /** Remembers how the read of `url` (a GET the framework answered) reaches its rendering. */
  learn(url: string, read: CachedRead): void {
    if (this.closing) return
    if (this.reads.size >= readUrlsMax && !this.reads.has(url)) this.reads.clear()
    this.reads.set(url, read)
  }

  /** From now on every request goes to the framework (which answers 503 while closing). */
  close(): void {
    this.closing = true
    this.reads.clear()
  }

  /**
   * Answers `req` if it is a GET of a learned URL that the caller may read and that renders;
   * returns false, having written nothing, otherwise (the framework then answers it).
   */
  answer(req: IncomingMessage, res: ServerResponse): boolean {
    if (this.closing || req.method !== "GET") return false
    const url = req.url ?? ""
    const read = this.reads.get(url)
    if (read === undefined) return false
    const startMs = this.deps.log === null ? 0 : performance.now()
    const headers = req.headers
    let principal: Principal | undefined
    let v: Variant
    try {
      principal = principalOfToken(this.deps.principals, headers["x-auth-token"])
      if (principal === undefined || read.refusal(principal) !== null) return false
      const rendered = read.rendering()
      if (Result.isFailure(rendered)) return false
      v = variantOf(rendered.success, headers["accept-encoding"], headers["if-none-match"])
    } catch {
      return false // a defect: the framework runs the route again and answers it with a 500
    }
    const id = this.deps.nextRequestId()
    if (this.deps.log !== null) this.logWhenDone(res, id, url, principal.tenant, startMs)
    this.hits++
    res.writeHead(v.status, v.headers)
    if (v.body === undefined) res.end()
    else res.end(v.body)
    return true
  }

  /** The request's log line once the response is done (or failed), as the framework's. */
  private logWhenDone(res: ServerResponse, id: string, url: string, tenant: string,
    startMs: number): void {
    const log = this.deps.log!
    const done = (error?: Error): void => {
      res.removeListener("finish", done)
      res.removeListener("error", done)
      log.finished(error, { id, method: "GET", url, status: res.statusCode,
        elapsedMs: performance.now() - startMs, tenant },
      () => this.deps.logger().child({ reqId: id }))
    }
    res.on("finish", done)
    res.on("error", done)
  }
}
