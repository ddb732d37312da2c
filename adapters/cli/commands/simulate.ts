/**
 * `corral simulate SCENARIO [--seed N] [--out DIR] [--json] [--param PATH=VALUE]…`: runs a
 * scenario on the real core in the deterministic simulator. Prints the seed and a progress bar
 * (simulated time, events/s, ETA) on stderr when it is a terminal, the summary (or with `--json`
 * the report) on stdout; `--out DIR` writes report.json and a self-contained report.html.
 * A broken invariant prints the command that reproduces it and exits 1.
 */
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Result } from "effect"
import cliProgress from "cli-progress"
import type { CliCommand } from "../command.ts"
import { reportHtml } from "../../sim/html.ts"
import { InvariantViolation } from "../../sim/invariants.ts"
import { loadScenario, runScenario } from "../../sim/run.ts"
import { summaryText } from "../../sim/summary.ts"
import { growthSearch } from "../../sim/growth.ts"

const usage = `usage: corral simulate SCENARIO [--seed N] [--out DIR] [--json]
                       [--param PATH=VALUE]...

Runs SCENARIO (a JSON file, see docs/simulator.md) in the deterministic simulator on the real
core and prints a summary: requests accepted/rejected by reason, utilisation p50/p95/max,
PCI/pmem exhaustion, fragmentation, RPO, failovers and RTO, boot time saved by pmem.

  --seed N            the run's seed (default: the scenario's "seed")
  --out DIR           write DIR/report.json and DIR/report.html (charts, opens offline)
  --json              print the JSON report on stdout instead of the summary
  --param PATH=VALUE  override a field before decoding, e.g. --param durationS=3600
                      (VALUE is JSON when it parses as JSON, else a string); repeatable
A scenario with a "growth" section searches the smallest racksPerZone that meets its
rejection-rate target and prints each probe.`

/** Parsed command-line options shared by simulate and sweep. */
export interface SimArgs {
  scenario: string | undefined
  seed: number | undefined
  out: string | undefined
  json: boolean
  params: Array<[string, unknown]>
  rest: Map<string, string>
}

/** Parses `PATH=VALUE`; VALUE is JSON when it parses, else the raw string. */
export function parseParam(text: string): [string, string] | undefined {
  const eq = text.indexOf("=")
  if (eq <= 0) return undefined
  return [text.slice(0, eq), text.slice(eq + 1)]
}

/** A parameter value: JSON when it parses as JSON, else the string. */
export function paramValue(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown
  } catch {
    return raw
  }
}

/** Parses simulate's arguments; a string is the usage error. */
export function parseSimArgs(args: ReadonlyArray<string>, extra: ReadonlyArray<string> = []):
  SimArgs | string {
  const out: SimArgs = { scenario: undefined, seed: undefined, out: undefined, json: false,
    params: [], rest: new Map() }
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!
    const next = (): string | undefined => args[++i]
    if (a === "--json") out.json = true
    else if (a === "--seed") {
      const v = Number(next())
      if (!Number.isSafeInteger(v) || v < 0) return "--seed: an integer ≥ 0"
      out.seed = v
    } else if (a === "--out") {
      const v = next()
      if (v === undefined) return "--out: a directory"
      out.out = v
    } else if (a === "--param") {
      const p = parseParam(next() ?? "")
      if (p === undefined) return "--param: PATH=VALUE"
      out.params.push([p[0], paramValue(p[1])])
    } else if (extra.includes(a)) {
      const v = next()
      if (v === undefined) return `${a}: a value`
      out.rest.set(a, v)
    } else if (a.startsWith("-")) return `unknown option ${a}`
    else if (out.scenario === undefined) out.scenario = a
    else return `unexpected argument ${a}`
  }
  if (out.scenario === undefined) return "a SCENARIO file is required"
  return out
}

function progressBar(durationS: number):
  { update: (t: number, e: number) => void; stop: () => void } {
  if (!process.stderr.isTTY) return { update: () => undefined, stop: () => undefined }
  const bar = new cliProgress.SingleBar({
    stream: process.stderr,
    format: "simulated {value}/{total} h |{bar}| {eps} events/s | ETA {eta_formatted}",
    hideCursor: true,
  }, cliProgress.Presets.shades_classic)
  const totalH = Math.round(durationS / 3600)
  const started = performance.now()
  bar.start(totalH, 0, { eps: 0 })
  return {
    update: (t, e) => {
      const seconds = (performance.now() - started) / 1000
      bar.update(Math.round(t / 3600), { eps: Math.round(e / Math.max(seconds, 1e-3)) })
    },
    stop: () => bar.stop(),
  }
}

async function run(args: ReadonlyArray<string>): Promise<number> {
  const parsed = parseSimArgs(args)
  if (typeof parsed === "string") {
    console.error(`corral simulate: ${parsed}\n${usage}`)
    return 2
  }
  const loaded = loadScenario(parsed.scenario!, parsed.params)
  if (Result.isFailure(loaded)) {
    console.error(`corral simulate: bad scenario ${parsed.scenario}:\n${loaded.failure.message}`)
    return 2
  }
  const seed = parsed.seed ?? loaded.success.scenario.spec.seed
  console.error(`seed ${seed}`)
  if (loaded.success.scenario.spec.growth !== undefined) {
    const result = growthSearch(loaded.success, seed, (line) => console.error(line))
    console.log(parsed.json ? JSON.stringify(result, null, 2) : result.summary)
    return 0
  }
  const bar = progressBar(loaded.success.scenario.spec.durationS)
  const started = performance.now()
  try {
    const { report } = runScenario(loaded.success, { seed, onProgress: bar.update })
    bar.stop()
    const seconds = (performance.now() - started) / 1000
    console.error(`${report.events} events in ${seconds.toFixed(2)} s ` +
      `(${Math.round(report.events / Math.max(seconds, 1e-3))} events/s)`)
    console.log(parsed.json ? JSON.stringify(report, null, 2) : summaryText(report))
    if (parsed.out !== undefined) {
      mkdirSync(parsed.out, { recursive: true })
      writeFileSync(join(parsed.out, "report.json"), JSON.stringify(report, null, 2) + "\n")
      writeFileSync(join(parsed.out, "report.html"), reportHtml(report))
      console.error(`wrote ${join(parsed.out, "report.json")} and report.html`)
    }
    return 0
  } catch (e) {
    bar.stop()
    if (e instanceof InvariantViolation) {
      console.error(e.message)
      return 1
    }
    throw e
  }
}

/** `corral simulate`. */
export const command: CliCommand = {
  summary: "run a capacity-planning scenario in the deterministic simulator",
  usage,
  run,
}
