/**
 * The options every inventory command shares: which scenario and requests file make the state
 * it shows, and whether to print JSON. Defaults: scenarios/default.json with
 * scenarios/default.requests.json, the same state `corral apply` builds.
 */
import { Result } from "effect"
import { join } from "node:path"
import { parseArgs } from "node:util"
import { runScriptFiles, type ScriptRun } from "./requests.ts"

const root = join(import.meta.dirname, "..", "..")

/** Usage lines for the shared options. */
export const stateOptionsUsage = `  --scenario FILE   scenario whose fleet, flavors and PCI aliases to use
                    (default scenarios/default.json)
  --requests FILE   scripted requests applied to it (default scenarios/default.requests.json)
  --json            print the API's JSON shape instead of a table`

/** Parsed arguments: the positionals, the shared flags and the command's own string options. */
export interface StateArgs {
  readonly positionals: ReadonlyArray<string>
  readonly json: boolean
  readonly scenario: string
  readonly requests: string
  readonly options: Readonly<Record<string, string | undefined>>
}

/**
 * Parses the shared options plus `extra` string options (e.g. `["host"]` for `--host H`);
 * throws a usage error message for unknown flags.
 */
export function parseStateArgs(
  args: ReadonlyArray<string>,
  extra: ReadonlyArray<string> = [],
): StateArgs {
  const { values, positionals } = parseArgs({
    args: [...args],
    allowPositionals: true,
    options: {
      json: { type: "boolean", default: false },
      scenario: { type: "string", default: join(root, "scenarios", "default.json") },
      requests: { type: "string", default: join(root, "scenarios", "default.requests.json") },
      ...Object.fromEntries(extra.map((name) => [name, { type: "string" as const }])),
    },
  })
  const options = Object.fromEntries(extra.map((name) => {
    const v = (values as Record<string, unknown>)[name]
    return [name, typeof v === "string" ? v : undefined]
  }))
  return { positionals, json: values.json === true, scenario: String(values.scenario),
    requests: String(values.requests), options }
}

/** Builds the state; prints the BadRequest (every issue with its path) and returns undefined. */
export function loadState(args: StateArgs): ScriptRun | undefined {
  const run = runScriptFiles(args.scenario, args.requests)
  if (Result.isSuccess(run)) return run.success
  console.error(`corral: ${run.failure.message}`)
  return undefined
}

/** Runs a command body with the shared options, mapping usage errors to exit code 2. */
export async function withState(
  args: ReadonlyArray<string>,
  body: (state: ScriptRun, parsed: StateArgs) => number,
  extra: ReadonlyArray<string> = [],
): Promise<number> {
  let parsed: StateArgs
  try {
    parsed = parseStateArgs(args, extra)
  } catch (e) {
    console.error(`corral: ${e instanceof Error ? e.message : String(e)}`)
    return 2
  }
  const state = loadState(parsed)
  return state === undefined ? 1 : body(state, parsed)
}
