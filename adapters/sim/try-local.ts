import { Result } from "effect"
import { loadScenario, runScenario } from "./run.ts"
const l = loadScenario(process.argv[2]!)
if (Result.isFailure(l)) { console.error(l.failure.message); process.exit(1) }
const t0 = performance.now()
const { report } = runScenario(l.success)
const ms = performance.now() - t0
const { timeseries, charts, ...rest } = report
console.log(JSON.stringify(rest, null, 1))
console.log("ms", ms, "events/s", report.events / ms * 1000)
