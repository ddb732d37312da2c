/**
 * Corral's expected errors: typed data, never thrown strings.
 *
 * Every operation in `core/` returns either a value or one of these errors (as a `Result` or in
 * Effect's error channel). A broken invariant is a defect and throws; an operating error (bad input,
 * missing object, no capacity, an illegal transition) is one of these values, and the state the
 * operation was given is unchanged.
 *
 * Each error knows its HTTP status and its OpenStack-style fault body, so the HTTP façade and the
 * CLI render them the same way. The message is derived from the structured fields.
 */
import { Schema } from "effect"
import { Result } from "effect"

/** One problem with an input: where (`hosts[3].vcpus`) and what was expected. */
export const InputIssue = Schema.Struct({ path: Schema.String, message: Schema.String })
export type InputIssue = typeof InputIssue.Type

/**
 * A request that does not decode or validate. `path` names the (first) field at fault, e.g.
 * `hosts[3].vcpus`; `issues` lists every problem found, not only the first.
 */
export class BadRequest extends Schema.TaggedError<BadRequest>()("BadRequest", {
  message: Schema.String,
  path: Schema.optionalKey(Schema.String),
  issues: Schema.optionalKey(Schema.Array(InputIssue)),
}) {}

/** A BadRequest for one field: `invalid("hosts[0].name", "a unique host name")`. */
export function invalid(path: string, expected: string): BadRequest {
  return new BadRequest({
    message: `${path}: ${expected}`,
    path,
    issues: [{ path, message: expected }],
  })
}

/** A BadRequest carrying several issues; the message lists them all, one per line. */
export function invalidAll(issues: ReadonlyArray<InputIssue>): BadRequest {
  if (issues.length === 0) throw new Error("invalidAll needs at least one issue")
  const message = issues.map((i) => (i.path === "" ? i.message : `${i.path}: ${i.message}`))
    .join("\n")
  return new BadRequest({ message, path: issues[0]!.path, issues: [...issues] })
}

/** The caller is not authenticated (no or unknown token). */
export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", {
  message: Schema.String,
}) {}

/** The caller may see the object but not do this to it. */
export class Forbidden extends Schema.TaggedError<Forbidden>()("Forbidden", {
  message: Schema.String,
}) {}

/** The named object does not exist (or the caller may not know that it exists). */
export class NotFound extends Schema.TaggedError<NotFound>()("NotFound", {
  resource: Schema.String,
  id: Schema.String,
}) {
  override get message(): string {
    return `${this.resource} ${this.id} could not be found.`
  }
}

/** The object already exists (the replica API answers 406 Not Acceptable for this). */
export class AlreadyExists extends Schema.TaggedError<AlreadyExists>()("AlreadyExists", {
  resource: Schema.String,
  id: Schema.String,
}) {
  override get message(): string {
    return `${this.resource} ${this.id} already exists.`
  }
}

/** The request conflicts with the object's current state (pending tasks, wrong power state…). */
export class Conflict extends Schema.TaggedError<Conflict>()("Conflict", {
  message: Schema.String,
}) {}

/** The object is in a state that forbids the operation outright (replica API: 423 Locked). */
export class Locked extends Schema.TaggedError<Locked>()("Locked", {
  message: Schema.String,
}) {}

/** A required earlier step has not happened (replica API: 428, e.g. reinit before update). */
export class PreconditionRequired extends Schema.TaggedError<PreconditionRequired>()(
  "PreconditionRequired",
  { message: Schema.String },
) {}

/** The request body is larger than the configured limit. */
export class PayloadTooLarge extends Schema.TaggedError<PayloadTooLarge>()("PayloadTooLarge", {
  limitBytes: Schema.Number,
}) {
  override get message(): string {
    return `Request body is larger than ${this.limitBytes} bytes.`
  }
}

/**
 * Not enough of one resource: more capacity would help. `resource` names it the way a report
 * counts it (`vcpus`, `ramMb`, `pmem:DRAM`, `pci:8086:1520`, `disk:ECKD:POOL1`).
 */
export class InsufficientCapacity extends Schema.TaggedError<InsufficientCapacity>()(
  "InsufficientCapacity",
  {
    resource: Schema.String,
    requested: Schema.Number,
    free: Schema.Number,
    capacity: Schema.Number,
    host: Schema.optionalKey(Schema.String),
    /** Set when the free total would suffice but no contiguous extent does (pmem). */
    fragmentation: Schema.optionalKey(Schema.Boolean),
    /** The longest contiguous free extent, for resources allocated in extents (pmem). */
    largestFreeExtent: Schema.optionalKey(Schema.Number),
  },
) {
  override get message(): string {
    const where = this.host === undefined ? "" : ` on ${this.host}`
    const cause = this.fragmentation === true
      ? ` (fragmentation: largest free extent ${this.largestFreeExtent ?? 0})` : ""
    return `Insufficient ${this.resource}${where}: requested ${this.requested}, ` +
      `free ${this.free} of ${this.capacity}${cause}.`
  }
}

/** How many hosts one placement filter was given and how many it kept. */
export const FilterCount = Schema.Struct({
  filter: Schema.String,
  hostsIn: Schema.Number,
  hostsOut: Schema.Number,
})
export type FilterCount = typeof FilterCount.Type

/**
 * No host (or combination of hosts) satisfies a placement request: Nova's "No valid host was
 * found", as data. `code`: `unschedulable` when more or freed capacity would help,
 * `unresolvable` when nothing ever will (a rule the topology cannot meet, an instance larger
 * than any host). `reason` is a shared constant (`core/placement` `rejectionReasons`) so reports
 * can count rejections; `filters` says how many hosts each filter removed for `instance`.
 */
export class NoValidHost extends Schema.TaggedError<NoValidHost>()("NoValidHost", {
  code: Schema.Literals(["unschedulable", "unresolvable"]),
  reason: Schema.String,
  instance: Schema.optionalKey(Schema.String),
  filters: Schema.Array(FilterCount),
  detail: Schema.optionalKey(Schema.String),
}) {
  override get message(): string {
    const who = this.instance === undefined ? "" : ` for ${this.instance}`
    const counts = this.filters.filter((f) => f.hostsOut < f.hostsIn)
      .map((f) => `${f.filter} returned ${f.hostsOut} of ${f.hostsIn} hosts`).join("; ")
    const detail = this.detail === undefined ? "" : ` ${this.detail}.`
    return `No valid host was found${who} (${this.code}, ${this.reason}).${detail}` +
      (counts === "" ? "" : ` ${counts}.`)
  }
}

/** Every expected error Corral returns. */
export type CorralError =
  | BadRequest
  | Unauthorized
  | Forbidden
  | NotFound
  | AlreadyExists
  | Conflict
  | Locked
  | PreconditionRequired
  | PayloadTooLarge
  | InsufficientCapacity
  | NoValidHost

/** The HTTP status each error maps to (see README, "Errors", for the choices made). */
export function httpStatus(error: CorralError): number {
  switch (error._tag) {
    case "BadRequest": return 400
    case "Unauthorized": return 401
    case "Forbidden": return 403
    case "NotFound": return 404
    case "AlreadyExists": return 406
    case "Conflict": return 409
    case "InsufficientCapacity": return 409
    case "NoValidHost": return 409
    case "PayloadTooLarge": return 413
    case "Locked": return 423
    case "PreconditionRequired": return 428
  }
}

const faultKeys: Record<number, string> = {
  400: "badRequest",
  401: "unauthorized",
  403: "forbidden",
  404: "itemNotFound",
  406: "notAcceptable",
  409: "conflictingRequest",
  413: "overLimit",
  423: "locked",
  428: "preconditionRequired",
}

/** The OpenStack-style fault body: `{"badRequest": {"code": 400, "message": "…"}}`. */
export function faultBody(error: CorralError): Record<string, { code: number; message: string }> {
  const code = httpStatus(error)
  const key = faultKeys[code] ?? "computeFault"
  return { [key]: { code, message: error.message } }
}

/** `Result` of a core operation: the value, or an expected error. */
export type Outcome<A, E = CorralError> = Result.Result<A, E>

/** Shorthand constructors so domain code reads `return ok(x)` / `return err(new NotFound(...))`. */
/**
 * Builds an operating error without capturing a stack trace. Such errors are outcomes a caller
 * handles (a rejection, a conflict), not defects, and their stack says nothing a caller needs;
 * V8 captured one in 7-130 µs on the placement path, more than a placement costs. Synchronous:
 * the limit is restored before anything else runs.
 */
export function quietly<E>(make: () => E): E {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  try {
    return make()
  } finally {
    Error.stackTraceLimit = limit
  }
}

export const ok = <A>(value: A): Outcome<A, never> => Result.succeed(value)
export const err = <E>(error: E): Outcome<never, E> => Result.fail(error)
