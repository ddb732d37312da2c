/**
 * One case of a sweep, run in a worker thread of the pool: load the scenario with the case's
 * overrides, simulate with its seed, return the figures the sweep aggregates.
 */
import { Result } from "effect"
import { loadScenario, runScenario } from "./run.ts"

/** What the pool sends a worker. */
export interface SweepCase {
  readonly path: string
  readonly overrides: ReadonlyArray<readonly [string, unknown]>
  readonly seed: number
}

/** The figures of one run that a sweep aggregates (all numbers, same keys for every case). */
export type SweepFigures = Record<string, number>

/** Runs one case; a bad scenario or a broken invariant rejects with its message. */
export default function runCase(c: SweepCase): SweepFigures {
  const loaded = loadScenario(c.path, c.overrides)
  if (Result.isFailure(loaded)) throw new Error(loaded.failure.message)
  const { report: r } = runScenario(loaded.success, { seed: c.seed })
  return {
    rejectionRate: r.requests.rejectionRate,
    accepted: r.requests.accepted,
    vcpusP95: r.utilisation["vcpus"]?.p95 ?? 0,
    ramP95: r.utilisation["ramMb"]?.p95 ?? 0,
    hostsInUseMax: r.hostsInUse.max,
    fragmentationP50: r.fragmentation.p50,
    rpoP99S: r.replication.rpoS.p99,
    failovers: r.replication.failovers,
    rtoP99S: r.replication.rtoS.p99,
    bootTimeSavedS: r.pmem.bootTimeSavedS,
  }
}
