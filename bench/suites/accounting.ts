/**
 * Suite `accounting`: PCI and pmem accounting throughput. Each part lives in
 * `bench/accounting/<part>.ts` exporting `run(): Promise<BenchRecord[]>`.
 */
import { readdirSync } from "node:fs"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import type { BenchRecord, BenchSuite } from "../lib.ts"

export async function run(): Promise<BenchRecord[]> {
  const dir = join(import.meta.dirname, "..", "accounting")
  const records: BenchRecord[] = []
  for (const part of readdirSync(dir).filter((f) => f.endsWith(".ts")).sort()) {
    const module = (await import(pathToFileURL(join(dir, part)).href)) as BenchSuite
    records.push(...(await module.run()))
  }
  return records
}
