/**
 * Speed: 5,000 hosts in 4 zones × 50 racks; 50,000 sequential single placements, 20% of them
 * members of 2,000 host-scope anti-affinity groups of 5, 5% asking for one SR-IOV VF.
 * Baseline, side by side on the first placements of the same sequence: a naive scheduler over
 * host objects (every host's fit recomputed from its usage record, no scan arrays).
 */
import { Result } from "effect"
import { decodeInventory } from "../../core/inventory/index.ts"
import {
  type ClusterState,
  createCluster,
  createGroup,
  createServer,
  findGroup,
  fitOnHost,
  hardRuleBreach,
  memberHosts,
  type ServerCreate,
} from "../../core/cluster/index.ts"
import { schedule } from "../../core/placement/index.ts"
import { pciFits } from "../../core/pci/index.ts"
import { type BenchRecord, record } from "../lib.ts"

const suite = "placement"
const zones = 4
const racksPerZone = 50
const hostsPerRack = 25
const placementsTotal = Number(process.env["CORRAL_BENCH_PLACEMENTS"] ?? 50_000)
const groupsTotal = 2_000
const groupSize = 5
const baselinePlacements = Math.min(Number(process.env["CORRAL_BENCH_BASELINE"] ?? 3_000), placementsTotal)

/** A small deterministic generator (mulberry32), so every run places the same sequence. */
function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function inventory() {
  const hosts: unknown[] = []
  for (let z = 0; z < zones; z++) {
    for (let r = 0; r < racksPerZone; r++) {
      for (let h = 0; h < hostsPerRack; h++) {
        const index = hosts.length
        const sriov = index % 5 === 0
        hosts.push({
          name: `z${z}-r${r}-h${h}`, zone: `z${z}`, rack: `r${r}`, vcpus: 64, ramMb: 262_144,
          cpuAllocationRatio: 1, ramAllocationRatio: 1,
          pciDevices: sriov ? [{ address: "0000:04:00.0", vendor_id: "8086", product_id: "1521",
            dev_type: "type-PF", vfs: { count: 8, product_id: "1520" } }] : [],
        })
      }
    }
  }
  const r = decodeInventory({ hosts })
  if (Result.isFailure(r)) throw new Error(r.failure.message)
  return r.success
}

function requests(): ServerCreate[] {
  const random = rng(20261123)
  const out: ServerCreate[] = []
  let nextGroupMember = 0
  for (let k = 0; k < placementsTotal; k++) {
    const roll = random()
    const vcpus = 1 + Math.floor(random() * 4)
    const ramMb = 1024 * (1 + Math.floor(random() * 8))
    const base = { uuid: `s${k}`, kind: "server" as const, vcpus, ramMb, disks: [] }
    if (roll < 0.2 && nextGroupMember < groupsTotal * groupSize) {
      const g = Math.floor(nextGroupMember / groupSize)
      nextGroupMember++
      out.push({ ...base, groups: [`g${g}`] })
    } else if (roll < 0.25) {
      out.push({ ...base, groups: [], pci: [{ count: 1,
        spec: [{ vendor_id: "8086", product_id: "1520" }] }] })
    } else out.push({ ...base, groups: [] })
  }
  return out
}

function withGroups(state: ClusterState): ClusterState {
  let s = state
  for (let g = 0; g < groupsTotal; g++) {
    const r = createGroup(s, { id: `g${g}`, rule: "anti-affinity" })
    if (Result.isFailure(r)) throw new Error(r.failure.message)
    s = r.success
  }
  return s
}

/** The naive baseline: a filter over every host object, then the fullest fitting host. */
function naivePlace(state: ClusterState, req: ServerCreate): ClusterState {
  let best = -1
  let bestScore = -Infinity
  for (const host of state.inventory.hosts) {
    if (host.status !== "up") continue
    const usage = state.usage[host.index]!
    if (!fitOnHost(host, usage, req).fits) continue
    if (req.pci !== undefined && !pciFits(state.pci, host.name, req.pci)) continue
    const breach = req.groups.some((id) => {
      const g = findGroup(state, id)!
      return hardRuleBreach(state.topology, g, memberHosts(state, g), host.index) !== undefined
    })
    if (breach) continue
    const score = (usage.vcpusUsed + req.vcpus) / host.vcpuCapacity +
      (usage.ramMbUsed + req.ramMb) / host.ramCapacityMb
    if (score > bestScore) { bestScore = score; best = host.index }
  }
  if (best < 0) throw new Error(`baseline found no host for ${req.uuid}`)
  const r = createServer(state, req, state.inventory.hosts[best]!.name)
  if (Result.isFailure(r)) throw new Error(r.failure.message)
  return r.success.state
}

function percentile(values: Float64Array, p: number): number {
  const sorted = values.slice().sort()
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!
}

export async function run(): Promise<BenchRecord[]> {
  const inv = inventory()
  const reqs = requests()
  const start = withGroups(createCluster(inv))
  const latencyMs = new Float64Array(reqs.length)
  let state = start
  let rejected = 0
  const t0 = performance.now()
  for (let k = 0; k < reqs.length; k++) {
    const a = performance.now()
    const r = schedule(state, { servers: [reqs[k]!] })
    latencyMs[k] = performance.now() - a
    if (Result.isSuccess(r)) state = r.success.state
    else rejected++
  }
  const totalMs = performance.now() - t0
  const rate = reqs.length / (totalMs / 1000)

  let solver = start
  const s0 = performance.now()
  for (let k = 0; k < baselinePlacements; k++) {
    const r = schedule(solver, { servers: [reqs[k]!] })
    if (Result.isSuccess(r)) solver = r.success.state
  }
  const solverMs = performance.now() - s0
  let naive = start
  const n0 = performance.now()
  for (let k = 0; k < baselinePlacements; k++) naive = naivePlace(naive, reqs[k]!)
  const naiveMs = performance.now() - n0
  return [
    record(suite, "speed: placements/s (5,000 hosts, 50,000 placements)", rate, "placements/s",
      "higher", 20_000),
    record(suite, "speed: p99 latency per placement", percentile(latencyMs, 0.99), "ms", "lower"),
    record(suite, "speed: p50 latency per placement", percentile(latencyMs, 0.5), "ms", "lower"),
    record(suite, "speed: rejected placements", rejected, "count", "lower"),
    record(suite, `speed: vs naive object scan (first ${baselinePlacements}), ratio`,
      naiveMs / solverMs, "x", "higher"),
  ]
}
