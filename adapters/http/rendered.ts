/**
 * Rendered read bodies, cached per immutable state: a view of a state that never changes is
 * rendered to JSON once, kept as bytes (no re-encoding per request), gzipped once on the first
 * request that accepts gzip, and tagged (a strong ETag from the bytes) so a client that polls
 * may ask `If-None-Match` and get 304. Every accepted change makes a new state object, so the
 * cache of the old one is simply no longer reached; it hangs off the state in a WeakMap and
 * goes with it.
 */
import { createHash } from "node:crypto"
import { gzipSync } from "node:zlib"
import { Result } from "effect"
import type { FastifyReply, FastifyRequest } from "fastify"

/** Most renderings cached per state object (one per view and query). */
export const renderedEntriesMax = 4_096
/** Bodies shorter than this are sent as they are: gzip would save little and cost a frame. */
export const gzipBytesMin = 1_024

/** The headers of one variant of a rendering, built once and sent as they are. */
export type RenderedHeaders = {
  readonly etag: string
  readonly vary: string
  readonly "content-type": string
  readonly "content-length": string
  readonly "content-encoding"?: string
}

/** The headers of a 304 for one variant (its tag; no body, so no type or length). */
export type NotModifiedHeaders = {
  readonly etag: string
  readonly vary: string
}

const jsonType = "application/json; charset=utf-8"

/**
 * One view rendered: its JSON bytes, their tag, and the gzipped bytes once asked for; the
 * header sets of both variants (and of their 304s) are built once, so a request only picks one.
 */
export class Rendered {
  private gzipped: Buffer | undefined
  private gzipHeaders: RenderedHeaders | undefined
  readonly etag: string
  /** The tag of the gzipped variant (a different representation, so a different tag). */
  readonly gzipEtag: string
  readonly headers: RenderedHeaders
  readonly notModified: NotModifiedHeaders
  readonly gzipNotModified: NotModifiedHeaders

  constructor(readonly bytes: Buffer) {
    this.etag = `"${createHash("sha256").update(bytes).digest("base64url").slice(0, 27)}"`
    this.gzipEtag = `${this.etag.slice(0, -1)}-gzip"`
    this.headers = { etag: this.etag, vary: "Accept-Encoding", "content-type": jsonType,
      "content-length": String(bytes.length) }
    this.notModified = { etag: this.etag, vary: "Accept-Encoding" }
    this.gzipNotModified = { etag: this.gzipEtag, vary: "Accept-Encoding" }
  }

  /** The gzipped bytes (computed on first use, then kept). */
  gzip(): Buffer {
    if (this.gzipped === undefined) this.gzipped = gzipSync(this.bytes, { level: 6 })
    return this.gzipped
  }

  /** The headers of the gzipped variant (built on first use, then kept). */
  gzipVariantHeaders(): RenderedHeaders {
    if (this.gzipHeaders === undefined) {
      this.gzipHeaders = { etag: this.gzipEtag, vary: "Accept-Encoding", "content-type": jsonType,
        "content-length": String(this.gzip().length), "content-encoding": "gzip" }
    }
    return this.gzipHeaders
  }
}

const cache = new WeakMap<object, Map<string, Rendered>>()

/**
 * The rendering of `key` over `state`, rendering it with `render` on a miss. A failure (an
 * unknown host, say) is returned as it is and not cached.
 */
export function renderedOf<E>(state: object, key: string,
  render: () => Result.Result<unknown, E>): Result.Result<Rendered, E> {
  let byKey = cache.get(state)
  if (byKey === undefined) {
    byKey = new Map()
    cache.set(state, byKey)
  }
  const hit = byKey.get(key)
  if (hit !== undefined) return Result.succeed(hit)
  const body = render()
  if (Result.isFailure(body)) return Result.fail(body.failure)
  const rendered = new Rendered(Buffer.from(JSON.stringify(body.success), "utf8"))
  if (byKey.size < renderedEntriesMax) byKey.set(key, rendered)
  return Result.succeed(rendered)
}

/**
 * Sends a rendering with 200: 304 when `If-None-Match` names its tag, gzipped when the request
 * accepts gzip and the body is worth it, as it is otherwise. The headers are the rendering's
 * prebuilt set for the variant; the bytes are the cached Buffer, never re-serialised.
 */
export function sendRendered(request: FastifyRequest, reply: FastifyReply, rendered: Rendered)
  : FastifyReply {
  const gzip = rendered.bytes.length >= gzipBytesMin &&
    acceptsGzip(request.headers["accept-encoding"])
  const noneMatch = request.headers["if-none-match"]
  if (noneMatch !== undefined && matchesTag(noneMatch, gzip ? rendered.gzipEtag : rendered.etag)) {
    return reply.code(304).headers(gzip ? rendered.gzipNotModified : rendered.notModified).send()
  }
  if (!gzip) return reply.code(200).headers(rendered.headers).send(rendered.bytes)
  return reply.code(200).headers(rendered.gzipVariantHeaders()).send(rendered.gzip())
}

/** The last `Accept-Encoding` value seen and its answer: clients repeat the same value. */
let lastAcceptEncoding: string | undefined
let lastAcceptsGzip = false

/** Whether an `Accept-Encoding` value accepts gzip (`gzip` or `*`, with a q above 0). */
export function acceptsGzip(header: string | undefined): boolean {
  if (header === undefined) return false
  if (header === lastAcceptEncoding) return lastAcceptsGzip
  const accepts = parseAcceptsGzip(header)
  lastAcceptEncoding = header
  lastAcceptsGzip = accepts
  return accepts
}

function parseAcceptsGzip(header: string): boolean {
  let star = false
  for (const part of header.split(",")) {
    const [coding = "", ...params] = part.split(";").map((s) => s.trim().toLowerCase())
    const q = params.find((p) => p.startsWith("q="))
    const refused = q !== undefined && !(Number(q.slice(2)) > 0)
    if (coding === "gzip" || coding === "x-gzip") return !refused
    if (coding === "*") star = !refused
  }
  return star
}

function matchesTag(header: string, etag: string): boolean {
  if (header.trim() === "*") return true
  return header.split(",").some((t) => {
    const tag = t.trim()
    return tag === etag || tag === `W/${etag}`
  })
}
