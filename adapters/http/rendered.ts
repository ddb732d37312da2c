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

/** One view rendered: its JSON bytes, their tag, and the gzipped bytes once asked for. */
export class Rendered {
  private gzipped: Buffer | undefined
  readonly etag: string

  constructor(readonly bytes: Buffer) {
    this.etag = `"${createHash("sha256").update(bytes).digest("base64url").slice(0, 27)}"`
  }

  /** The gzipped bytes (computed on first use, then kept). */
  gzip(): Buffer {
    if (this.gzipped === undefined) this.gzipped = gzipSync(this.bytes, { level: 6 })
    return this.gzipped
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
 * accepts gzip and the body is worth it, as it is otherwise.
 */
export function sendRendered(request: FastifyRequest, reply: FastifyReply, rendered: Rendered)
  : FastifyReply {
  const gzip = rendered.bytes.length >= gzipBytesMin &&
    acceptsGzip(request.headers["accept-encoding"])
  const etag = gzip ? `${rendered.etag.slice(0, -1)}-gzip"` : rendered.etag
  reply.header("etag", etag).header("vary", "Accept-Encoding")
  if (matchesTag(request.headers["if-none-match"], etag)) return reply.code(304).send()
  reply.code(200).type("application/json; charset=utf-8")
  if (!gzip) return reply.send(rendered.bytes)
  return reply.header("content-encoding", "gzip").send(rendered.gzip())
}

/** Whether an `Accept-Encoding` value accepts gzip (`gzip` or `*`, with a q above 0). */
export function acceptsGzip(header: string | undefined): boolean {
  if (header === undefined) return false
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

function matchesTag(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false
  if (header.trim() === "*") return true
  return header.split(",").some((t) => {
    const tag = t.trim()
    return tag === etag || tag === `W/${etag}`
  })
}
