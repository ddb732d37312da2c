/**
 * The connector's result envelope: every SDK failure carries Corral's typed error, the HTTP
 * status it maps to (`httpStatus` of core/errors.ts), and the z/VM cloud connector's fields
 * `overallRC`, `rc`, `rs`, `modID` and `errmsg`, so a client written against the connector reads
 * the same codes.
 *
 * The codes follow the connector's classes: 100 invalid input (modID 400, rs 3 bad format),
 * 404 object does not exist (rs 1), 409 status conflict, 300 module operation failed (e.g. no
 * space in a disk pool, an image that already exists), 500 internal (a driver failure).
 */
import { Cause, Data, Exit, Option } from "effect"
import { type CorralError, httpStatus } from "../errors.ts"
import type { DriverFailure } from "../driver/port.ts"

/** The connector's module ids (`modID`). */
export const modIds = {
  guest: 10,
  network: 20,
  volume: 30,
  image: 40,
  monitor: 50,
  sdk: 400,
} as const
/** A connector module. */
export type ConnectorModule = keyof typeof modIds

/** The connector's error fields. */
export interface ConnectorFields {
  readonly overallRC: number
  readonly rc: number
  readonly rs: number
  readonly modID: number | null
  readonly errmsg: string
}

/** An SDK operation's failure: the typed cause, its HTTP status and the connector's fields. */
export class SdkFailure extends Data.TaggedError("SdkFailure")<{
  readonly cause: CorralError | DriverFailure
  readonly httpStatus: number
  readonly connector: ConnectorFields
}> {
  override get message(): string {
    return this.connector.errmsg
  }
}

/** Reason codes (`rs`) Corral uses within the connector's classes. */
export const reasons = {
  inputFormat: 3,
  notExist: 1,
  notActive: 1,
  vswitchSet: 5,
  nicCreate: 6,
  nicDelete: 8,
  nicCouple: 10,
  nicUncouple: 12,
  guestExists: 30,
  diskPoolFull: 2,
  imageExists: 13,
  imageMd5: 4,
  volumeAttached: 3,
  volumeNotAttached: 4,
  driver: 1,
} as const

/**
 * Wraps a typed error as the connector reports it from `module`. `rs` refines 409 and 300
 * classes (defaults: 1 for conflicts and not-found, 3 for bad input).
 */
export function connectorFailure(
  module: ConnectorModule,
  cause: CorralError | DriverFailure,
  rs?: number,
): SdkFailure {
  const errmsg = cause.message
  if (cause._tag === "DriverFailure") {
    return new SdkFailure({ cause, httpStatus: 500, connector: {
      overallRC: 500, rc: 500, rs: rs ?? reasons.driver, modID: modIds[module], errmsg } })
  }
  const status = httpStatus(cause)
  const fields = ((): ConnectorFields => {
    switch (cause._tag) {
      case "BadRequest":
        return { overallRC: 100, rc: 100, rs: rs ?? reasons.inputFormat, modID: modIds.sdk, errmsg }
      case "NotFound":
        return { overallRC: 404, rc: 404, rs: reasons.notExist, modID: modIds[module], errmsg }
      case "InsufficientCapacity":
        return { overallRC: 300, rc: 300, rs: rs ?? reasons.diskPoolFull, modID: modIds[module],
          errmsg }
      case "AlreadyExists":
        return { overallRC: 300, rc: 300, rs: rs ?? 1, modID: modIds[module], errmsg }
      default:
        return { overallRC: status, rc: status, rs: rs ?? 1, modID: modIds[module], errmsg }
    }
  })()
  return new SdkFailure({ cause, httpStatus: status, connector: fields })
}

/** The connector's success envelope around an output. */
export interface ConnectorSuccess<A> {
  readonly overallRC: 0
  readonly rc: 0
  readonly rs: 0
  readonly modID: null
  readonly errmsg: ""
  readonly output: A
}

/** The connector's dict for a success. */
export function connectorSuccess<A>(output: A): ConnectorSuccess<A> {
  return { overallRC: 0, rc: 0, rs: 0, modID: null, errmsg: "", output }
}

/** The connector's dict for a failure, with the HTTP status it maps to. */
export interface ConnectorError extends ConnectorFields {
  readonly httpStatus: number
  readonly output: null
}

/**
 * An operation's outcome as the connector returns it: `{overallRC: 0, …, output}` on success,
 * the error fields and HTTP status on an `SdkFailure`. A defect (a bug) is rethrown.
 */
export function connectorResult<A>(exit: Exit.Exit<A, SdkFailure>):
  ConnectorSuccess<A> | ConnectorError {
  if (Exit.isSuccess(exit)) return connectorSuccess(exit.value)
  const failure = Cause.findErrorOption(exit.cause)
  if (Option.isNone(failure)) throw Cause.squash(exit.cause)
  return { ...failure.value.connector, httpStatus: failure.value.httpStatus, output: null }
}
