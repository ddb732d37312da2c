/**
 * `corral sweep SCENARIO --seeds N [--param PATH=V1,V2,…]… [--json]`: runs the grid of
 * parameter values × N seeds on every core (a Piscina worker pool) and prints, per grid point,
 * the mean and 95 % confidence interval of each figure.
 */
import { Result } from "effect"
import type { CliCommand } from "../command.ts"
import { loadScenario } from "../../sim/run.ts"
import { sweep, type SweepPoint } from "../../sim/sweep.ts"
import { paramValue, parseParam } from "./simulate.ts"

const usage = `usage: corral sweep SCENARIO --seeds N [--param PATH=V1,V2,...]... [--json]

Runs SCENARIO once per seed (the scenario's seed, +1, …, N of them) for every combination of
the --param values, on every core, and prints each figure's mean ± 95% confidence interval.
  --seeds N             seeds per grid point (1-1000)
  --param PATH=V1,V2    values to try for a field, e.g. --param policies.weigher=pack,spread
  --json                print the aggregates as JSON`

function parse(args: ReadonlyArray<string>):
  { path: string; seeds: number; params: Array<[string, unknown[]]>; json: boolean } | string {
  let path: string | undefined
  let seeds = 0
  let json = false
  const params: Array<[string, unknown[]]> = []
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!
    if (a === "--json") json = true
    else if (a === "--seeds") {
      seeds = Number(args[++i])
      if (!Number.isInteger(seeds) || seeds < 1 || seeds > 1000) return "--seeds: an integer 1-1000"
    } else if (a === "--param") {
      const p = parseParam(args[++i] ?? "")
      if (p === undefined) return "--param: PATH=V1,V2,..."
      params.push([p[0], p[1].split(",").map(paramValue)])
    } else if (a.startsWith("-")) return `unknown option ${a}`
    else if (path === undefined) path = a
    else return `unexpected argument ${a}`
  }
  if (path === undefined) return "a SCENARIO file is required"
  if (seeds === 0) return "--seeds N is required"
  return { path, seeds, params, json }
}

function table(points: ReadonlyArray<SweepPoint>): string {
  const lines: string[] = []
  for (const p of points) {
    const label = Object.entries(p.params).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(" ")
    lines.push(`${label === "" ? "(scenario as written)" : label}  [${p.seeds} seeds]`)
    for (const [name, f] of Object.entries(p.figures)) {
      const mean = f.mean.toPrecision(5).padStart(12)
      lines.push(`  ${name.padEnd(18)} ${mean} ± ${f.ci95.toPrecision(3)}`)
    }
  }
  return lines.join("\n")
}

async function run(args: ReadonlyArray<string>): Promise<number> {
  const parsed = parse(args)
  if (typeof parsed === "string") {
    console.error(`corral sweep: ${parsed}\n${usage}`)
    return 2
  }
  const overrides = parsed.params.map(([p, v]) => [p, v[0]] as [string, unknown])
  const loaded = loadScenario(parsed.path, overrides)
  if (Result.isFailure(loaded)) {
    console.error(`corral sweep: bad scenario ${parsed.path}:\n${loaded.failure.message}`)
    return 2
  }
  const baseSeed = loaded.success.scenario.spec.seed
  console.error(`seeds ${baseSeed}..${baseSeed + parsed.seeds - 1}`)
  const points = await sweep(parsed.path, parsed.seeds, baseSeed, parsed.params,
    (done, total) => {
      if (process.stderr.isTTY) process.stderr.write(`\r${done}/${total} runs`)
    })
  if (process.stderr.isTTY) process.stderr.write("\n")
  console.log(parsed.json ? JSON.stringify(points, null, 2) : table(points))
  return 0
}

/** `corral sweep`. */
export const command: CliCommand = {
  summary: "run a scenario over a grid of parameters and seeds on every core",
  usage,
  run,
}
