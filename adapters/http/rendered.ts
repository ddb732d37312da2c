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

/** One answer a rendering gives: status, prebuilt headers, and the body (none for a 304). */
export interface Variant {
  readonly status: 200 | 304
  readonly headers: RenderedHeaders | NotModifiedHeaders
  readonly body: Buffer | undefined
}

/**
 * One view rendered: its JSON bytes, their tag, and the gzipped bytes once asked for; the
 * answers of both representations (and their 304s) are built once, so a request only picks one.
 */
export class Rendered {
  private gzipped: Buffer | undefined
  private gzipAnswer: Variant | undefined
  readonly etag: string
  /** The tag of the gzipped variant (a different representation, so a different tag). */
  readonly gzipEtag: string
  readonly headers: RenderedHeaders
  readonly notModified: NotModifiedHeaders
  readonly gzipNotModified: NotModifiedHeaders
  /** 200 with the bytes as they are. */
  readonly identity: Variant
  /** 304 for the identity tag. */
  readonly identityUnchanged: Variant
  /** 304 for the gzip tag. */
  readonly gzipUnchanged: Variant

  constructor(readonly bytes: Buffer) {
    this.etag = `"${createHash("sha256").update(bytes).digest("base64url").slice(0, 27)}"`
    this.gzipEtag = `${this.etag.slice(0, -1)}-gzip"`
    this.headers = { etag: this.etag, vary: "Accept-Encoding", "content-type": jsonType,
      "content-length": String(bytes.length) }
    this.notModified = { etag: this.etag, vary: "Accept-Encoding" }
    this.gzipNotModified = { etag: this.gzipEtag, vary: "Accept-Encoding" }
    this.identity = { status: 200, headers: this.headers, body: bytes }
    this.identityUnchanged = { status: 304, headers: this.notModified, body: undefined }
    this.gzipUnchanged = { status: 304, headers: this.gzipNotModified, body: undefined }
  }

  /** The gzipped bytes (computed on first use, then kept). */
  gzip(): Buffer {
    if (this.gzipped === undefined) this.gzipped = gzipSync(this.bytes, { level: 6 })
    return this.gzipped
  }

  /** 200 with the gzipped bytes (built on first use, then kept). */
  gzipVariant(): Variant {
    if (this.gzipAnswer === undefined) {
      const body = this.gzip()
      this.gzipAnswer = { status: 200, body, headers: { etag: this.gzipEtag,
        vary: "Accept-Encoding", "content-type": jsonType, "content-length": String(body.length),
        "content-encoding": "gzip" } }
    }
    return this.gzipAnswer
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
 * The answer a request gets from a rendering: 304 when `If-None-Match` names the tag of the
 * representation it would get, gzipped when it accepts gzip and the body is worth it, as it is
 * otherwise. One function for the framework's route and the read cache (adapters/http/
 * read-cache.ts), so both answer alike.
 */
export function variantOf(rendered: Rendered, acceptEncoding: string | undefined,
  ifNoneMatch: string | undefined): Variant {
  const gzip = rendered.bytes.length >= gzipBytesMin && acceptsGzip(acceptEncoding)
  if (ifNoneMatch !== undefined && matchesTag(ifNoneMatch, gzip ? rendered.gzipEtag
    : rendered.etag)) {
    return gzip ? rendered.gzipUnchanged : rendered.identityUnchanged
  }
  return gzip ? rendered.gzipVariant() : rendered.identity
}

/**
 * Sends a rendering (`variantOf`): the headers are the rendering's prebuilt set for the
 * variant; the bytes are the cached Buffer, never re-serialised.
 */
export function sendRendered(request: FastifyRequest, reply: FastifyReply, rendered: Rendered)
  : FastifyReply {
  const v = variantOf(rendered, request.headers["accept-encoding"],
    request.headers["if-none-match"])
  return reply.code(v.status).headers(v.headers).send(v.body)
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
