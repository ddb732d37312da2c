/**
 * The self-contained HTML report: the report's data and Chart.js (its UMD build, inlined) in one
 * file that opens offline. Four charts: utilisation over time, rejections by reason, RPO
 * histogram, hosts in use over time. When they have rendered, `<body data-charts-rendered>`
 * holds how many did (a headless browser test reads it).
 */
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import type { Report } from "./recorder.ts"

const require = createRequire(import.meta.url)

/** The Chart.js UMD build's source. */
export function chartJsSource(): string {
  const main = require.resolve("chart.js")
  return readFileSync(join(dirname(main), "chart.umd.min.js"), "utf8")
}

/** JSON safe to embed in a `<script>` element. */
function embed(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029")
}

const escapeHtml = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

const draw = `
const r = JSON.parse(document.getElementById("report-data").textContent);
const t = r.timeseries.map((s) => (s.timeS / 3600).toFixed(1));
const palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
  "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
const made = [];
const opts = (x, y) => ({ animation: false, responsive: false,
  scales: { x: { title: { display: true, text: x } }, y: { title: { display: true, text: y } } } });
const names = Object.keys(r.timeseries[0] ? r.timeseries[0].used : {});
made.push(new Chart(document.getElementById("utilisation"), { type: "line", data: { labels: t,
  datasets: names.map((n, i) => ({ label: n, data: r.timeseries.map((s) => s.used[n] * 100),
    borderColor: palette[i % palette.length], pointRadius: 0 })) },
  options: opts("hours", "% of capacity") }));
const reasons = Object.keys(r.requests.rejectedByReason);
made.push(new Chart(document.getElementById("rejections"), { type: "bar", data: { labels: reasons,
  datasets: [{ label: "rejected requests", data: reasons.map((k) => r.requests.rejectedByReason[k]),
    backgroundColor: "#d62728" }] }, options: opts("reason", "requests") }));
made.push(new Chart(document.getElementById("rpo"), { type: "bar", data: {
  labels: r.charts.rpoHistogram.map((b) => b[0].toFixed(0)),
  datasets: [{ label: "syncs", data: r.charts.rpoHistogram.map((b) => b[1]),
    backgroundColor: "#1f77b4" }] },
  options: opts("RPO before sync (s, bin upper edge)", "syncs") }));
made.push(new Chart(document.getElementById("hosts"), { type: "line", data: { labels: t,
  datasets: [{ label: "hosts in use", data: r.timeseries.map((s) => s.hostsInUse),
    borderColor: "#2ca02c", pointRadius: 0 }, { label: "VMs",
    data: r.timeseries.map((s) => s.vmsRunning), borderColor: "#9467bd", pointRadius: 0 }] },
  options: opts("hours", "count") }));
document.body.dataset.chartsRendered = String(made.filter((c) => c.canvas && c.data).length);
`

/** Renders the report as one self-contained HTML page. */
export function reportHtml(report: Report): string {
  const title = `Corral simulation: ${escapeHtml(report.scenario)} (seed ${report.seed})`
  const q = report.requests
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em}canvas{margin:1em 0}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}</style>
</head><body data-charts-rendered="0">
<h1>${title}</h1>
<p>${report.hosts} hosts, ${report.events} events, ${q.total} requests:
${q.accepted} accepted, ${q.rejected} rejected (${(q.rejectionRate * 100).toFixed(1)}%).
Failovers ${report.replication.failovers}, RTO p99 ${report.replication.rtoS.p99} s,
RPO p99 ${report.replication.rpoS.p99} s. pmem boot time saved ${report.pmem.bootTimeSavedS} s.</p>
<h2>Utilisation over time</h2><canvas id="utilisation" width="900" height="320"></canvas>
<h2>Rejections by reason</h2><canvas id="rejections" width="900" height="280"></canvas>
<h2>RPO histogram</h2><canvas id="rpo" width="900" height="280"></canvas>
<h2>Hosts in use</h2><canvas id="hosts" width="900" height="280"></canvas>
<script id="report-data" type="application/json">${embed(report)}</script>
<script>${chartJsSource().replace(/<\/script/gi, "<\\/script")}</script>
<script>${draw}</script>
</body></html>
`
}
