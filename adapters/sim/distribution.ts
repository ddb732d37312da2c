/**
 * Sampling the scenario's distributions (latencies, lifetimes, MTBF/MTTR) from a seeded stream.
 */
import type { Distribution } from "../../core/scenario/schema.ts"
import type { Random } from "./random.ts"

/** Draws one value of `d` (seconds, or whatever unit the field carries); never negative. */
export function sample(d: Distribution, random: Random): number {
  switch (d.kind) {
    case "fixed":
      return d.value
    case "uniform":
      return d.min + (d.max - d.min) * random.next()
    case "exponential":
      return -d.mean * Math.log(random.nextOpen())
    case "lognormal":
      return d.median * Math.exp(d.sigma * random.normal())
  }
}

/** The mean of `d`, for reports and for sizing (lognormal: median·e^(σ²/2)). */
export function meanOf(d: Distribution): number {
  switch (d.kind) {
    case "fixed": return d.value
    case "uniform": return (d.min + d.max) / 2
    case "exponential": return d.mean
    case "lognormal": return d.median * Math.exp((d.sigma * d.sigma) / 2)
  }
}
