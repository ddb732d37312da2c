/**
 * The growth plan: "how many hosts for next year's demand?". Binary search over the fleet's
 * racks per zone for the smallest fleet whose rejection rate meets the scenario's target, each
 * probe a full simulation with the same seed (so probes differ only in the fleet). Assumes the
 * rejection rate does not grow with the fleet, which holds for the same demand up to noise.
 */
import { Result } from "effect"
import { scenarioLimits } from "../../core/scenario/schema.ts"
import { type LoadedScenario, loadScenario, runScenario } from "./run.ts"

/** One probe of the search. */
export interface GrowthProbe {
  readonly racksPerZone: number
  readonly hosts: number
  readonly rejectionRate: number
  readonly requests: number
}

/** The search's answer. */
export interface GrowthResult {
  readonly target: number
  /** The smallest fleet that meets the target, or null when even the largest does not. */
  readonly answer: GrowthProbe | null
  readonly probes: ReadonlyArray<GrowthProbe>
  readonly summary: string
}

/** Runs the search; `log` gets one line per probe. */
export function growthSearch(
  loaded: LoadedScenario,
  seed: number,
  log: (line: string) => void = () => undefined,
): GrowthResult {
  const growth = loaded.scenario.spec.growth
  if (growth === undefined) throw new Error("growthSearch on a scenario without growth")
  const probes: GrowthProbe[] = []
  const probe = (racksPerZone: number): GrowthProbe => {
    const reloaded = loadScenario(loaded.path,
      [...loaded.overrides, ["fleet.topology.racksPerZone", racksPerZone]])
    if (Result.isFailure(reloaded)) throw new Error(reloaded.failure.message)
    const { report } = runScenario(reloaded.success, { seed })
    const p = { racksPerZone, hosts: report.hosts, rejectionRate: report.requests.rejectionRate,
      requests: report.requests.total }
    probes.push(p)
    log(`probe: ${racksPerZone} racks/zone, ${p.hosts} hosts → rejection rate ` +
      `${(p.rejectionRate * 100).toFixed(2)}% of ${p.requests} requests`)
    return p
  }
  const meets = (p: GrowthProbe) => p.rejectionRate <= growth.rejectionRateMax
  let lo = growth.racksPerZoneMin
  let hi = growth.racksPerZoneMax
  let best: GrowthProbe | null = null
  const top = probe(hi)
  if (meets(top)) {
    best = top
    for (let i = 0; i < scenarioLimits.growthIterationsMax && lo < hi; i++) {
      const mid = Math.floor((lo + hi) / 2)
      const p = probe(mid)
      if (meets(p)) {
        best = p
        hi = mid
      } else lo = mid + 1
    }
  }
  const target = growth.rejectionRateMax
  const summary = best === null
    ? `even ${top.hosts} hosts (${top.racksPerZone} racks/zone) reject ` +
      `${(top.rejectionRate * 100).toFixed(2)}% > target ${(target * 100).toFixed(2)}%`
    : `smallest fleet meeting rejection rate ≤ ${(target * 100).toFixed(2)}%: ` +
      `${best.hosts} hosts (${best.racksPerZone} racks/zone), rejection rate ` +
      `${(best.rejectionRate * 100).toFixed(2)}%; ${probes.length} probes`
  return { target, answer: best, probes, summary }
}
