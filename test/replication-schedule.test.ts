// The periodic sync scheduler (core/replication/schedule.ts): pure, time as values.
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  abortSync, emptySchedule, planSyncs, recordSyncFailure, recordSyncSuccess, retryDelayS,
  retryDelaySMax, startSync, updateReplica,
} from "../core/replication/index.ts"
import { inPhase, must, only, synced, world } from "./replication-fixture.ts"

describe("planSyncs", () => {
  it("an enabled replica is due sleep_time after its last sync, not before", () => {
    const s = synced(world(), { node: "h2", sleep_time: 30 }) // last_sync at 10
    expect(planSyncs(s, emptySchedule, 39.9)).toEqual({ due: [], wakeAtS: 40 })
    expect(planSyncs(s, emptySchedule, 40).due).toEqual([{ vmUuid: "u-1", name: "r1", dueAtS: 40 }])
  })

  it("paused, absent (failed over) and busy replicas are never due", () => {
    for (const phase of ["paused", "failedOver", "syncing", "pausedSyncing"] as const) {
      expect(planSyncs(inPhase(phase), emptySchedule, 1e9)).toEqual({ due: [], wakeAtS: null })
    }
  })

  it("re-enabling makes a replica due at once; a new sleep_time moves the next sync", () => {
    const w = world()
    const paused = must(updateReplica(synced(w), w, "web1", "r1", { enabled: false }, 20)).state
    const again = must(updateReplica(paused, w, "web1", "r1", { enabled: true }, 25)).state
    expect(planSyncs(again, emptySchedule, 25).due.map((d) => d.dueAtS)).toEqual([25])
    const slower = must(updateReplica(synced(w), w, "web1", "r1", { sleep_time: 600 }, 20)).state
    expect(planSyncs(slower, emptySchedule, 100)).toEqual({ due: [], wakeAtS: 610 })
  })

  it("a failed cycle is retried after a doubling delay, capped by sleep_time and 300 s", () => {
    const w = world()
    let s = synced(w, { node: "h2", sleep_time: 3600 })
    let schedule = emptySchedule
    const retries: number[] = []
    let now = 3610
    for (let i = 0; i < 12; i++) {
      expect(planSyncs(s, schedule, now).due).toHaveLength(1)
      const started = must(startSync(s, w, "web1", "r1", now))
      s = must(abortSync(started.state, w, "web1", "r1")).state
      schedule = recordSyncFailure(schedule, only(s), now)
      const plan = planSyncs(s, schedule, now)
      expect(plan.due).toEqual([])
      retries.push(plan.wakeAtS! - now)
      now = plan.wakeAtS!
    }
    expect(retries).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300])
    schedule = recordSyncSuccess(schedule, "u-1", "r1")
    expect(schedule).toEqual(emptySchedule)
    expect(retryDelayS(40, 5)).toBe(5)
  })

  it("property: due iff enabled, idle and now >= the due time; wake time is in the future", () => {
    const w = world()
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 86_400 }), fc.boolean(), fc.double({ min: 0, max: 2e5,
        noNaN: true }), fc.nat({ max: 20 }),
      (sleepTime, enabled, now, failures) => {
        let s = synced(w, { node: "h2", sleep_time: sleepTime })
        if (!enabled) s = must(updateReplica(s, w, "web1", "r1", { enabled: false }, 10)).state
        let schedule = emptySchedule
        for (let i = 0; i < failures; i++) schedule = recordSyncFailure(schedule, only(s), 10)
        const plan = planSyncs(s, schedule, now)
        const retryAt = failures === 0 ? 10 : 10 + Math.min(2 ** (failures - 1), retryDelaySMax,
          Math.max(sleepTime, 1))
        const dueAt = Math.max(10 + sleepTime, retryAt)
        expect(plan.due.length).toBe(enabled && now >= dueAt ? 1 : 0)
        if (plan.wakeAtS !== null) expect(plan.wakeAtS).toBeGreaterThan(now)
        expect(plan.wakeAtS).toBe(enabled && now < dueAt ? dueAt : null)
      }))
  })
})
