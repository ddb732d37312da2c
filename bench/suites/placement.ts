/**
 * Suite `placement`: solver speed at 5,000 hosts (bench/placement/speed.ts) and pack quality on
 * the vector bin packing benchmarks (bench/placement/quality.ts).
 */
import type { BenchRecord } from "../lib.ts"
import { run as speed } from "../placement/speed.ts"

export async function run(): Promise<BenchRecord[]> {
  const records: BenchRecord[] = []
  records.push(...(await speed()))
  const quality = await import("../placement/quality.ts").catch(() => undefined)
  if (quality !== undefined) records.push(...(await quality.run()))
  return records
}
