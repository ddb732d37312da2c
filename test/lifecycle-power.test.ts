import fc from "fast-check"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import {
  planPower, powerOperations, powerStates, type PowerOperation, type PowerState,
} from "../core/lifecycle/power.ts"
import { expectBadRequest, simSdk, type SimSdk } from "./sdk-harness.ts"

/** The connector's behaviour, (state, op) → next state or "conflict". */
const table: Record<PowerState, Record<PowerOperation, PowerState | "conflict">> = {
  off: { start: "on", stop: "off", softstop: "off", reboot: "conflict", reset: "conflict",
    pause: "conflict", unpause: "conflict" },
  on: { start: "on", stop: "off", softstop: "off", reboot: "on", reset: "on", pause: "paused",
    unpause: "on" },
  paused: { start: "paused", stop: "off", softstop: "off", reboot: "conflict",
    reset: "conflict", pause: "paused", unpause: "on" },
}

const pairs = powerStates.flatMap((s) => powerOperations.map((op) => [s, op] as const))

function bringTo(t: SimSdk, state: PowerState): void {
  t.ok(t.sdk.guest_create({ userid: "VM1", vcpus: 1, memory: 512 }))
  if (state !== "off") t.ok(t.sdk.guest_start("VM1"))
  if (state === "paused") t.ok(t.sdk.guest_pause("VM1"))
  expect(t.ok(t.sdk.guest_get_power_state("VM1"))).toBe(state)
}

function call(t: SimSdk, op: PowerOperation) {
  switch (op) {
    case "start": return t.sdk.guest_start("VM1")
    case "stop": return t.sdk.guest_stop("VM1", { timeout: 60, poll_interval: 5 })
    case "softstop": return t.sdk.guest_softstop("VM1", { timeout: 60, poll_interval: 5 })
    case "reboot": return t.sdk.guest_reboot("VM1")
    case "reset": return t.sdk.guest_reset("VM1")
    case "pause": return t.sdk.guest_pause("VM1")
    case "unpause": return t.sdk.guest_unpause("VM1")
  }
}

describe("power state machine: every (state, operation) pair", () => {
  it.each(pairs)("pure table: %s + %s", (state, op) => {
    const r = planPower("VM1", state, op)
    const want = table[state][op]
    if (want === "conflict") {
      expect(Result.isFailure(r)).toBe(true)
      if (Result.isFailure(r)) {
        expect(r.failure.message).toBe(`Guest 'VM1' is not in active status: cannot ${op} ` +
          `a guest that is ${state}.`)
      }
    } else {
      expect(Result.isSuccess(r) && r.success.to).toBe(want)
    }
  })

  it.each(pairs)("through the SDK on the sim driver: %s + %s", (state, op) => {
    const t = simSdk()
    bringTo(t, state)
    const want = table[state][op]
    if (want === "conflict") {
      const f = t.fails(call(t, op))
      expect(f.cause._tag).toBe("Conflict")
      expect(f.httpStatus).toBe(409)
      expect(f.connector).toMatchObject({ overallRC: 409, rc: 409, rs: 1, modID: 10 })
    } else {
      t.ok(call(t, op))
    }
    expect(t.ok(t.sdk.guest_get_power_state("VM1"))).toBe(want === "conflict" ? state : want)
  })

  it("the transition functions assert their source state", async () => {
    const power = await import("../core/lifecycle/power.ts")
    expect(() => power.powerOn("on")).toThrow(/powerOn called from on/)
    expect(() => power.suspend("off")).toThrow(/suspend called from off/)
    expect(() => power.resume("on")).toThrow(/resume called from on/)
  })

  it("every operation on an unknown userid is not found", () => {
    const t = simSdk()
    for (const op of powerOperations) {
      const f = t.fails(call(t, op))
      expect(f.cause).toMatchObject({ _tag: "NotFound", resource: "guest", id: "VM1" })
      expect(f.connector).toMatchObject({ overallRC: 404, rc: 404, rs: 1, modID: 10 })
    }
    expect(t.fails(t.sdk.guest_get_power_state("VM1")).httpStatus).toBe(404)
  })
})

describe("softstop and stop wait in (virtual) time", () => {
  it("softstop waits for the OS, polling every poll_interval", () => {
    const t = simSdk({ shutdownDelayS: 30 })
    bringTo(t, "on")
    const before = t.clock.nowMs()
    t.ok(t.sdk.guest_softstop("VM1", { timeout: 300, poll_interval: 20 }))
    // polls at 0, 20, 40 s: off at the 40 s poll (the OS took 30 s)
    expect(t.clock.nowMs() - before).toBe(40_000)
    expect(t.ok(t.sdk.guest_get_console_output("VM1"))).toContain("guest OS shut down")
  })

  it("softstop logs a guest that ignores the signal off after the timeout", () => {
    const t = simSdk({ ignoresShutdown: ["VM1"] })
    bringTo(t, "on")
    const before = t.clock.nowMs()
    t.ok(t.sdk.guest_softstop("VM1", { timeout: 50, poll_interval: 20 }))
    expect(t.clock.nowMs() - before).toBe(50_000)
    expect(t.ok(t.sdk.guest_get_power_state("VM1"))).toBe("off")
  })

  it("uses the recommended defaults 300 s / 20 s", () => {
    const t = simSdk({ ignoresShutdown: ["VM1"] })
    bringTo(t, "on")
    const before = t.clock.nowMs()
    t.ok(t.sdk.guest_softstop("VM1"))
    expect(t.clock.nowMs() - before).toBe(300_000)
  })

  it("stop is immediate for the memory driver", () => {
    const t = simSdk()
    bringTo(t, "on")
    const before = t.clock.nowMs()
    t.ok(t.sdk.guest_stop("VM1"))
    expect(t.clock.nowMs()).toBe(before)
  })

  const bad: ReadonlyArray<[Record<string, unknown>, string, string]> = [
    [{ timeout: -1 }, "timeout", "a number of seconds from 0 to 86400"],
    [{ poll_interval: 0 }, "poll_interval", "a number of seconds from 1 to 86400"],
    [{ timeout: 1.5 }, "timeout", "Expected an integer"],
  ]
  it.each(bad)("rejects %j", (kwargs, path, message) => {
    const t = simSdk()
    bringTo(t, "on")
    expectBadRequest(t.fails(t.sdk.guest_softstop("VM1", kwargs)), path, message)
    expect(t.ok(t.sdk.guest_get_power_state("VM1"))).toBe("on")
  })
})

describe("power properties", () => {
  it("any operation sequence: the SDK's state is the table's, and the driver agrees", () => {
    const t = simSdk({ shutdownDelayS: 5 })
    fc.assert(fc.property(fc.array(fc.constantFrom(...powerOperations), { maxLength: 8 }),
      (ops) => {
        if (t.ok(t.sdk.guest_list()).length > 0) t.ok(t.sdk.guest_delete("VM1"))
        t.ok(t.sdk.guest_create({ userid: "VM1", vcpus: 1, memory: 512 }))
        let model: PowerState = "off"
        for (const op of ops) {
          const want: PowerState | "conflict" = table[model][op]
          if (want === "conflict") t.fails(call(t, op))
          else { t.ok(call(t, op)); model = want }
        }
        expect(t.ok(t.sdk.snapshot()).guests.get("VM1")!.power).toBe(model)
        expect(t.ok(t.sdk.guest_get_power_state("VM1"))).toBe(model)
      }))
  })

  it("cpu_time never decreases and only grows while on", () => {
    const t = simSdk()
    fc.assert(fc.property(fc.array(fc.tuple(fc.constantFrom(...powerOperations),
      fc.integer({ min: 0, max: 60_000 })), { maxLength: 6 }), (steps) => {
      if (t.ok(t.sdk.guest_list()).length > 0) t.ok(t.sdk.guest_delete("VM1"))
      t.ok(t.sdk.guest_create({ userid: "VM1", vcpus: 2, memory: 512 }))
      let last = 0
      for (const [op, ms] of steps) {
        const state = t.ok(t.sdk.guest_get_power_state("VM1"))
        t.clock.advance(ms)
        const cpu = t.ok(t.sdk.guest_get_info("VM1")).cpu_time_us
        if (state === "on") expect(cpu).toBe(last + ms * 1000)
        else expect(cpu).toBe(last)
        last = cpu
        const r = call(t, op)
        if (table[state][op] === "conflict") t.fails(r)
        else t.ok(r)
        last = t.ok(t.sdk.guest_get_info("VM1")).cpu_time_us
      }
    }))
  })
})
