/**
 * `corral sweep`: a grid of parameter values × N seeds, every case a full simulation, run on
 * every core through a worker pool (Piscina). Each grid point gets the mean and a 95 % confidence
 * interval (Student's t) of each figure over its seeds.
 */
import { availableParallelism } from "node:os"
import { join } from "node:path"
import { Piscina } from "piscina"
import type { SweepCase, SweepFigures } from "./sweep-worker.ts"

/** Most cases one sweep may run. */
export const sweepCasesMax = 10_000

/** One grid point's aggregate. */
export interface SweepPoint {
  readonly params: Readonly<Record<string, unknown>>
  readonly seeds: number
  /** Per figure: mean and the half-width of its 95 % confidence interval. */
  readonly figures: Readonly<Record<string, { mean: number; ci95: number }>>
}

/** Two-sided 95 % Student's t quantiles for 1..30 degrees of freedom (1.96 beyond). */
const t95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
  2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056,
  2.052, 2.048, 2.045, 2.042]

/** Mean and 95 % CI half-width of a sample (0 half-width for one value). */
export function meanCi(values: ReadonlyArray<number>): { mean: number; ci95: number } {
  const n = values.length
  if (n === 0) throw new Error("meanCi of nothing")
  const mean = values.reduce((s, v) => s + v, 0) / n
  if (n === 1) return { mean, ci95: 0 }
  const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1)
  const t = t95[n - 2] ?? 1.96
  return { mean, ci95: t * Math.sqrt(variance / n) }
}

/** Every combination of the parameters' values (one empty combination when there are none). */
export function grid(params: ReadonlyArray<readonly [string, ReadonlyArray<unknown>]>):
  Array<Array<[string, unknown]>> {
  let points: Array<Array<[string, unknown]>> = [[]]
  for (const [path, values] of params) {
    points = points.flatMap((p) => values.map((v) => [...p, [path, v] as [string, unknown]]))
  }
  return points
}

/**
 * Runs the sweep: each grid point with seeds `baseSeed`, `baseSeed + 1`, … (`seeds` of them).
 * `onDone` is told after each case. Rejects with the first failing case's error.
 */
export async function sweep(
  path: string,
  seeds: number,
  baseSeed: number,
  params: ReadonlyArray<readonly [string, ReadonlyArray<unknown>]>,
  onDone: (done: number, total: number) => void = () => undefined,
): Promise<SweepPoint[]> {
  const points = grid(params)
  const total = points.length * seeds
  if (total > sweepCasesMax) throw new Error(`${total} cases; at most ${sweepCasesMax}`)
  const execArgv = process.execArgv.some((a) => a.includes("tsx")) ? process.execArgv
    : ["--import", "tsx"]
  const pool = new Piscina({ filename: join(import.meta.dirname, "sweep-worker-entry.mjs"),
    execArgv, maxThreads: Math.max(1, Math.min(availableParallelism(), total)) })
  let done = 0
  try {
    const results = await Promise.all(points.map((point) => Promise.all(
      Array.from({ length: seeds }, async (_, i): Promise<SweepFigures> => {
        const c: SweepCase = { path, overrides: point, seed: baseSeed + i }
        const figures = (await pool.run(c)) as SweepFigures
        onDone(++done, total)
        return figures
      }),
    )))
    return points.map((point, k) => {
      const runs = results[k]!
      const names = Object.keys(runs[0]!)
      return { params: Object.fromEntries(point), seeds,
        figures: Object.fromEntries(names.map((n) => [n, meanCi(runs.map((r) => r[n]!))])) }
    })
  } finally {
    await pool.destroy()
  }
}
