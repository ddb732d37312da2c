/**
 * Bounded-memory statistics for reports: a log-bucket histogram (percentiles within 1 % of the
 * true value, whatever the sample count) and exact percentiles of small sample arrays.
 */

/** Relative width of a histogram bucket: percentiles are within this of the true value. */
export const bucketGrowth = 1.01
/** Bucket count: values from `histogramMin` up to histogramMin·1.01^bucketsCount. */
export const bucketsCount = 4_000
/** Smallest value a histogram tells apart from zero. */
export const histogramMin = 1e-6

const logGrowth = Math.log(bucketGrowth)

/** A histogram of non-negative values with log-spaced buckets. */
export class Histogram {
  private readonly counts = new Float64Array(bucketsCount + 1)
  private zeros = 0
  /** How many values were added. */
  count = 0
  /** The largest value added (0 when none). */
  max = 0
  /** The sum of the values added. */
  sum = 0

  /** Adds one value (must be finite and ≥ 0). */
  add(value: number): void {
    if (!(value >= 0 && value < Infinity)) throw new Error(`histogram value ${value}`)
    this.count++
    this.sum += value
    if (value > this.max) this.max = value
    if (value < histogramMin) {
      this.zeros++
      return
    }
    const b = Math.min(bucketsCount, Math.floor(Math.log(value / histogramMin) / logGrowth))
    this.counts[b] = this.counts[b]! + 1
  }

  /** The `q`-quantile (0 ≤ q ≤ 1): its bucket's upper edge, capped at the max; 0 if empty. */
  quantile(q: number): number {
    if (this.count === 0) return 0
    const rank = Math.max(1, Math.ceil(q * this.count))
    let seen = this.zeros
    if (seen >= rank) return 0
    for (let b = 0; b <= bucketsCount; b++) {
      seen += this.counts[b]!
      if (seen >= rank) return Math.min(this.max, histogramMin * Math.pow(bucketGrowth, b + 1))
    }
    return this.max
  }

  /** The mean (0 if empty). */
  mean(): number {
    return this.count === 0 ? 0 : this.sum / this.count
  }

  /** `bins` equal-width bins from 0 to the max: [upper edge, count] pairs, for charts. */
  bins(bins: number): Array<[number, number]> {
    const out: Array<[number, number]> = []
    if (this.count === 0) return out
    const width = this.max / bins || 1
    const counts = new Array<number>(bins).fill(0)
    counts[0] = this.zeros
    for (let b = 0; b <= bucketsCount; b++) {
      const c = this.counts[b]!
      if (c === 0) continue
      const mid = histogramMin * Math.pow(bucketGrowth, b + 0.5)
      const i = Math.min(bins - 1, Math.floor(Math.min(mid, this.max) / width))
      counts[i] = counts[i]! + c
    }
    for (let i = 0; i < bins; i++) out.push([round((i + 1) * width), counts[i]!])
    return out
  }
}

/** p50/p95/max of a small array (exact; nearest rank). */
export function summary(values: ReadonlyArray<number>): { p50: number; p95: number; max: number } {
  if (values.length === 0) return { p50: 0, p95: 0, max: 0 }
  const sorted = [...values].sort((a, b) => a - b)
  const at = (q: number) => sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!
  return { p50: round(at(0.5)), p95: round(at(0.95)), max: round(sorted[sorted.length - 1]!) }
}

/** Rounds to 6 significant digits, so reports print stable, readable numbers. */
export function round(value: number): number {
  if (value === 0 || !Number.isFinite(value)) return value
  return Number(value.toPrecision(6))
}
