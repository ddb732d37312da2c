/**
 * The benchmark convention every suite follows. A suite is `bench/suites/<suite>.ts` exporting
 * `run(): Promise<BenchRecord[]>`; `npm run bench -- <suite>` runs it, prints a table and writes
 * `bench/results/<suite>.json`. Ratios are measured side by side in the same run, never against a
 * figure from another machine or day. `target` is the figure the issue asks for, where it sets one.
 */
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Bench, type Task } from "tinybench"

/** One figure a suite measured. */
export interface BenchRecord {
  readonly suite: string
  readonly case: string
  readonly value: number
  readonly unit: string
  readonly better: "higher" | "lower"
  readonly target?: number
}

/** A suite module's shape. */
export interface BenchSuite {
  readonly run: () => Promise<BenchRecord[]>
}

/** Builds a record, leaving `target` out where none is set. */
export function record(
  suite: string,
  name: string,
  value: number,
  unit: string,
  better: "higher" | "lower",
  target?: number,
): BenchRecord {
  return target === undefined
    ? { suite, case: name, value, unit, better }
    : { suite, case: name, value, unit, better, target }
}

/** Runs a tinybench `Bench` and returns its tasks (throws if any task errored). */
export async function runBench(bench: Bench): Promise<ReadonlyArray<Task>> {
  await bench.run()
  for (const task of bench.tasks) {
    const result = task.result
    if (result.state === "errored") throw result.error
  }
  return bench.tasks
}

/** Mean operations per second of a finished task. */
export function hz(task: Task): number {
  const result = task.result
  if (result.state !== "completed") throw new Error(`task ${task.name} did not complete`)
  return result.throughput.mean
}

/** p99 latency of a finished task, in milliseconds. */
export function p99Ms(task: Task): number {
  const result = task.result
  if (result.state !== "completed") throw new Error(`task ${task.name} did not complete`)
  return result.latency.p99
}

/** Whether a record meets its target (undefined when it has none). */
export function meetsTarget(r: BenchRecord): boolean | undefined {
  if (r.target === undefined) return undefined
  return r.better === "higher" ? r.value >= r.target : r.value <= r.target
}

/** Prints records as a table and writes `bench/results/<suite>.json`. */
export function report(suite: string, records: ReadonlyArray<BenchRecord>): void {
  const rows = records.map((r) => ({
    case: r.case,
    value: formatNumber(r.value),
    unit: r.unit,
    target: r.target === undefined ? "" : `${r.better === "higher" ? "≥" : "≤"} ${formatNumber(r.target)}`,
    met: ({ true: "yes", false: "NO", undefined: "" } as const)[String(meetsTarget(r)) as "true"],
  }))
  console.log(`\n# ${suite}`)
  console.table(rows)
  const dir = join(import.meta.dirname, "results")
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, `${suite}.json`), JSON.stringify(records, null, 2) + "\n")
}

function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v)
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString("en-US")
  return v.toPrecision(4)
}

/** xorshift32: a deterministic pseudo-random sequence of uint32s from `seed`, for bench inputs. */
export function xorshift32(seed: number): () => number {
  let x = seed >>> 0 || 1
  return () => {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    return x
  }
}

export { Bench }
