/**
 * The periodic sync loop behind `corral replica run`: the core's pure scheduler
 * (core/replication/schedule.ts) decides which replicas are due; this shell owns the timer,
 * runs each due cycle through `syncNow`, records failures for the backoff, and sleeps until the
 * next one is due. The timer is injected, so tests drive it in virtual time without sleeping.
 */
import { Result } from "effect"
import {
  emptySchedule, planSyncs, recordSyncFailure, recordSyncSuccess, replicaKey, type ScheduleState,
} from "../../core/replication/index.ts"
import { recoverStaleCycles, type SyncOptions, syncNow, updateState } from "./runtime.ts"

/** The clock and sleep the loop uses, in seconds. */
export interface SchedulerTimer {
  readonly nowS: () => number
  /** Resolves at `atS` on this timer's clock, or as soon as `signal` aborts. */
  readonly sleepUntilS: (atS: number, signal: AbortSignal) => Promise<void>
}

/** Wall-clock seconds and real timers. */
export const realTimer: SchedulerTimer = {
  nowS: () => Date.now() / 1000,
  sleepUntilS: (atS, signal) => new Promise((resolve) => {
    if (signal.aborted) { resolve(); return }
    const done = () => { clearTimeout(timer); signal.removeEventListener("abort", done); resolve() }
    const timer = setTimeout(done, Math.max(0, atS * 1000 - Date.now()))
    signal.addEventListener("abort", done, { once: true })
  }),
}

/** Longest sleep between two reads of the state, so updates made meanwhile are seen: 5 s. */
export const pollSDefault = 5

/** One finished cycle, as the loop reports it. */
export interface CycleEvent {
  readonly vmUuid: string
  readonly name: string
  readonly atS: number
  readonly generation: number | null
  readonly changedBlockCount: number
  readonly payloadBytes: number
  readonly throttledMs: number
  readonly error: string | null
}

/** How to run the loop. */
export interface RunOptions extends Omit<SyncOptions, "nowS"> {
  readonly timer: SchedulerTimer
  /** Aborting it ends the loop after the cycle in progress (sleeps end at once). */
  readonly signal: AbortSignal
  readonly pollS?: number
  /** Stop after this many cycles (tests and `--cycles`); unbounded when absent. */
  readonly cycleCountMax?: number
  readonly onCycle?: (event: CycleEvent) => void
}

/** Cycles run and how many failed, when the loop ends. */
export interface RunSummary {
  readonly cycleCount: number
  readonly failureCount: number
}

/**
 * Syncs every `enabled` replica in `dir` every `sleep_time` seconds until `signal` aborts (or
 * `cycleCountMax` cycles ran). Paused and absent services are never synced; a failed cycle is
 * retried after a doubling delay (1 s up to `sleep_time`, at most 300 s); `bwlimit` is the
 * sender's. Cycles left in flight by a dead process are recovered before each plan.
 */
export async function runScheduler(dir: string, opts: RunOptions): Promise<RunSummary> {
  const pollS = opts.pollS ?? pollSDefault
  if (!(pollS > 0)) throw new Error(`pollS must be positive, got ${pollS}`)
  const max = opts.cycleCountMax ?? Number.POSITIVE_INFINITY
  let schedule: ScheduleState = emptySchedule
  let cycleCount = 0, failureCount = 0
  while (!opts.signal.aborted && cycleCount < max) {
    const state = updateState(dir, (loaded) => {
      const recovered = recoverStaleCycles(loaded).state
      return { state: recovered, value: recovered }
    })
    const nowS = opts.timer.nowS()
    const plan = planSyncs(state.replication, schedule, nowS)
    if (plan.due.length === 0) {
      const wake = Math.min(plan.wakeAtS ?? Number.POSITIVE_INFINITY, nowS + pollS)
      await opts.timer.sleepUntilS(wake, opts.signal)
      continue
    }
    for (const due of plan.due) {
      if (opts.signal.aborted || cycleCount >= max) break
      const replica = state.replication.replicas[replicaKey(due.vmUuid, due.name)]!
      const { outcome } = await syncNow(dir, due.vmUuid, due.name,
        { ...opts, nowS: opts.timer.nowS })
      cycleCount++
      const atS = opts.timer.nowS()
      if (Result.isSuccess(outcome)) {
        schedule = recordSyncSuccess(schedule, due.vmUuid, due.name)
        const r = outcome.success
        opts.onCycle?.({ vmUuid: due.vmUuid, name: due.name, atS, generation: r.generation,
          changedBlockCount: r.changedBlockCount, payloadBytes: r.payloadBytes,
          throttledMs: r.throttledMs, error: null })
      } else {
        failureCount++
        schedule = recordSyncFailure(schedule, replica, atS)
        opts.onCycle?.({ vmUuid: due.vmUuid, name: due.name, atS, generation: null,
          changedBlockCount: 0, payloadBytes: 0, throttledMs: 0,
          error: outcome.failure.message })
      }
    }
  }
  return { cycleCount, failureCount }
}
