/**
 * From a scenario document to a validated `Scenario`: the spec decoded with every issue named by
 * its path, the fleet expanded into an inventory, cross-field rules checked. Also the pure edits a
 * sweep or a growth search makes to a document before decoding it (`setPath`).
 */
import { Result } from "effect"
import { decode } from "../decode.ts"
import { type BadRequest, type InputIssue, invalid, invalidAll } from "../errors.ts"
import type { Inventory } from "../inventory/index.ts"
import { expandFleet } from "./fleet.ts"
import { type Flavor, type ScenarioSpec, ScenarioSpec as ScenarioSchema } from "./schema.ts"

/** A decoded scenario with its expanded inventory and each mix entry's flavor resolved. */
export interface Scenario {
  readonly spec: ScenarioSpec
  readonly inventory: Inventory
  /** `flavors[i]` is the flavor of `spec.workload.mix[i]`. */
  readonly flavors: ReadonlyArray<Flavor>
}

/**
 * Decodes a scenario document. Every problem is reported at once with its path; the fleet's
 * problems carry `fleet.` paths. Policy allocation ratios, when set, replace every template's.
 */
export function decodeScenario(input: unknown): Result.Result<Scenario, BadRequest> {
  const decoded = decode(ScenarioSchema, input)
  if (Result.isFailure(decoded)) return Result.fail(decoded.failure)
  const spec = decoded.success
  const issues = checkSpec(spec)
  const fleet = expandFleet(withRatios(spec), "fleet")
  if (Result.isFailure(fleet)) issues.push(...(fleet.failure.issues ?? []))
  if (issues.length > 0) return Result.fail(invalidAll(issues))
  if (Result.isFailure(fleet)) throw new Error("unreachable: fleet failure without issues")
  const flavors = spec.workload.mix.map((m) =>
    typeof m.flavor === "string" ? spec.flavors[m.flavor]! : m.flavor)
  return Result.succeed({ spec, inventory: fleet.success, flavors })
}

function checkSpec(spec: ScenarioSpec): InputIssue[] {
  const issues: InputIssue[] = []
  const seen = new Map<string, number>()
  spec.workload.mix.forEach((m, i) => {
    const first = seen.get(m.name)
    if (first !== undefined) {
      issues.push({
        path: `workload.mix[${i}].name`,
        message: `a unique name; "${m.name}" is mix[${first}]`,
      })
    } else seen.set(m.name, i)
    if (typeof m.flavor === "string" && !(m.flavor in spec.flavors)) {
      issues.push({
        path: `workload.mix[${i}].flavor`,
        message: `a flavor of flavors (${Object.keys(spec.flavors).join(", ")}) or a flavor inline`,
      })
    }
    m.pci.forEach((p, k) => {
      if (!(p.alias in spec.pciAliases)) {
        issues.push({
          path: `workload.mix[${i}].pci[${k}].alias`,
          message: `an alias of pciAliases (${Object.keys(spec.pciAliases).join(", ")})`,
        })
      }
    })
    if (m.vcluster !== undefined && m.replicatedShare > 0) {
      issues.push({
        path: `workload.mix[${i}].replicatedShare`,
        message: "0 for a vcluster (members of a vcluster are not replicated)",
      })
    }
  })
  const g = spec.growth
  if (g !== undefined && g.racksPerZoneMax > 10_000) {
    issues.push({ path: "growth.racksPerZoneMax", message: "at most 10000" })
  }
  return issues
}

function withRatios(spec: ScenarioSpec): unknown {
  const { cpuAllocationRatio, ramAllocationRatio } = spec.policies
  if (cpuAllocationRatio === undefined && ramAllocationRatio === undefined) return spec.fleet
  if (typeof spec.fleet !== "object" || spec.fleet === null) return spec.fleet
  const fleet = spec.fleet as { templates?: unknown }
  if (typeof fleet.templates !== "object" || fleet.templates === null) return spec.fleet
  const templates: Record<string, unknown> = {}
  for (const [name, t] of Object.entries(fleet.templates as Record<string, unknown>)) {
    templates[name] = typeof t !== "object" || t === null ? t : {
      ...t,
      ...(cpuAllocationRatio === undefined ? {} : { cpuAllocationRatio }),
      ...(ramAllocationRatio === undefined ? {} : { ramAllocationRatio }),
    }
  }
  return { ...fleet, templates }
}

/** Most segments a `setPath` path may have. */
export const pathSegmentsMax = 16

/**
 * A copy of the JSON document `doc` with the value at `path` (`workload.arrivals.ratePerS`,
 * `workload.mix[0].weight`) replaced by `value`. Missing objects on the way are created (a
 * section left to its defaults); a path through a non-object or a missing array element is a
 * BadRequest naming it. `doc` is not modified.
 */
export function setPath(
  doc: unknown,
  path: string,
  value: unknown,
): Result.Result<unknown, BadRequest> {
  const segments = path.split(/\.|(?=\[)/).map((s) => /^\[(\d+)\]$/.exec(s)?.[1] ?? s)
  if (path === "" || segments.length > pathSegmentsMax || segments.some((s) => s === "")) {
    return Result.fail(
      invalid(path, `a path like workload.arrivals.ratePerS (≤ ${pathSegmentsMax} parts)`),
    )
  }
  const root = structuredClone(doc) as unknown
  let node: unknown = root
  for (let i = 0; i < segments.length - 1; i++) {
    const parent = node as Record<string, unknown>
    let next = parent[segments[i]!]
    if (next === undefined && !Array.isArray(parent) && !/^\d+$/.test(segments[i + 1]!)) {
      next = {}
      parent[segments[i]!] = next
    }
    if (typeof next !== "object" || next === null) {
      const at = segments.slice(0, i + 1).join(".")
      return Result.fail(invalid(path, `an existing field; ${at} is not an object`))
    }
    node = next
  }
  if (typeof node !== "object" || node === null) {
    return Result.fail(invalid(path, "an existing field"))
  }
  ;(node as Record<string, unknown>)[segments[segments.length - 1]!] = value
  return Result.succeed(root)
}

/** Most lines a CSV trace may have. */
export const traceLinesMax = 20_000_000

/** One request of a trace: when it arrives and which mix entry it is. */
export interface TraceRequest {
  readonly timeS: number
  readonly mixIndex: number
}

/**
 * Parses a CSV trace (`timeS,mix` per line, an optional header line `timeS,mix`, `#` comments).
 * Times must not decrease; `mix` must name a mix entry. Every bad line is reported (the first 50).
 */
export function parseTrace(
  text: string,
  mixNames: ReadonlyArray<string>,
  path = "workload.arrivals.csvPath",
): Result.Result<TraceRequest[], BadRequest> {
  const lines = text.split(/\r?\n/)
  if (lines.length > traceLinesMax) {
    return Result.fail(invalid(path, `at most ${traceLinesMax} lines`))
  }
  const index = new Map(mixNames.map((n, i) => [n, i]))
  const out: TraceRequest[] = []
  const issues: InputIssue[] = []
  let last = 0
  lines.forEach((raw, n) => {
    const line = raw.trim()
    if (line === "" || line.startsWith("#") || (n === 0 && line === "timeS,mix")) return
    const [t, mix, extra] = line.split(",")
    const timeS = Number(t)
    const mixIndex = index.get((mix ?? "").trim())
    const at = `${path}:${n + 1}`
    if (extra !== undefined || !Number.isFinite(timeS) || timeS < 0) {
      issues.push({ path: at, message: "timeS,mix with timeS a number ≥ 0" })
    } else if (timeS < last) {
      issues.push({ path: at, message: `a time ≥ the previous line's (${last})` })
    } else if (mixIndex === undefined) {
      issues.push({ path: at, message: `a mix entry name (${mixNames.join(", ")})` })
    } else {
      last = timeS
      out.push({ timeS, mixIndex })
    }
  })
  if (issues.length > 0) return Result.fail(invalidAll(issues.slice(0, 50)))
  return Result.succeed(out)
}
