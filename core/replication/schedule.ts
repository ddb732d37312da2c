/**
 * The periodic sync scheduler as pure functions: which replicas are due now, when to wake next,
 * and a bounded retry backoff after a failed cycle. A replica whose service is `enabled` syncs
 * every `sleep_time` seconds (counted from its last acknowledgement, or at once after it was
 * enabled); `paused` and `disabled` (absent service) never do. Time is a value in seconds; the
 * runtime shell owns the real timers and calls these between cycles.
 */
import { type Replica, replicaKey, type ReplicationState } from "./model.ts"
import { nextSyncDueS } from "./sync.ts"

/** First retry delay after a failed cycle, in seconds; it doubles with each failure in a row. */
export const retryDelaySMin = 1
/** Longest retry delay, in seconds (never longer than the replica's `sleep_time` either). */
export const retryDelaySMax = 300
/** Failures in a row remembered per replica (the delay stops doubling well before). */
export const failureCountMax = 1_000_000

/** Failures in a row of one replica's cycles, and when it may be retried. */
export interface RetryState {
  readonly failureCount: number
  readonly retryAtS: number
}

/** The scheduler's own state: retries, keyed like `ReplicationState.replicas`. */
export interface ScheduleState {
  readonly retries: Readonly<Record<string, RetryState>>
}

/** No failures recorded. */
export const emptySchedule: ScheduleState = { retries: {} }

/** A replica to sync now. */
export interface DueSync {
  readonly vmUuid: string
  readonly name: string
  readonly dueAtS: number
}

/** What to do now: the cycles to start (most overdue first) and when to look again. */
export interface SyncPlan {
  readonly due: ReadonlyArray<DueSync>
  /** The earliest time a replica not due now becomes due; null when none ever will by itself. */
  readonly wakeAtS: number | null
}

/** When `replica` should next start a cycle, retries included, or null (paused, absent, busy). */
export function dueAtS(replica: Replica, schedule: ScheduleState): number | null {
  const due = nextSyncDueS(replica)
  if (due === null) return null
  const retry = schedule.retries[replicaKey(replica.vmUuid, replica.name)]
  return retry === undefined ? due : Math.max(due, retry.retryAtS)
}

/** The replicas due at `nowS`, and when the next one not yet due will be. */
export function planSyncs(
  state: ReplicationState, schedule: ScheduleState, nowS: number,
): SyncPlan {
  if (!Number.isFinite(nowS)) throw new Error(`planSyncs: nowS ${nowS} is not a time`)
  const due: DueSync[] = []
  let wakeAtS: number | null = null
  for (const replica of Object.values(state.replicas)) {
    const at = dueAtS(replica, schedule)
    if (at === null) continue
    if (at <= nowS) due.push({ vmUuid: replica.vmUuid, name: replica.name, dueAtS: at })
    else if (wakeAtS === null || at < wakeAtS) wakeAtS = at
  }
  due.sort((a, b) => a.dueAtS - b.dueAtS ||
    replicaKey(a.vmUuid, a.name).localeCompare(replicaKey(b.vmUuid, b.name)))
  return { due, wakeAtS }
}

/** The delay before retry number `failureCount` (1-based) of a replica with `sleepTimeS`. */
export function retryDelayS(failureCount: number, sleepTimeS: number): number {
  if (!Number.isSafeInteger(failureCount) || failureCount < 1) {
    throw new Error(`retryDelayS: failureCount ${failureCount} is not a positive count`)
  }
  const doubled = retryDelaySMin * 2 ** Math.min(failureCount - 1, 30)
  return Math.min(doubled, retryDelaySMax, Math.max(sleepTimeS, retryDelaySMin))
}

/** Records a failed cycle of `replica` at `nowS`: it is retried after a growing delay. */
export function recordSyncFailure(
  schedule: ScheduleState, replica: Replica, nowS: number,
): ScheduleState {
  const key = replicaKey(replica.vmUuid, replica.name)
  const failureCount = Math.min((schedule.retries[key]?.failureCount ?? 0) + 1, failureCountMax)
  const retryAtS = nowS + retryDelayS(failureCount, replica.config.sleepTimeS)
  return { retries: { ...schedule.retries, [key]: { failureCount, retryAtS } } }
}

/** Records an acknowledged cycle (or a replica gone): its retry state is dropped. */
export function recordSyncSuccess(
  schedule: ScheduleState, vmUuid: string, name: string,
): ScheduleState {
  const key = replicaKey(vmUuid, name)
  if (schedule.retries[key] === undefined) return schedule
  const retries = { ...schedule.retries }
  delete retries[key]
  return { retries }
}
