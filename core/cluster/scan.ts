/**
 * The structure-of-arrays view of every host's free resources, for the placement scan (and later
 * the WebAssembly kernel, which reads exactly these arrays).
 *
 * The arrays are updated in place for the one host an operation changed, and ownership passes to
 * the new state. A state that no longer owns its index (an older state, or one whose successor was
 * a discarded dry run) rebuilds it on first use, so every state always reads its own numbers.
 */
import type { Host, Inventory } from "../inventory/inventory.ts"
import { diskPoolKind, type DiskPoolKind } from "../model/inventory.ts"
import type { HostUsage } from "./types.ts"

/** Disk pool classes with a column in the scan, in column order. */
export const poolKinds: ReadonlyArray<DiskPoolKind> = ["ECKD", "FBA", "zpool"]

/** Column of a pool kind in `ScanIndex.maxFreeDiskMb`. */
export function poolKindColumn(kind: DiskPoolKind): number {
  return kind === "ECKD" ? 0 : kind === "FBA" ? 1 : 2
}

/** Free resources of every host, one typed array per resource, indexed by host index. */
export interface ScanIndex {
  /** 1 when the host takes new work (status `up`). */
  readonly up: Uint8Array
  readonly freeVcpus: Float64Array
  readonly freeRamMb: Float64Array
  /** What each host offers guests (static for an inventory). */
  readonly vcpuCapacity: Float64Array
  readonly ramCapacityMb: Float64Array
  /** Largest free pool of each kind: column `k` (see `poolKindColumn`) at `k * hostCount + i`. */
  readonly maxFreeDiskMb: Float64Array
  /** The state that may read these arrays; any other state rebuilds its own. */
  owner: object | undefined
}

/** Free vCPUs of a host under a usage. */
export const freeVcpusOf = (host: Host, usage: HostUsage): number =>
  host.vcpuCapacity - usage.vcpusUsed

/** Free RAM of a host under a usage. */
export const freeRamMbOf = (host: Host, usage: HostUsage): number =>
  host.ramCapacityMb - usage.ramMbUsed

/** Builds the scan arrays from scratch (O(hosts)). */
export function buildScan(inventory: Inventory, usage: ReadonlyArray<HostUsage>): ScanIndex {
  const count = inventory.hosts.length
  const scan: ScanIndex = {
    up: new Uint8Array(count),
    freeVcpus: new Float64Array(count),
    freeRamMb: new Float64Array(count),
    vcpuCapacity: new Float64Array(count),
    ramCapacityMb: new Float64Array(count),
    maxFreeDiskMb: new Float64Array(count * poolKinds.length),
    owner: undefined,
  }
  for (let i = 0; i < count; i++) updateScanHost(scan, inventory.hosts[i]!, usage[i]!)
  return scan
}

/** Rewrites one host's entries after its usage changed (O(pools on the host)). */
export function updateScanHost(scan: ScanIndex, host: Host, usage: HostUsage): void {
  const i = host.index
  const count = scan.up.length
  scan.up[i] = host.status === "up" ? 1 : 0
  scan.freeVcpus[i] = freeVcpusOf(host, usage)
  scan.freeRamMb[i] = freeRamMbOf(host, usage)
  scan.vcpuCapacity[i] = host.vcpuCapacity
  scan.ramCapacityMb[i] = host.ramCapacityMb
  for (let k = 0; k < poolKinds.length; k++) scan.maxFreeDiskMb[k * count + i] = 0
  host.diskPools.forEach((pool, p) => {
    const column = poolKindColumn(diskPoolKind(pool.name)) * count + i
    const free = pool.sizeMb - usage.diskUsedMb[p]!
    if (free > scan.maxFreeDiskMb[column]!) scan.maxFreeDiskMb[column] = free
  })
}
