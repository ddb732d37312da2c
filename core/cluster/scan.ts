/**
 * The structure-of-arrays view of every host's free resources, for the placement scan (the
 * TypeScript reference and the WebAssembly kernel read exactly these columns).
 *
 * The arrays are updated in place for the one host an operation changed, and ownership passes to
 * the new state. A state that no longer owns its index (an older state, or one whose successor was
 * a discarded dry run) rebuilds it on first use, so every state always reads its own numbers.
 * Every in-place update is appended to `changeLog`, so a mirror of the columns (the WebAssembly
 * kernel's linear memory) can follow by copying only the changed hosts.
 */
import type { Host, Inventory } from "../inventory/inventory.ts"
import { diskPoolKind, type DiskPoolKind } from "../model/inventory.ts"
import { pciHostFreeCount, pciHostPools, type PciSpec, type PciState } from "../pci/index.ts"
import {
  foldPciMax, type HostIndex, newHostColumns, readHostColumns, refreshHostIndex,
} from "./host-index.ts"
import type { HostUsage } from "./types.ts"

/** Disk pool classes with a column in the scan, in column order. */
export const poolKinds: ReadonlyArray<DiskPoolKind> = ["ECKD", "FBA", "zpool"]

/** Column of a pool kind in `ScanIndex.maxFreeDiskMb`. */
export function poolKindColumn(kind: DiskPoolKind): number {
  return kind === "ECKD" ? 0 : kind === "FBA" ? 1 : 2
}

/** Entries of the change log (a ring); a mirror further behind than this copies everything. */
export const changeLogCapacity = 1024

/**
 * Free devices per host matching one PCI request spec (`pciFreeByHost`'s number), kept current
 * for the changed host on every update. `key` identifies the spec (see `pciSpecKey`).
 */
export interface PciColumn {
  readonly key: string
  readonly spec: ReadonlyArray<PciSpec>
  readonly free: Int32Array
  /** Per host, the pools the spec matches (computed on first use; the layout never changes). */
  readonly pools: Array<ReadonlyArray<number> | undefined>
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
  /** 1 / capacity (static): the weighers multiply by these instead of dividing. */
  readonly vcpuCapacityInv: Float64Array
  readonly ramCapacityInv: Float64Array
  /** Largest free pool of each kind: column `k` (see `poolKindColumn`) at `k * hostCount + i`. */
  readonly maxFreeDiskMb: Float64Array
  /** Kinds of special hardware per host (PCI devices, pmem devices: 0 to 2; static). */
  readonly special: Int32Array
  /** Whether any host has special hardware. */
  readonly anySpecial: boolean
  /** Whether any host offers 0 vCPUs or 0 MB (its utilisation score is undefined). */
  readonly anyZeroCapacity: boolean
  /** Free-device columns of the PCI specs requests asked for, by `pciSpecKey`. */
  readonly pci: Map<string, PciColumn>
  /** Host indexes of the in-place updates, a ring of `changeLogCapacity`. */
  readonly changeLog: Int32Array
  /** In-place updates so far (the next one goes to `changeLog[version % capacity]`). */
  version: number
  /** The state that may read these arrays; any other state rebuilds its own. */
  owner: object | undefined
  /**
   * Block summaries over these columns for the placement search (`host-index.ts`), built on
   * first use and kept current by `updateScanHost`; a rebuilt index starts without them.
   */
  hostIndex?: HostIndex | undefined
  /**
   * Every host's disk pools as flat columns (static; set by `buildScan`), so a usage update
   * (`updateScanUsage`) reads no host record.
   */
  readonly pools?: PoolLayout | undefined
  /**
   * 1 for each host with PCI devices (static; set by `buildScan`): a usage update rewrites the
   * PCI columns of those hosts alone (another host's entry is always 0), reading no PCI record.
   */
  readonly pciHosts?: Uint8Array | undefined
}

/** Every host's disk pools, flat and in host order (static for an inventory). */
export interface PoolLayout {
  /** Host i's pools are entries `first[i]` up to (excluding) `first[i + 1]`, in pool order. */
  readonly first: Int32Array
  readonly sizeMb: Float64Array
  /** The `maxFreeDiskMb` column of each pool's kind (`poolKindColumn`). */
  readonly column: Uint8Array
}

/** The pool layout of an inventory (O(pools)). */
function poolLayoutOf(inventory: Inventory): PoolLayout {
  const hosts = inventory.hosts
  const first = new Int32Array(hosts.length + 1)
  for (let i = 0; i < hosts.length; i++) first[i + 1] = first[i]! + hosts[i]!.diskPools.length
  const sizeMb = new Float64Array(first[hosts.length]!)
  const column = new Uint8Array(first[hosts.length]!)
  for (let i = 0; i < hosts.length; i++) {
    const pools = hosts[i]!.diskPools
    for (let p = 0; p < pools.length; p++) {
      sizeMb[first[i]! + p] = pools[p]!.sizeMb
      column[first[i]! + p] = poolKindColumn(diskPoolKind(pools[p]!.name))
    }
  }
  return { first, sizeMb, column }
}

/** Free vCPUs of a host under a usage. */
export const freeVcpusOf = (host: Host, usage: HostUsage): number =>
  host.vcpuCapacity - usage.vcpusUsed

/** Free RAM of a host under a usage. */
export const freeRamMbOf = (host: Host, usage: HostUsage): number =>
  host.ramCapacityMb - usage.ramMbUsed

/** Builds the scan arrays from scratch (O(hosts)); PCI columns are added on first use. */
export function buildScan(inventory: Inventory, usage: ReadonlyArray<HostUsage>): ScanIndex {
  const count = inventory.hosts.length
  const special = new Int32Array(count)
  const pciHosts = new Uint8Array(count)
  let anySpecial = false
  for (const host of inventory.hosts) {
    pciHosts[host.index] = host.pciDevices.length > 0 ? 1 : 0
    special[host.index] = pciHosts[host.index]! + (host.pmemDevices.length > 0 ? 1 : 0)
    anySpecial ||= special[host.index]! > 0
  }
  const scan: ScanIndex = {
    up: new Uint8Array(count),
    freeVcpus: new Float64Array(count),
    freeRamMb: new Float64Array(count),
    vcpuCapacity: new Float64Array(count),
    ramCapacityMb: new Float64Array(count),
    vcpuCapacityInv: new Float64Array(count),
    ramCapacityInv: new Float64Array(count),
    maxFreeDiskMb: new Float64Array(count * poolKinds.length),
    special,
    anySpecial,
    anyZeroCapacity: inventory.hosts.some((h) => h.vcpuCapacity <= 0 || h.ramCapacityMb <= 0),
    pci: new Map(),
    changeLog: new Int32Array(changeLogCapacity),
    version: 0,
    owner: undefined,
    hostIndex: undefined,
    pools: poolLayoutOf(inventory),
    pciHosts,
  }
  for (let i = 0; i < count; i++) writeHost(scan, inventory.hosts[i]!, usage[i]!)
  return scan
}

/** A host's columns before an update (scratch of `updateScanHost`). */
const before = newHostColumns()

/**
 * Rewrites one host's entries after its usage or PCI state changed (O(pools on the host)) and
 * logs the change.
 */
export function updateScanHost(
  scan: ScanIndex,
  host: Host,
  usage: HostUsage,
  pci: PciState,
): void {
  const hostIndex = scan.hostIndex
  if (hostIndex !== undefined) readHostColumns(scan, host.index, before)
  writeHost(scan, host, usage)
  // No iterator when there are no PCI columns (most updates): it would be garbage per call.
  if (scan.pci.size > 0) {
    for (const column of scan.pci.values()) writePciHost(column, pci, host.index, hostIndex)
  }
  if (hostIndex !== undefined) refreshHostIndex(hostIndex, scan, host.index, before)
  scan.changeLog[scan.version % changeLogCapacity] = host.index
  scan.version++
}

/**
 * `updateScanHost` for a change of usage only (the host's status and capacities as they were):
 * rewrites the host's free vCPUs, RAM and disk from its capacity columns and the pool layout,
 * reading no host record (at 10,000 hosts, the record, its pool list and pools were cache misses
 * on every release). The result equals `updateScanHost`'s. Needs a scan from `buildScan`.
 */
export function updateScanUsage(
  scan: ScanIndex,
  hostIndex: number,
  usage: HostUsage,
  pci: PciState,
): void {
  const pools = scan.pools
  if (pools === undefined) throw new Error("updateScanUsage: a scan without a pool layout")
  const index = scan.hostIndex
  if (index !== undefined) readHostColumns(scan, hostIndex, before)
  writeUsage(scan, pools, hostIndex, usage)
  const pciHosts = scan.pciHosts
  if (scan.pci.size > 0 && (pciHosts === undefined || pciHosts[hostIndex] === 1)) {
    for (const column of scan.pci.values()) writePciHost(column, pci, hostIndex, index)
  }
  if (index !== undefined) refreshHostIndex(index, scan, hostIndex, before)
  scan.changeLog[scan.version % changeLogCapacity] = hostIndex
  scan.version++
}

/** Whether a usage stays within host i's capacities (vCPUs, RAM, each pool) and above 0. */
export function usageWithin(scan: ScanIndex, i: number, u: HostUsage): boolean {
  const pools = scan.pools
  if (pools === undefined) throw new Error("usageWithin: a scan without a pool layout")
  if (!(u.vcpusUsed >= 0 && u.ramMbUsed >= 0 && u.instanceCount >= 0 &&
    u.vcpusUsed <= scan.vcpuCapacity[i]! && u.ramMbUsed <= scan.ramCapacityMb[i]!)) return false
  const first = pools.first[i]!
  const used = u.diskUsedMb
  if (used.length !== pools.first[i + 1]! - first) return false
  for (let p = 0; p < used.length; p++) {
    if (!(used[p]! >= 0 && used[p]! <= pools.sizeMb[first + p]!)) return false
  }
  return true
}

function writeUsage(scan: ScanIndex, pools: PoolLayout, i: number, usage: HostUsage): void {
  const count = scan.up.length
  scan.freeVcpus[i] = scan.vcpuCapacity[i]! - usage.vcpusUsed
  scan.freeRamMb[i] = scan.ramCapacityMb[i]! - usage.ramMbUsed
  const maxFree = scan.maxFreeDiskMb
  for (let k = 0; k < poolKinds.length; k++) maxFree[k * count + i] = 0
  const first = pools.first[i]!
  const end = pools.first[i + 1]!
  for (let p = first; p < end; p++) {
    const column = pools.column[p]! * count + i
    const free = pools.sizeMb[p]! - usage.diskUsedMb[p - first]!
    if (free > maxFree[column]!) maxFree[column] = free
  }
}

function writeHost(scan: ScanIndex, host: Host, usage: HostUsage): void {
  const i = host.index
  const count = scan.up.length
  scan.up[i] = host.status === "up" ? 1 : 0
  scan.freeVcpus[i] = freeVcpusOf(host, usage)
  scan.freeRamMb[i] = freeRamMbOf(host, usage)
  scan.vcpuCapacity[i] = host.vcpuCapacity
  scan.ramCapacityMb[i] = host.ramCapacityMb
  scan.vcpuCapacityInv[i] = 1 / host.vcpuCapacity
  scan.ramCapacityInv[i] = 1 / host.ramCapacityMb
  for (let k = 0; k < poolKinds.length; k++) scan.maxFreeDiskMb[k * count + i] = 0
  for (let p = 0; p < host.diskPools.length; p++) {
    const pool = host.diskPools[p]!
    const column = poolKindColumn(diskPoolKind(pool.name)) * count + i
    const free = pool.sizeMb - usage.diskUsedMb[p]!
    if (free > scan.maxFreeDiskMb[column]!) scan.maxFreeDiskMb[column] = free
  }
}

/** A key per PCI spec: equal specs (same alternatives, same order) share a column. */
export function pciSpecKey(spec: ReadonlyArray<PciSpec>): string {
  return JSON.stringify(spec.map((alt) => Object.keys(alt).sort().map((k) => [k, alt[k]])))
}

/** Whether two specs have the same `pciSpecKey` (checked without building it). */
function sameSpec(a: ReadonlyArray<PciSpec>, b: ReadonlyArray<PciSpec>): boolean {
  if (a.length !== b.length) return false
  for (let k = 0; k < a.length; k++) {
    const x = a[k]!
    const y = b[k]!
    let keys = 0
    for (const name in x) {
      if (!Object.hasOwn(x, name)) continue
      if (!Object.hasOwn(y, name) || x[name] !== y[name]) return false
      keys++
    }
    for (const name in y) if (Object.hasOwn(y, name)) keys--
    if (keys !== 0) return false
  }
  return true
}

/**
 * The free-device column of a spec, built from `pci` on first use (O(hosts with devices)) and
 * kept current by `updateScanHost` afterwards. `pci` must be the owning state's.
 */
export function pciColumnOf(
  scan: ScanIndex,
  pci: PciState,
  spec: ReadonlyArray<PciSpec>,
): PciColumn {
  for (const column of scan.pci.values()) {
    if (column.spec === spec || sameSpec(column.spec, spec)) return column
  }
  const key = pciSpecKey(spec)
  const known = scan.pci.get(key)
  if (known !== undefined) return known
  const count = scan.up.length
  const column: PciColumn = { key, spec, free: new Int32Array(count),
    pools: new Array<ReadonlyArray<number> | undefined>(count) }
  for (const host of pci.layout.hosts) {
    if (host.pools.length > 0) writePciHost(column, pci, host.index, undefined)
  }
  scan.pci.set(key, column)
  return column
}

/**
 * Rewrites host `hostIndex`'s entry of a PCI column, and folds a change into the per-block maxima
 * `index` keeps of that column (when it keeps them).
 */
function writePciHost(column: PciColumn, pci: PciState, hostIndex: number,
  index: HostIndex | undefined): void {
  if (pci.layout.hosts[hostIndex]!.pools.length === 0) return
  let pools = column.pools[hostIndex]
  if (pools === undefined) {
    pools = pciHostPools(pci, hostIndex, column.spec)
    column.pools[hostIndex] = pools
  }
  const was = column.free[hostIndex]!
  column.free[hostIndex] = pciHostFreeCount(pci, hostIndex, pools)
  if (index !== undefined && column.free[hostIndex] !== was) {
    foldPciMax(index, column, hostIndex, was)
  }
}
