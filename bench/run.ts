/**
 * `npm run bench -- [suite …]`: runs the named suites (all of bench/suites/ when none is named),
 * prints each table and writes bench/results/<suite>.json.
 */
import { readdirSync } from "node:fs"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { type BenchSuite, report } from "./lib.ts"

const dir = join(import.meta.dirname, "suites")
const available = readdirSync(dir).filter((f) => f.endsWith(".ts")).map((f) => f.slice(0, -3)).sort()
const wanted = process.argv.slice(2).filter((a) => !a.startsWith("-"))
const unknown = wanted.filter((s) => !available.includes(s))
if (unknown.length > 0) {
  console.error(`unknown suite(s): ${unknown.join(", ")}; available: ${available.join(", ")}`)
  process.exit(2)
}
for (const suite of wanted.length > 0 ? wanted : available) {
  const module = (await import(pathToFileURL(join(dir, `${suite}.ts`)).href)) as BenchSuite
  report(suite, await module.run())
}
