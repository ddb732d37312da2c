/**
 * Read-only queries for schedulers: per-pool free counts of one host, and a structure-of-arrays
 * column of free matching devices over all hosts (a cheap necessary condition before `pciFits`).
 */
import { Result } from "effect"
import { NotFound } from "../errors.ts"
import type { PciDevType } from "../model/index.ts"
import { pvecGet } from "./pvec.ts"
import type { PciRequest } from "./request.ts"
import { matchingPools } from "./select.ts"
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
  const usage = pvecGet(state.hosts, index)
  return Result.succeed(layout.pools.map((p) => ({
    index: p.index, vendorId: p.vendorId, productId: p.productId, numaNode: p.numaNode,
    devType: p.devType, tags: p.tags, size: p.members.length,
    free: poolFreeAt(layout, usage, p.index),
  })))
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
  for (const host of hosts) {
    if (host.pools.length === 0) {
      column[host.index] = 0
      continue
    }
    const usage = pvecGet(state.hosts, host.index)
    let total = 0
    for (const p of matchingPools(host, request.spec)) total += poolFreeAt(host, usage, p)
    column[host.index] = total
  }
  return column
}
