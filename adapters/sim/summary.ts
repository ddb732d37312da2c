/**
 * The plain-text summary `corral simulate` prints: requests by reason, utilisation per resource,
 * PCI/pmem exhaustion, fragmentation, RPO, failovers and RTO, pmem boot time saved.
 */
import type { Report } from "./recorder.ts"

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`
const secs = (x: number): string => (x >= 3600 ? `${(x / 3600).toFixed(2)} h` : `${x.toFixed(1)} s`)

/** Renders a report as the lines of the text summary. */
export function summaryText(r: Report): string {
  const lines: string[] = []
  const q = r.requests
  lines.push(`scenario ${r.scenario}  seed ${r.seed}  hosts ${r.hosts}  ` +
    `simulated ${secs(r.durationS)}  events ${r.events}`)
  lines.push(`requests: ${q.total} total, ${q.accepted} accepted, ${q.rejected} rejected ` +
    `(${pct(q.rejectionRate)})`)
  for (const [reason, n] of Object.entries(q.rejectedByReason)) {
    lines.push(`  rejected by ${reason.padEnd(24)} ${n}`)
  }
  lines.push("utilisation (share of capacity)        p50      p95      max")
  for (const [k, u] of Object.entries(r.utilisation)) {
    const cells = [u.p50, u.p95, u.max].map((x) => pct(x).padStart(7)).join("  ")
    lines.push(`  ${k.padEnd(34)} ${cells}`)
  }
  const full = Object.entries(r.exhaustion)
    .filter(([, e]) => e.shareOfTimeFull > 0 || e.rejections > 0)
  lines.push(full.length === 0 ? "device pools: none exhausted"
    : "device pools exhausted: " + full.map(([k, e]) =>
      `${k} full ${pct(e.shareOfTimeFull)} of the time, ${e.rejections} rejections`).join("; "))
  lines.push(`fragmentation (stranded free vCPUs): p50 ${pct(r.fragmentation.p50)}, ` +
    `max ${pct(r.fragmentation.max)}`)
  lines.push(`hosts in use: p50 ${r.hostsInUse.p50}, max ${r.hostsInUse.max} of ${r.hosts}`)
  const rep = r.replication
  lines.push(`replication: RPO p50 ${secs(rep.rpoS.p50)}, p99 ${secs(rep.rpoS.p99)} ` +
    `(${rep.rpoS.samples} syncs); failovers ${rep.failovers}, RTO p50 ${secs(rep.rtoS.p50)}, ` +
    `p99 ${secs(rep.rtoS.p99)}; data lost at failover max ${secs(rep.dataLossS.max)}`)
  lines.push(`pmem: ${r.pmem.warmBoots} warm boots (volume retained), ${r.pmem.coldBoots} cold; ` +
    `boot time saved ${secs(r.pmem.bootTimeSavedS)}`)
  const c = Object.entries(r.counters).map(([k, v]) => `${k} ${v}`).join(", ")
  lines.push(`events: ${c}`)
  return lines.join("\n")
}
