/**
 * The SDK entry: every operation of the z/VM cloud connector API over one host, on the driver
 * port. `makeSdk(config)` needs a `Driver` and returns an `Sdk` whose methods take the seed's
 * parameters (snake_case, as the connector names them) and return an Effect that succeeds with
 * the connector's output or fails with an `SdkFailure` (typed cause, HTTP status, overallRC, rc,
 * rs, modID, errmsg).
 *
 * Decisions are the pure functions of core/lifecycle, core/images and core/network; this module
 * decodes input, runs one operation at a time (a semaphore), hands the driver commands to the
 * driver (undoing the ones already done if a later one fails), and commits the new state only
 * when everything succeeded: after any error the state is as it was. Waiting (stop/softstop
 * timeouts and poll intervals) uses Effect's Clock, so a virtual clock makes it instant.
 */
import { Clock, Duration, Effect, Ref, Result, Schema, Semaphore } from "effect"
import { decode } from "../decode.ts"
import type { CorralError } from "../errors.ts"
import { Driver, type DriverError, type DriverShape } from "../driver/port.ts"
import { type PowerOperation, type PowerState, planPower } from "../lifecycle/power.ts"
import { Userid, useridPattern } from "../lifecycle/fields.ts"
import { connectorFailure, type ConnectorModule, reasons, type SdkFailure } from "./connector.ts"
import {
  canonical, type DriverCommand, initialState, sdkLimits, type SdkConfig, type SdkState,
  type Step,
} from "./state.ts"
import { findGuest, recordPower } from "../lifecycle/guests.ts"

/** Longest a stop or softstop may wait, seconds. */
export const powerTimeoutSMax = 86_400

/** `guest_stop` / `guest_softstop` keyword arguments (the seed's recommended defaults). */
export const StopOptions = Schema.Struct({
  timeout: Schema.optionalKey(Schema.Int.check(Schema.makeFilter((n: number) =>
    (n >= 0 && n <= powerTimeoutSMax) || `a number of seconds from 0 to ${powerTimeoutSMax}`))),
  poll_interval: Schema.optionalKey(Schema.Int.check(Schema.makeFilter((n: number) =>
    (n >= 1 && n <= powerTimeoutSMax) || `a number of seconds from 1 to ${powerTimeoutSMax}`))),
})
export type StopOptions = typeof StopOptions.Type
/** Defaults of `StopOptions`: the seed's recommended 300 s and 20 s. */
export const stopDefaults = { timeoutS: 300, pollIntervalS: 20 } as const

/** The runtime pieces every SDK operation module shares. */
export interface SdkCore {
  readonly driver: DriverShape
  readonly state: Ref.Ref<SdkState>
  /** Runs `effect` alone (one SDK operation at a time). */
  readonly serial: <A, E>(effect: Effect.Effect<A, E>) => Effect.Effect<A, E>
}

/** Fails with the connector's form of `error` from `module`. */
export function fail(module: ConnectorModule, error: CorralError, rs?: number):
  Effect.Effect<never, SdkFailure> {
  return Effect.fail(connectorFailure(module, error, rs))
}

/** Decodes `input` against `schema`, failing with the connector's invalid-input error. */
export function decodeInput<S extends Schema.Top & { readonly DecodingServices: never }>(
  schema: S,
  input: unknown,
): Effect.Effect<S["Type"], SdkFailure> {
  const r = decode(schema, input)
  return Result.isSuccess(r) ? Effect.succeed(r.success) : fail("sdk", r.failure)
}

/** Lifts a pure outcome into the SDK's error channel. */
export function fromOutcome<A>(
  module: ConnectorModule,
  outcome: Result.Result<A, CorralError>,
  conflictRs?: number,
): Effect.Effect<A, SdkFailure> {
  if (Result.isSuccess(outcome)) return Effect.succeed(outcome.success)
  const e = outcome.failure
  return fail(module, e, e._tag === "Conflict" ? conflictRs : undefined)
}

/** Maps a driver error into the SDK's error channel. */
export function driverCall<A>(module: ConnectorModule, effect: Effect.Effect<A, DriverError>):
  Effect.Effect<A, SdkFailure> {
  return Effect.mapError(effect, (e) => connectorFailure(module, e))
}

function runCommand(driver: DriverShape, c: DriverCommand): Effect.Effect<void, DriverError> {
  switch (c.kind) {
    case "define": return driver.define(c.guest)
    case "undefine": return driver.undefine(c.userid)
    case "createDisk": return driver.createDisk(c.userid, c.disk)
    case "deleteDisk": return driver.deleteDisk(c.userid, c.vdev)
    case "addPmem": return driver.addPmem(c.userid, c.volume)
    case "deployImage": return driver.deployImage(c.userid, c.vdev, c.imageName)
    case "deleteImage": return driver.deleteImage(c.imageName)
  }
}

function undoCommand(driver: DriverShape, c: DriverCommand): Effect.Effect<void> {
  const undo = c.kind === "define" ? driver.undefine(c.guest.userid)
    : c.kind === "createDisk" ? driver.deleteDisk(c.userid, c.disk.vdev)
    : c.kind === "addPmem" ? driver.removePmem(c.userid, c.volume.name)
    : Effect.void
  return Effect.ignore(undo)
}

/** Runs a step's driver commands in order; on a failure undoes the done ones, newest first. */
export function runCommands(core: SdkCore, module: ConnectorModule,
  commands: ReadonlyArray<DriverCommand>): Effect.Effect<void, SdkFailure> {
  return Effect.gen(function* () {
    const done: DriverCommand[] = []
    for (const c of commands) {
      const r = yield* Effect.result(runCommand(core.driver, c))
      if (Result.isFailure(r)) {
        for (const d of done.reverse()) yield* undoCommand(core.driver, d)
        return yield* Effect.fail(connectorFailure(module, r.failure))
      }
      done.push(c)
    }
  })
}

/**
 * Runs a pure state operation: decide on the current state, run its driver commands, commit.
 * `conflictRs` is the connector's reason code for a Conflict from this operation.
 */
export function mutate<A>(core: SdkCore, module: ConnectorModule,
  decide: (s: SdkState) => Result.Result<Step<A>, CorralError>, conflictRs?: number):
  Effect.Effect<A, SdkFailure> {
  return core.serial(Effect.gen(function* () {
    const step = yield* fromOutcome(module, decide(yield* Ref.get(core.state)), conflictRs)
    yield* runCommands(core, module, step.commands)
    yield* Ref.set(core.state, step.state)
    return step.output
  }))
}

/** Reads the state (under the lock, so a read never sees half an operation). */
export function read<A>(core: SdkCore, module: ConnectorModule,
  f: (s: SdkState) => Result.Result<A, CorralError>): Effect.Effect<A, SdkFailure> {
  return core.serial(Effect.flatMap(Ref.get(core.state), (s) => fromOutcome(module, f(s))))
}

const UseridArgument = Schema.Struct({ userid: Userid })

/** Decodes a bare userid argument. */
export function decodeUserid(userid: unknown): Effect.Effect<string, SdkFailure> {
  if (typeof userid === "string" && useridPattern.test(userid)) {
    return Effect.succeed(canonical(userid))
  }
  return Effect.map(decodeInput(UseridArgument, { userid }), (r) => canonical(r.userid))
}

/** Polls the driver until the guest is off, at most `timeoutS`, every `pollS` (Effect's Clock). */
function waitOff(driver: DriverShape, userid: string, timeoutS: number, pollS: number):
  Effect.Effect<boolean, DriverError> {
  return Effect.gen(function* () {
    const start = yield* Clock.currentTimeMillis
    const pollsMax = Math.ceil(timeoutS / pollS) + 1
    for (let poll = 0; poll < pollsMax; poll++) {
      if ((yield* driver.powerState(userid)) === "off") return true
      const waited = (yield* Clock.currentTimeMillis) - start
      const left = timeoutS * 1000 - waited
      if (left <= 0) return false
      yield* Effect.sleep(Duration.millis(Math.min(pollS * 1000, left)))
    }
    return (yield* driver.powerState(userid)) === "off"
  })
}

function act(driver: DriverShape, userid: string, action: PowerOperation,
  options: { timeoutS: number; pollS: number }): Effect.Effect<void, DriverError> {
  switch (action) {
    case "start": return driver.start(userid)
    case "pause": return driver.pause(userid)
    case "unpause": return driver.unpause(userid)
    case "reset": return driver.reset(userid)
    case "reboot": return driver.reboot(userid)
    case "stop":
      return Effect.flatMap(driver.stop(userid), () =>
        Effect.asVoid(waitOff(driver, userid, options.timeoutS, options.pollS)))
    case "softstop":
      return Effect.gen(function* () {
        yield* driver.signalShutdown(userid)
        const off = yield* waitOff(driver, userid, options.timeoutS, options.pollS)
        if (!off) yield* driver.stop(userid)
      })
  }
}

/**
 * A power operation: the guest's state is read from the driver (the hypervisor is the truth),
 * the pure table decides, the driver acts, and the reached state is read back and recorded.
 */
export function power(core: SdkCore, userid: unknown, op: PowerOperation,
  options: unknown = {}): Effect.Effect<void, SdkFailure> {
  return Effect.gen(function* () {
    const id = yield* decodeUserid(userid)
    const o = yield* decodeInput(StopOptions, options)
    yield* core.serial(Effect.gen(function* () {
      yield* fromOutcome("guest", findGuest(yield* Ref.get(core.state), id))
      const current = yield* driverCall("guest", core.driver.powerState(id))
      const plan = yield* fromOutcome("guest", planPower(id, current, op), reasons.notActive)
      if (plan.action !== "none") {
        yield* driverCall("guest", act(core.driver, id, plan.action, {
          timeoutS: o.timeout ?? stopDefaults.timeoutS,
          pollS: o.poll_interval ?? stopDefaults.pollIntervalS,
        }))
      }
      const reached: PowerState = yield* driverCall("guest", core.driver.powerState(id))
      yield* Ref.update(core.state, (s) => recordPower(s, id, reached))
    }))
  })
}

/** Builds the shared core of an SDK over the `Driver` in context. */
export function makeSdkCore(config: SdkConfig): Effect.Effect<SdkCore, never, Driver> {
  return Effect.gen(function* () {
    const driver = yield* Driver
    const state = yield* Ref.make(initialState(config))
    const lock = yield* Semaphore.make(1)
    return { driver, state, serial: (effect) => lock.withPermits(1)(effect) }
  })
}

/** Decodes `guest_inspect_*`'s `userid_list`: one userid or a list of them. */
export function decodeUseridList(input: unknown): Effect.Effect<ReadonlyArray<string>, SdkFailure> {
  const list = typeof input === "string" ? [input] : input
  return Effect.map(decodeInput(UseridList, { userid_list: list }),
    (r) => r.userid_list.map(canonical))
}

const UseridList = Schema.Struct({ userid_list: Schema.Array(Userid).check(Schema.makeFilter(
  (a: ReadonlyArray<string>) => a.length <= sdkLimits.statsUseridsMax ||
    `at most ${sdkLimits.statsUseridsMax} userids`)) })
