/**
 * Test harness for the SDK on the memory driver in virtual time: `simSdk()` gives the SDK, its
 * driver and clock, and `ok`/`fails` run an operation synchronously (the memory driver never
 * waits on real time) and return its output or its SdkFailure.
 */
import { Clock, Effect, Exit, Cause } from "effect"
import { expect } from "vitest"
import { makeSdk, type SdkApi } from "../core/sdk/api.ts"
import type { SdkFailure } from "../core/sdk/connector.ts"
import { defaultSdkConfig, type SdkConfig } from "../core/sdk/state.ts"
import { layerSim, makeMemoryDriver, type MemoryDriverOptions, type MemoryDriver,
  virtualClock, type VirtualClock } from "../adapters/sim/memory-driver.ts"
import { host, inventoryOf } from "./builders.ts"

export interface SimSdk {
  readonly sdk: SdkApi
  readonly driver: MemoryDriver
  readonly clock: VirtualClock
  readonly ok: <A>(op: Effect.Effect<A, SdkFailure>) => A
  readonly fails: <A>(op: Effect.Effect<A, SdkFailure>) => SdkFailure
}

/** The image root every SDK in tests uses. */
export const imageRoot = "/srv/images"

/** An SDK over a host with pools ECKD:POOL1 (10 GiB), FBA:FBA1 (1 GiB) and vswitch VSW1. */
export function simSdk(options: MemoryDriverOptions = {}, config: Partial<SdkConfig> = {}): SimSdk {
  const inv = inventoryOf(host("zvm1").cpus(16).ram(65536).diskPool("ECKD:POOL1", 10240)
    .diskPool("FBA:FBA1", 1024).vswitch("VSW1"))
  const driver = makeMemoryDriver(options)
  const clock = virtualClock(1_000_000)
  const run = <A, E>(e: Effect.Effect<A, E>) =>
    Effect.runSyncExit(e.pipe(Effect.provideService(Clock.Clock, clock)))
  const made = run(makeSdk({ ...defaultSdkConfig, host: inv.hosts[0]!,
    defaultDiskPool: "ECKD:POOL1", imageRoot, ...config }).pipe(
    Effect.provide(layerSim(driver))))
  if (!Exit.isSuccess(made)) throw new Error("makeSdk failed")
  const sdk = made.value
  return {
    sdk, driver, clock,
    ok: (op) => {
      const exit = run(op)
      if (Exit.isSuccess(exit)) return exit.value
      throw new Error(`expected success, got ${Cause.pretty(exit.cause)}`)
    },
    fails: (op) => {
      const exit = run(op)
      if (Exit.isSuccess(exit)) {
        throw new Error(`expected failure, got ${JSON.stringify(exit.value)}`)
      }
      const failure = exit.cause.reasons.find((r) => r._tag === "Fail")
      if (failure === undefined || failure._tag !== "Fail") {
        throw new Error(Cause.pretty(exit.cause))
      }
      return failure.error
    },
  }
}

/** Asserts a BadRequest naming `path` with `message` (the connector's invalid input, 100/400). */
export function expectBadRequest(f: SdkFailure, path: string, message: string): void {
  expect(f.cause._tag).toBe("BadRequest")
  expect(f.httpStatus).toBe(400)
  expect(f.connector).toMatchObject({ overallRC: 100, rc: 100, rs: 3, modID: 400 })
  if (f.cause._tag !== "BadRequest") return
  expect(f.cause.issues).toContainEqual({ path, message })
}
