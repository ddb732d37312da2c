/**
 * The guest power state machine, with the z/VM cloud connector's established behaviour.
 *
 * States: `off` (logged off), `on` (running), `paused`. Starting a guest that runs and stopping
 * one that is off succeed without doing anything (idempotent); pausing or unpausing a guest that
 * is off, and rebooting or resetting one that is off or paused, are conflicts (the connector's
 * "not in active status", 409 rs 1). Each transition is its own function that first asserts its
 * source state; `planPower` picks one from the table and says what the driver must do.
 */
import { Conflict, err, ok, type Outcome } from "../errors.ts"

/** A guest's power state. The connector reports `on`/`off`; `paused` is Corral's third state. */
export type PowerState = "off" | "on" | "paused"

/** Every power operation of the connector API. */
export type PowerOperation =
  | "start" | "stop" | "softstop" | "reboot" | "reset" | "pause" | "unpause"

/** All power states, for tables and properties. */
export const powerStates: ReadonlyArray<PowerState> = ["off", "on", "paused"]
/** All power operations, for tables and properties. */
export const powerOperations: ReadonlyArray<PowerOperation> =
  ["start", "stop", "softstop", "reboot", "reset", "pause", "unpause"]

/** What the driver must do for an accepted operation: nothing, or one driver action. */
export type DriverAction = "none" | PowerOperation

/** An accepted power operation: the state it leads to and the driver action that gets there. */
export interface PowerPlan {
  readonly from: PowerState
  readonly to: PowerState
  readonly action: DriverAction
}

function assertState(op: string, state: PowerState, allowed: ReadonlyArray<PowerState>): void {
  if (!allowed.includes(state)) {
    throw new Error(`power transition ${op} called from ${state}; allowed: ${allowed.join(",")}`)
  }
}

/** `start` of a guest that is off: it comes up running. */
export function powerOn(state: PowerState): PowerPlan {
  assertState("powerOn", state, ["off"])
  return { from: state, to: "on", action: "start" }
}

/** `stop` (hard) of a guest that runs or is paused. */
export function powerOff(state: PowerState): PowerPlan {
  assertState("powerOff", state, ["on", "paused"])
  return { from: state, to: "off", action: "stop" }
}

/** `softstop`: shutdown signal, wait, then logoff; from running or paused. */
export function softPowerOff(state: PowerState): PowerPlan {
  assertState("softPowerOff", state, ["on", "paused"])
  return { from: state, to: "off", action: "softstop" }
}

/** `pause` of a running guest. */
export function suspend(state: PowerState): PowerPlan {
  assertState("suspend", state, ["on"])
  return { from: state, to: "paused", action: "pause" }
}

/** `unpause` of a paused guest. */
export function resume(state: PowerState): PowerPlan {
  assertState("resume", state, ["paused"])
  return { from: state, to: "on", action: "unpause" }
}

/** `reboot` of a running guest: it comes back running. */
export function reboot(state: PowerState): PowerPlan {
  assertState("reboot", state, ["on"])
  return { from: state, to: "on", action: "reboot" }
}

/** `reset` of a running guest: it comes back running. */
export function reset(state: PowerState): PowerPlan {
  assertState("reset", state, ["on"])
  return { from: state, to: "on", action: "reset" }
}

/** An accepted operation that changes nothing (start of a running guest, stop of one off…). */
export function unchanged(state: PowerState): PowerPlan {
  return { from: state, to: state, action: "none" }
}

/** The connector's "not in active status" conflict for `userid`. */
export function notActive(userid: string, op: PowerOperation, state: PowerState): Conflict {
  return new Conflict({
    message: `Guest '${userid}' is not in active status: cannot ${op} a guest that is ${state}.`,
  })
}

/**
 * Decides a power operation: the plan, or a Conflict. The full table:
 *
 * | op       | off      | on        | paused    |
 * |----------|----------|-----------|-----------|
 * | start    | → on     | no-op     | no-op     |
 * | stop     | no-op    | → off     | → off     |
 * | softstop | no-op    | → off     | → off     |
 * | reboot   | conflict | → on      | conflict  |
 * | reset    | conflict | → on      | conflict  |
 * | pause    | conflict | → paused  | no-op     |
 * | unpause  | conflict | no-op     | → on      |
 */
export function planPower(
  userid: string,
  state: PowerState,
  op: PowerOperation,
): Outcome<PowerPlan, Conflict> {
  switch (op) {
    case "start": return ok(state === "off" ? powerOn(state) : unchanged(state))
    case "stop": return ok(state === "off" ? unchanged(state) : powerOff(state))
    case "softstop": return ok(state === "off" ? unchanged(state) : softPowerOff(state))
    case "reboot": return state === "on" ? ok(reboot(state)) : err(notActive(userid, op, state))
    case "reset": return state === "on" ? ok(reset(state)) : err(notActive(userid, op, state))
    case "pause":
      if (state === "off") return err(notActive(userid, op, state))
      return ok(state === "on" ? suspend(state) : unchanged(state))
    case "unpause":
      if (state === "off") return err(notActive(userid, op, state))
      return ok(state === "paused" ? resume(state) : unchanged(state))
  }
}
