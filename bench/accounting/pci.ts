/**
 * Part `pci` of suite `accounting`: claim+free churn of `{count: 1}` VF requests on a host with
 * 8 PFs × 128 VFs, 512 VFs held by live instances; each pair claims a VF for a new instance and
 * frees a random live one. Measured side by side:
 * - the public API (`claim` + `free` on the immutable state), target ≥ 200,000 pairs/s;
 * - the same churn through a naive immutable baseline that copies the host's device arrays on
 *   every change and finds devices by full scans; the ratio API / baseline is reported;
 * - the same churn on a 1,000-host cluster (structural sharing keeps it close to one host);
 * - `pciFits`, the dry run a scheduler calls per host.
 */
import { Result } from "effect"
import { decodeInventory } from "../../core/inventory/index.ts"
import {
  claim, free, pciFits, type PciRequest, type PciState, pciStateOf,
} from "../../core/pci/index.ts"
import { Bench, type BenchRecord, hz, record, runBench, xorshift32 } from "../lib.ts"

const suite = "accounting"
const pfCount = 8
const vfsPerPf = 128
const liveInstances = 512
const pairsPerCall = 200
const clusterHosts = 1_000
const cpuWarmupCalls = 200
const cpuMeasuredCalls = 1_000

const vfRequest: PciRequest = {
  count: 1, spec: [{ vendor_id: "8086", product_id: "154c", dev_type: "type-VF" }],
}

const prng = xorshift32

function sriovHost(name: string, pfs: number, vfs: number): unknown {
  return { name, vcpus: 64, ramMb: 262144, pciDevices: Array.from({ length: pfs }, (_, k) => ({
    address: `0000:${(0x10 + k).toString(16)}:00.0`, vendor_id: "8086", product_id: "1572",
    dev_type: "type-PF", numa_node: 0, extra_info: { physical_network: "physnet1" },
    vfs: { count: vfs, product_id: "154c" },
  })) }
}

function stateOf(hosts: unknown[]): PciState {
  const inventory = decodeInventory({ hosts })
  if (Result.isFailure(inventory)) throw inventory.failure
  return pciStateOf(inventory.success)
}

/** The churn loop over any claim/free pair of functions. */
function churn<S>(initial: S, hosts: ReadonlyArray<string>,
  claimOne: (s: S, host: string, uuid: string) => S, freeOne: (s: S, uuid: string) => S):
  () => void {
  let state = initial
  const next = prng(0x9c1)
  const live: string[] = []
  let serial = 0
  const add = () => {
    const uuid = `instance-${serial++}`
    state = claimOne(state, hosts[next() % hosts.length]!, uuid)
    live.push(uuid)
  }
  for (let i = 0; i < liveInstances; i++) add()
  return () => {
    for (let p = 0; p < pairsPerCall; p++) {
      const j = next() % live.length
      const victim = live[j]!
      live[j] = live[live.length - 1]!
      live.pop()
      state = freeOne(state, victim)
      add()
    }
  }
}

function apiChurn(state: PciState, hosts: ReadonlyArray<string>): () => void {
  return churn(state, hosts, (s, host, instanceUuid) => {
    const r = claim(s, { host, instanceUuid, requests: [vfRequest] })
    if (Result.isFailure(r)) throw r.failure
    return r.success.state
  }, (s, instanceUuid) => {
    const r = free(s, { instanceUuid })
    if (Result.isFailure(r)) throw r.failure
    return r.success.state
  })
}

/** The baseline: one host as plain arrays, copied whole on every change, searched by scans. */
interface Naive {
  readonly type: ReadonlyArray<string>
  readonly product: ReadonlyArray<string>
  readonly parent: ReadonlyArray<number>
  readonly status: ReadonlyArray<string>
  readonly holder: ReadonlyArray<string | null>
}

function naiveOf(): Naive {
  const type: string[] = []
  const product: string[] = []
  const parent: number[] = []
  for (let k = 0; k < pfCount; k++) {
    const pf = type.length
    type.push("type-PF"); product.push("1572"); parent.push(-1)
    for (let v = 0; v < vfsPerPf; v++) {
      type.push("type-VF"); product.push("154c"); parent.push(pf)
    }
  }
  return { type, product, parent, status: type.map(() => "available"),
    holder: type.map(() => null) }
}

function naiveClaim(s: Naive, uuid: string): Naive {
  const status = s.status.slice()
  const holder = s.holder.slice()
  const d = status.findIndex((st, i) => st === "available" && s.type[i] === "type-VF" &&
    s.product[i] === "154c")
  if (d < 0) throw new Error("naive: no VF")
  status[d] = "claimed"
  holder[d] = uuid
  status[s.parent[d]!] = "unclaimable"
  return { ...s, status, holder }
}

function naiveFree(s: Naive, uuid: string): Naive {
  const status = s.status.slice()
  const holder = s.holder.slice()
  for (let d = 0; d < holder.length; d++) {
    if (holder[d] !== uuid) continue
    status[d] = "available"
    holder[d] = null
    const pf = s.parent[d]!
    const busy = s.parent.some((p, i) => p === pf && holder[i] !== null)
    if (!busy) status[pf] = "available"
  }
  return { ...s, status, holder }
}

/**
 * Pairs per second of CPU time used by this process (GC threads included): on a shared machine
 * this is what one core would give, where wall-clock figures also measure the neighbours.
 */
function pairsPerCpuSecond(churnCall: () => void): number {
  for (let i = 0; i < cpuWarmupCalls; i++) churnCall()
  const start = process.cpuUsage()
  for (let i = 0; i < cpuMeasuredCalls; i++) churnCall()
  const used = process.cpuUsage(start)
  return (cpuMeasuredCalls * pairsPerCall) / ((used.user + used.system) / 1e6)
}

/** Runs the churns side by side and reports pairs/s, the ratio and dry runs/s. */
export async function run(): Promise<BenchRecord[]> {
  const one = stateOf([sriovHost("bench", pfCount, vfsPerPf)])
  const many = stateOf(Array.from({ length: clusterHosts }, (_, i) => sriovHost(`h${i}`, 2, 16)))
  const manyNames = Array.from({ length: clusterHosts }, (_, i) => `h${i}`)
  let probe = 0
  const bench = new Bench({ time: 2000, warmupTime: 300 })
  bench.add("api", apiChurn(one, ["bench"]))
  bench.add("naive", churn(naiveOf(), ["bench"], (s, _h, uuid) => naiveClaim(s, uuid), naiveFree))
  bench.add("cluster", apiChurn(many, manyNames))
  bench.add("fits", () => {
    for (let p = 0; p < pairsPerCall; p++) {
      if (!pciFits(many, manyNames[probe++ % clusterHosts]!, [vfRequest])) throw new Error("fits")
    }
  })
  const [api, base, cluster, fits] = (await runBench(bench)).map((t) => hz(t) * pairsPerCall)
  const apiCpu = pairsPerCpuSecond(apiChurn(one, ["bench"]))
  const baseCpu = pairsPerCpuSecond(churn(naiveOf(), ["bench"],
    (s, _h, uuid) => naiveClaim(s, uuid), naiveFree))
  return [
    record(suite, "pci: claim+free VF pairs, public API (8 PFs x 128 VFs, 512 live)", api!,
      "pairs/s", "higher", 200_000),
    record(suite, "pci: claim+free VF pairs, naive full-scan-and-copy baseline", base!, "pairs/s",
      "higher"),
    record(suite, "pci: speed-up of the API over the naive baseline", api! / base!, "x", "higher"),
    record(suite, "pci: claim+free VF pairs per CPU-second, public API", apiCpu, "pairs/cpu-s",
      "higher", 200_000),
    record(suite, "pci: claim+free VF pairs per CPU-second, naive baseline", baseCpu,
      "pairs/cpu-s", "higher"),
    record(suite, "pci: claim+free VF pairs, 1,000 hosts x 2 PFs x 16 VFs", cluster!, "pairs/s",
      "higher"),
    record(suite, "pci: pciFits dry runs (1,000 hosts)", fits!, "checks/s", "higher"),
  ]
}
