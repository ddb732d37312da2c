/**
 * Running a scenario file end to end: read and decode it (with overrides), read its trace, build
 * the real core behind the cluster port, simulate with the invariant checkers on, build the
 * report. The only module of the simulator that touches the file system.
 */
import { readFileSync } from "node:fs"
import { dirname, resolve } from "node:path"
import { Result } from "effect"
import { type BadRequest, invalid } from "../../core/errors.ts"
import { parseJson } from "../../core/decode.ts"
import {
  decodeScenario, parseTrace, type Scenario, setPath, type TraceRequest,
} from "../../core/scenario/scenario.ts"
import { CoreCluster } from "./core-cluster.ts"
import { simulate, type Simulation } from "./engine.ts"
import { checkAll } from "./invariants.ts"
import type { PciDemand } from "./port.ts"
import { buildReport, type Report } from "./recorder.ts"

/** A scenario ready to run: decoded, with its trace and where it came from. */
export interface LoadedScenario {
  readonly path: string
  readonly scenario: Scenario
  readonly trace: ReadonlyArray<TraceRequest> | undefined
  /** The `--param path=value` overrides applied, for the reproduce command. */
  readonly overrides: ReadonlyArray<readonly [string, unknown]>
}

/**
 * Reads a scenario file and applies `overrides` (`[path, value]`, e.g. `["durationS", 3600]`)
 * before decoding. Any problem is a BadRequest naming the field (or the file).
 */
export function loadScenario(
  path: string,
  overrides: ReadonlyArray<readonly [string, unknown]> = [],
): Result.Result<LoadedScenario, BadRequest> {
  let text: string
  try {
    text = readFileSync(path, "utf8")
  } catch (e) {
    return Result.fail(invalid(path, `a readable scenario file (${(e as Error).message})`))
  }
  const parsed = parseJson(text, path)
  if (Result.isFailure(parsed)) return Result.fail(parsed.failure)
  let doc = parsed.success
  for (const [p, v] of overrides) {
    const set = setPath(doc, p, v)
    if (Result.isFailure(set)) return Result.fail(set.failure)
    doc = set.success
  }
  const decoded = decodeScenario(doc)
  if (Result.isFailure(decoded)) return Result.fail(decoded.failure)
  const scenario = decoded.success
  const arrivals = scenario.spec.workload.arrivals
  if (arrivals.kind !== "trace") {
    return Result.succeed({ path, scenario, trace: undefined, overrides })
  }
  const csvPath = resolve(dirname(path), arrivals.csvPath)
  let csv: string
  try {
    csv = readFileSync(csvPath, "utf8")
  } catch (e) {
    const why = (e as Error).message
    return Result.fail(invalid("workload.arrivals.csvPath", `a readable CSV file (${why})`))
  }
  const trace = parseTrace(csv, scenario.spec.workload.mix.map((m) => m.name))
  if (Result.isFailure(trace)) return Result.fail(trace.failure)
  return Result.succeed({ path, scenario, trace: trace.success, overrides })
}

/** The command that replays a run exactly. */
export function reproduceCommand(loaded: LoadedScenario, seed: number): string {
  const params = loaded.overrides.map(([p, v]) => ` --param ${p}=${JSON.stringify(v)}`).join("")
  return `corral simulate ${loaded.path} --seed ${seed}${params}`
}

/** The PCI aliases the mix uses, resolved for the cluster. */
export function aliasDemands(scenario: Scenario): PciDemand[] {
  return Object.entries(scenario.spec.pciAliases).map(([alias, a]) => {
    const { vendor_id, product_id, dev_type, ...tags } = a
    return { alias, vendorId: vendor_id, productId: product_id, devType: dev_type,
      tags: tags as Record<string, string>, count: 1 }
  })
}

/** Options of `runScenario`. */
export interface RunScenarioOptions {
  readonly seed?: number
  readonly onProgress?: (timeS: number, events: number, sim: Simulation) => void
  /** Events between two `onProgress` calls (default 100,000). */
  readonly progressEveryEvents?: number
}

/** Runs a loaded scenario on the real core; throws `InvariantViolation` on a broken invariant. */
export function runScenario(loaded: LoadedScenario, options: RunScenarioOptions = {}):
  { report: Report; sim: Simulation } {
  const scenario = loaded.scenario
  const seed = options.seed ?? scenario.spec.seed
  const cluster = new CoreCluster(scenario.inventory, scenario.spec.policies.weigher,
    aliasDemands(scenario))
  const reproduce = reproduceCommand(loaded, seed)
  const sim = simulate(scenario, cluster, {
    seed,
    ...(loaded.trace === undefined ? {} : { trace: loaded.trace }),
    ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
    ...(options.progressEveryEvents === undefined ? {}
      : { progressEveryEvents: options.progressEveryEvents }),
    check: (s) => checkAll(s, reproduce),
  })
  return { report: buildReport(sim.recorder, scenario, seed, sim.events), sim }
}
