/**
 * Read-only queries for schedulers: per-pool free counts of one host, and a structure-of-arrays
 * column of free matching devices over all hosts (a cheap necessary condition before `pciFits`).
 */
import { Result } from "effect"
import { NotFound } from "../errors.ts"
import type { PciDevType } from "../model/index.ts"
import { rvecGet } from "../persistent/vec.ts"
import type { PciHostLayout } from "./layout.ts"
import type { PciRequest, PciSpec } from "./request.ts"
import { matchingPools } from "./select.ts"
import { hostMatchFor } from "./specs.ts"
import { type PciState, poolFreeAt } from "./state.ts"

/** One pool of a host with its free count. */
export interface PciPoolFree {
  readonly index: number
  readonly vendorId: string
  readonly productId: string
  readonly numaNode: number | null
  readonly devType: PciDevType
  readonly tags: Readonly<Record<string, string>>
  /** Devices in the pool, removed ones included. */
  readonly size: number
  /** Devices `available` now. */
  readonly free: number
}

/** Every pool of `host` (empty ones included) with its free count; NotFound for unknown host. */
export function pciPools(state: PciState, host: string):
  Result.Result<ReadonlyArray<PciPoolFree>, NotFound> {
  const index = state.layout.hostIndex.get(host)
  if (index === undefined) return Result.fail(new NotFound({ resource: "Host", id: host }))
  const layout = state.layout.hosts[index]!
  const usage = rvecGet(state.hosts, index)
  return Result.succeed(layout.pools.map((p) => ({
    index: p.index, vendorId: p.vendorId, productId: p.productId, numaNode: p.numaNode,
    devType: p.devType, tags: p.tags, size: p.members.length,
    free: poolFreeAt(layout, usage, p.index),
  })))
}

/**
 * The pools of host `hostIndex` (its inventory index) that `spec` may draw from, NUMA aside (PF
 * pools only when an alternative asks for `type-PF`), ascending. They depend on the layout only,
 * never on usage: a caller may keep them for every later state of the same inventory and pass
 * them to `pciHostFreeCount`. RangeError for an index outside the inventory.
 */
export function pciHostPools(state: PciState, hostIndex: number,
  spec: ReadonlyArray<PciSpec>): ReadonlyArray<number> {
  return matchingPools(hostLayoutAt(state, hostIndex), spec)
}

/**
 * How many devices of `pools` (pool indices of host `hostIndex`, as `pciHostPools` gives them)
 * are `available` now on that host: one host's entry of `pciFreeByHost`, in O(pools). RangeError
 * for a host index or a pool index the layout does not have.
 */
export function pciHostFreeCount(state: PciState, hostIndex: number,
  pools: ReadonlyArray<number>): number {
  const layout = hostLayoutAt(state, hostIndex)
  if (layout.pools.length === 0) return 0
  const usage = rvecGet(state.hosts, hostIndex)
  let total = 0
  for (let i = 0; i < pools.length; i++) {
    const p = pools[i]!
    if (!(Number.isInteger(p) && p >= 0 && p < layout.pools.length)) {
      throw new RangeError(`pciHostFreeCount: pools[${i}] is ${p}; host ${layout.name} has ` +
        `pools 0..${layout.pools.length - 1}`)
    }
    total += poolFreeAt(layout, usage, p)
  }
  return total
}

function hostLayoutAt(state: PciState, hostIndex: number): PciHostLayout {
  const layout = Number.isInteger(hostIndex) ? state.layout.hosts[hostIndex] : undefined
  if (layout === undefined) {
    throw new RangeError(`host index ${hostIndex} outside 0..${state.layout.hosts.length - 1}`)
  }
  return layout
}

/**
 * For each host (by inventory index), how many available devices match `request`'s spec (PF
 * pools only when it asks for PFs), NUMA aside: `request.count` above it means the request cannot
 * fit there. Writes into `out` when given (length ≥ hosts), else into a fresh array.
 */
export function pciFreeByHost(state: PciState, request: Pick<PciRequest, "spec">,
  out?: Int32Array): Int32Array {
  const hosts = state.layout.hosts
  const column = out ?? new Int32Array(hosts.length)
  if (column.length < hosts.length) {
    throw new RangeError(`pciFreeByHost: out has ${column.length} slots for ${hosts.length} hosts`)
  }
  // The spec is looked up once; each host then reads its remembered pools by the spec's id.
  const entry = hosts.length > 0 ? hosts[0]!.specs.entryOf(request.spec) : undefined
  for (const host of hosts) {
    if (host.pools.length === 0 || entry === undefined) {
      column[host.index] = 0
      continue
    }
    const usage = rvecGet(state.hosts, host.index)
    const pools = hostMatchFor(host, entry).pools
    let total = 0
    for (let i = 0; i < pools.length; i++) total += poolFreeAt(host, usage, pools[i]!)
    column[host.index] = total
  }
  return column
}
