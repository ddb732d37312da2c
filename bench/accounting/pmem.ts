/**
 * Part `pmem` of suite `accounting`: add+delete churn on one 1.5 TiB pmem device holding 10,000
 * live volumes (sizes 1-256 MB, align 2 MB, 1,000 servers of 10 volumes). Each pair deletes a
 * random live volume and adds a new one to the same server. Measured side by side:
 * - the public API (`deletePmemVolumes` + `addPmemVolumes` on the immutable state), target
 *   ≥ 200,000 pairs/s;
 * - the device allocator alone (the rerootable chunked extent sets of `core/pmem/extents.ts`);
 * - a naive baseline allocator: an immutable sorted array of free extents, best fit by a full
 *   scan, copied on every change; the ratio allocator / baseline is reported.
 */
import { Result } from "effect"
import { decodeInventory } from "../../core/inventory/index.ts"
import {
  allocateExtent,
  type DeviceExtents,
  emptyDevice,
  freeExtent,
} from "../../core/pmem/extents.ts"
import {
  addPmemVolumes,
  deletePmemVolumes,
  pmemStateOf,
  type PmemState,
} from "../../core/pmem/index.ts"
import { Bench, type BenchRecord, hz, record, runBench, xorshift32 } from "../lib.ts"

const suite = "accounting"
const deviceSizeMb = 1536 * 1024
const alignMb = 2
const liveVolumes = 10_000
const serverCount = 1_000
const sizeMbMax = 256
const pairsPerCall = 200

const prng = xorshift32

interface Live { server: string; uuid: string }

function apiChurn(): () => void {
  const inventory = decodeInventory({ hosts: [{ name: "bench", vcpus: 64, ramMb: 1 << 20,
    pmemDevices: [{ name: "NVDIMM0", sizeMb: deviceSizeMb, alignMb, numaNode: 0 }] }] })
  if (Result.isFailure(inventory)) throw inventory.failure
  let state: PmemState = pmemStateOf(inventory.success)
  const next = prng(0x5eed)
  const live: Live[] = []
  let serial = 0
  const add = (server: string) => {
    const r = addPmemVolumes(state, { serverUuid: server, host: "bench" }, [{
      name: `v${serial++}`, sizeMb: 1 + (next() % sizeMbMax), device: "NVDIMM0", affinity: false,
    }])
    if (Result.isFailure(r)) throw r.failure
    state = r.success.state
    live.push({ server, uuid: r.success.volumes[0]!.uuid })
  }
  for (let i = 0; i < liveVolumes; i++) add(`server-${i % serverCount}`)
  return () => {
    for (let p = 0; p < pairsPerCall; p++) {
      const j = next() % live.length
      const victim = live[j]!
      live[j] = live[live.length - 1]!
      live.pop()
      const r = deletePmemVolumes(state, victim.server, [victim.uuid])
      if (Result.isFailure(r)) throw r.failure
      state = r.success.state
      add(victim.server)
    }
  }
}

/** The interface both allocators offer the churn loop. */
interface Allocator<D> {
  allocate(device: D, extentMb: number): { device: D; offsetMb: number } | undefined
  free(device: D, offsetMb: number, extentMb: number): D
}

const chunked: Allocator<DeviceExtents> = { allocate: allocateExtent, free: freeExtent }

/** The baseline: free extents in one sorted array, copied whole on every change. */
type Naive = ReadonlyArray<{ readonly offsetMb: number; readonly lengthMb: number }>
const naive: Allocator<Naive> = {
  allocate(device, extentMb) {
    let best = -1
    for (let i = 0; i < device.length; i++) {
      const len = device[i]!.lengthMb
      if (len >= extentMb && (best < 0 || len < device[best]!.lengthMb)) best = i
    }
    if (best < 0) return undefined
    const e = device[best]!
    const out = device.slice()
    if (e.lengthMb === extentMb) out.splice(best, 1)
    else out[best] = { offsetMb: e.offsetMb + extentMb, lengthMb: e.lengthMb - extentMb }
    return { device: out, offsetMb: e.offsetMb }
  },
  free(device, offsetMb, extentMb) {
    let lo = 0
    let hi = device.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (device[mid]!.offsetMb < offsetMb) lo = mid + 1
      else hi = mid
    }
    const out = device.slice()
    let start = offsetMb
    let length = extentMb
    let from = lo
    let count = 0
    const before = device[lo - 1]
    if (before !== undefined && before.offsetMb + before.lengthMb === offsetMb) {
      start = before.offsetMb
      length += before.lengthMb
      from = lo - 1
      count++
    }
    const after = device[lo]
    if (after !== undefined && after.offsetMb === offsetMb + extentMb) {
      length += after.lengthMb
      count++
    }
    out.splice(from, count, { offsetMb: start, lengthMb: length })
    return out
  },
}

function allocatorChurn<D>(allocator: Allocator<D>, empty: D): () => void {
  let device = empty
  const next = prng(0x5eed)
  const live: Array<{ offsetMb: number; extentMb: number }> = []
  const add = () => {
    const extentMb = Math.ceil((1 + (next() % sizeMbMax)) / alignMb) * alignMb
    const got = allocator.allocate(device, extentMb)
    if (got === undefined) throw new Error("bench device full")
    device = got.device
    live.push({ offsetMb: got.offsetMb, extentMb })
  }
  for (let i = 0; i < liveVolumes; i++) add()
  return () => {
    for (let p = 0; p < pairsPerCall; p++) {
      const j = next() % live.length
      const victim = live[j]!
      live[j] = live[live.length - 1]!
      live.pop()
      device = allocator.free(device, victim.offsetMb, victim.extentMb)
      add()
    }
  }
}

/**
 * Pairs per second of process CPU time over `calls` calls of `churn`: on a shared, loaded
 * machine wall-clock throughput mostly measures the other processes; CPU time does not.
 */
function pairsPerCpuS(churn: () => void, calls: number): number {
  const before = process.cpuUsage()
  for (let c = 0; c < calls; c++) churn()
  const used = process.cpuUsage(before)
  return (calls * pairsPerCall) / ((used.user + used.system) / 1e6)
}

/** Runs the three churns side by side and reports pairs/s and the allocator ratio. */
export async function run(): Promise<BenchRecord[]> {
  const api = apiChurn()
  const alloc = allocatorChurn(chunked, emptyDevice(deviceSizeMb, alignMb))
  const base = allocatorChurn(naive, [{ offsetMb: 0, lengthMb: deviceSizeMb }])
  const bench = new Bench({ time: 2000, warmupTime: 300 })
  bench.add("api", api)
  bench.add("chunked", alloc)
  bench.add("naive", base)
  const [apiHz, allocHz, baseHz] = (await runBench(bench)).map((t) => hz(t) * pairsPerCall)
  const apiCpu = pairsPerCpuS(api, 500)
  const allocCpu = pairsPerCpuS(alloc, 500)
  const baseCpu = pairsPerCpuS(base, 50)
  const name = "pmem: add+delete pairs, public API (1.5 TiB, 10k live)"
  return [
    record(suite, name, apiHz!, "pairs/s", "higher", 200_000),
    record(suite, "pmem: add+delete pairs per CPU-second, public API", apiCpu, "pairs/cpu-s",
      "higher", 200_000),
    record(suite, "pmem: alloc+free pairs, extent allocator", allocHz!, "pairs/s", "higher"),
    record(suite, "pmem: alloc+free pairs, naive copying sorted array", baseHz!, "pairs/s",
      "higher"),
    record(suite, "pmem: allocator speed-up over naive baseline", allocHz! / baseHz!, "x",
      "higher"),
    record(suite, "pmem: allocator speed-up over naive baseline, CPU time", allocCpu / baseCpu,
      "x", "higher"),
  ]
}
