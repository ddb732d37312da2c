/**
 * `corral simulate` end to end as a user runs it: seed on stderr, the JSON report on stdout,
 * report.json and report.html written, the HTML's four charts rendered by headless Chromium;
 * a bad scenario named field by field with exit code 2.
 */
import { execFileSync, spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"

const tsx = join("node_modules", ".bin", "tsx")
const corral = (...args: string[]) =>
  spawnSync(tsx, ["adapters/cli/main.ts", ...args], { encoding: "utf8", timeout: 120_000 })

function chromiumPath(): string | undefined {
  for (const name of ["chromium", "chromium-browser"]) {
    const found = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" })
    if (found.status === 0) return found.stdout.trim()
  }
  return undefined
}
const chromium = chromiumPath()

describe("corral simulate", () => {
  const out = mkdtempSync(join(tmpdir(), "corral-simulate-"))
  const run = corral("simulate", "scenarios/trace-replay.json", "--seed", "5", "--json",
    "--out", out)

  it("prints the seed, the JSON report, and writes report.json and report.html", () => {
    expect(run.status).toBe(0)
    expect(run.stderr).toContain("seed 5")
    const report = JSON.parse(run.stdout) as { seed: number; requests: { total: number } }
    expect(report.seed).toBe(5)
    expect(report.requests.total).toBe(20)
    expect(JSON.parse(readFileSync(join(out, "report.json"), "utf8"))).toEqual(report)
    const html = readFileSync(join(out, "report.html"), "utf8")
    expect(html).toContain("<canvas id=\"utilisation\"")
    expect(html).not.toMatch(/<script[^>]+src=/)
  })

  it("the HTML report's four charts render in headless Chromium", () => {
    if (chromium === undefined) throw new Error("chromium is missing: run scripts/system-deps.sh")
    const profile = mkdtempSync(join(tmpdir(), "corral-chromium-"))
    const dom = execFileSync(chromium!, ["--headless", "--no-sandbox", "--disable-gpu",
      "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", `--user-data-dir=${profile}`,
      "--virtual-time-budget=10000", "--dump-dom", join(out, "report.html")],
    { encoding: "utf8", timeout: 90_000, stdio: ["ignore", "pipe", "ignore"] })
    expect(dom).toContain("data-charts-rendered=\"4\"")
  })

  it("names every wrong field of a bad scenario and exits 2", () => {
    const dir = mkdtempSync(join(tmpdir(), "corral-bad-"))
    const path = join(dir, "bad.json")
    writeFileSync(path, JSON.stringify({ name: "bad", durationS: 0, fleet: {},
      workload: { arrivals: { kind: "poisson" }, lifetimeS: { kind: "fixed", value: 1 }, mix: [] } }))
    const bad = corral("simulate", path)
    expect(bad.status).toBe(2)
    for (const field of ["durationS", "workload.arrivals.ratePerS", "workload.mix"]) {
      expect(bad.stderr).toContain(field)
    }
  })

  it("refuses unknown options with the usage", () => {
    const r = corral("simulate", "scenarios/default.json", "--frobnicate")
    expect(r.status).toBe(2)
    expect(r.stderr).toContain("unknown option --frobnicate")
  })
})
