/**
 * The replica transition table, in one place. A replica's phase is derived from its explicit
 * state; every (phase, operation) pair is either allowed or names the typed error it returns.
 * Creating a replica is not in the table: it applies to a replica that does not exist yet.
 */
import { Conflict, type CorralError, PreconditionRequired } from "../errors.ts"
import type { Replica } from "./model.ts"

/** The phases a replica can be in. */
export const replicaPhases = [
  "enabled", "syncing", "paused", "pausedSyncing", "failedOver",
] as const
export type ReplicaPhase = (typeof replicaPhases)[number]

/** The operations on an existing replica. */
export const replicaOperations = [
  "show", "update", "delete", "failover", "reinit", "syncStart", "syncAck", "syncAbort",
] as const
export type ReplicaOperation = (typeof replicaOperations)[number]

/** A table cell: allowed, or the error kind and why. */
export type Verdict =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly error: "Conflict" | "PreconditionRequired";
    readonly reason: string }

const yes: Verdict = { allowed: true }
const conflict = (reason: string): Verdict => ({ allowed: false, error: "Conflict", reason })
const precondition = (reason: string): Verdict =>
  ({ allowed: false, error: "PreconditionRequired", reason })

const noReinit = precondition("no reinit is required (no failover happened)")
const needsReinit = precondition("reinit is required after a failover")
const noCycle = conflict("no sync cycle is in flight")
const oneCycle = conflict("a sync cycle is already in flight")

const idle = {
  show: yes, update: yes, delete: yes, failover: yes, reinit: noReinit,
  syncStart: yes, syncAck: noCycle, syncAbort: noCycle,
} as const
const busy = {
  show: yes, update: yes, delete: yes, failover: yes, reinit: noReinit,
  syncStart: oneCycle, syncAck: yes, syncAbort: yes,
} as const

/**
 * The whole table. `paused` still allows a sync cycle: the first sync of a replica created with
 * `enabled: false`, or a manual `sync-now`; the scheduler only starts cycles while `enabled`.
 */
export const transitionTable: Readonly<Record<ReplicaPhase, Readonly<Record<ReplicaOperation,
  Verdict>>>> = {
  enabled: idle,
  syncing: busy,
  paused: idle,
  pausedSyncing: busy,
  failedOver: {
    show: yes, update: needsReinit, delete: yes, failover: needsReinit, reinit: yes,
    syncStart: needsReinit, syncAck: needsReinit, syncAbort: needsReinit,
  },
}

/** The phase of a replica, from its explicit state (asserts the state is consistent). */
export function phaseOf(replica: Replica): ReplicaPhase {
  if (replica.reinitRequired) {
    if (replica.syncStatus !== "disabled" || replica.inFlight !== null) {
      throw new Error(`replica ${replica.name}: reinit_required with a live service`)
    }
    return "failedOver"
  }
  if (replica.syncStatus === "disabled") {
    throw new Error(`replica ${replica.name}: service absent without reinit_required`)
  }
  const busyNow = replica.inFlight !== null
  if (replica.syncStatus === "enabled") return busyNow ? "syncing" : "enabled"
  return busyNow ? "pausedSyncing" : "paused"
}

/** The table's verdict for `operation` on `replica`, as an error value, or null when allowed. */
export function checkTransition(replica: Replica, operation: ReplicaOperation): CorralError | null {
  const verdict = transitionTable[phaseOf(replica)][operation]
  if (verdict.allowed) return null
  const message = `replica ${replica.name} of ${replica.vmHostname}: cannot ${operation}: ` +
    verdict.reason
  return verdict.error === "Conflict"
    ? new Conflict({ message })
    : new PreconditionRequired({ message })
}
