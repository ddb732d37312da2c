/**
 * Whether an instance fits on one host under a usage, and where its disks and NUMA shares go.
 * One function decides for the filter, the dry run and the commit (no near-copies that drift).
 */
import type { Host } from "../inventory/inventory.ts"
import { diskPoolKind } from "../model/inventory.ts"
import type {
  DiskRequest,
  HostAssignment,
  HostUsage,
  InstanceSpec,
  PlacedCell,
  PlacedDisk,
} from "./types.ts"

/** The resource names a misfit reports (shared constants, so reports can count them). */
export const fitResources = {
  vcpus: "vcpus",
  ramMb: "ramMb",
  disk: "disk",
  numa: "numa",
  pci: "pci",
  pmem: "pmem",
} as const
/** One of `fitResources`' values. */
export type FitResource = (typeof fitResources)[keyof typeof fitResources]

/** Why an instance does not fit on a host: the resource, and requested/free/capacity numbers. */
export interface Misfit {
  readonly resource: FitResource
  readonly detail: string
  readonly requested: number
  readonly free: number
  readonly capacity: number
}

/** Either the assignment of the instance on the host, or why it does not fit. */
export type Fit = { readonly fits: true; readonly assignment: HostAssignment } |
  { readonly fits: false; readonly misfit: Misfit }

const noAssignment: HostAssignment = { disks: [], cells: [] }
/** The fit of an instance without disks or NUMA cells (shared: it holds nothing per call). */
const fitsAsIs: Fit = { fits: true, assignment: noAssignment }

/** Whether a disk may come from a pool of the given name. */
export function poolMatches(disk: DiskRequest, poolName: string): boolean {
  if (disk.pool !== undefined) return disk.pool === poolName
  return disk.kind === undefined || disk.kind === diskPoolKind(poolName)
}

/** vCPUs one NUMA cell offers guests (its pCPUs times the host's CPU allocation ratio). */
export const cellVcpuCapacity = (host: Host, cellIndex: number): number =>
  Math.floor(host.numaCells[cellIndex]!.cpus * host.cpuAllocationRatio)

/** RAM one NUMA cell offers guests (less its DRAM pmem, times the RAM allocation ratio). */
export const cellRamCapacityMb = (host: Host, cellIndex: number): number => {
  const cell = host.numaCells[cellIndex]!
  return Math.floor((cell.ramMb - cell.dramPmemMb) * host.ramAllocationRatio)
}

/**
 * Decides whether `spec` fits on `host` given `usage`: vCPUs and RAM against the host's capacity
 * (allocation ratios applied), each disk into a matching pool (largest disk first, best fit), and
 * NUMA shares into distinct cells (best fit by free RAM, lowest index on ties).
 * Deterministic. A fit with one disk and no NUMA binding is a shared value (see `oneDiskFit`);
 * otherwise it allocates only the assignment it returns.
 */
export function fitOnHost(host: Host, usage: HostUsage, spec: InstanceSpec): Fit {
  const freeVcpus = host.vcpuCapacity - usage.vcpusUsed
  if (spec.vcpus > freeVcpus) {
    return misfit("vcpus", "vCPUs", spec.vcpus, freeVcpus, host.vcpuCapacity)
  }
  const freeRamMb = host.ramCapacityMb - usage.ramMbUsed
  if (spec.ramMb > freeRamMb) {
    return misfit("ramMb", "RAM MB", spec.ramMb, freeRamMb, host.ramCapacityMb)
  }
  if (spec.disks.length === 1 && spec.numaCells === undefined) {
    const disk = spec.disks[0]!
    const best = bestPool(host, usage, disk)
    if (best >= 0) return oneDiskFit(best, host.diskPools[best]!.name, disk.sizeMb)
  }
  const disks = spec.disks.length === 0 ? [] : assignDisks(host, usage, spec.disks)
  if (!Array.isArray(disks)) return { fits: false, misfit: disks }
  const cells = spec.numaCells === undefined ? [] : assignCells(host, usage, spec)
  if (!Array.isArray(cells)) return { fits: false, misfit: cells }
  if (disks.length === 0 && cells.length === 0) return fitsAsIs
  return { fits: true, assignment: { disks, cells } }
}

/** The pool one disk goes to under best fit (the fullest matching pool it fits), or -1. */
function bestPool(host: Host, usage: HostUsage, disk: DiskRequest): number {
  const pools = host.diskPools
  let best = -1
  let bestFreeMb = 0
  for (let p = 0; p < pools.length; p++) {
    const freeMb = pools[p]!.sizeMb - usage.diskUsedMb[p]!
    if (freeMb < disk.sizeMb || !poolMatches(disk, pools[p]!.name)) continue
    if (best < 0 || freeMb < bestFreeMb) {
      best = p
      bestFreeMb = freeMb
    }
  }
  return best
}

/** A one-disk fit of its own (not shared). */
const freshOneDiskFit = (poolIndex: number, pool: string, sizeMb: number): Fit =>
  ({ fits: true, assignment: { disks: [{ poolIndex, pool, sizeMb }], cells: [] } })

/** Most distinct one-disk fits `oneDiskFit` keeps; past it, each fit is a fresh object. */
export const sharedFitsMax = 4096
/** One-disk fits by pool name, then by `sizeMb * sharedPoolsMax + poolIndex`. */
const sharedFits = new Map<string, Map<number, Fit>>()
let sharedFitCount = 0
/** Pool indexes a shared fit may have (pools per host beyond it get fresh fits). */
const sharedPoolsMax = 64

/**
 * The fit of one disk on pool `poolIndex` (named `pool`) and nothing else. Fits are values (no
 * one changes them), so equal ones are shared (frozen): placing such an instance allocates
 * nothing here, and a server's record points at a fit that many others share, which a release
 * reads from cache instead of from the record's own, long-untouched assignment.
 */
function oneDiskFit(poolIndex: number, pool: string, sizeMb: number): Fit {
  if (poolIndex >= sharedPoolsMax || !Number.isSafeInteger(sizeMb * sharedPoolsMax)) {
    return freshOneDiskFit(poolIndex, pool, sizeMb)
  }
  const key = sizeMb * sharedPoolsMax + poolIndex
  let bySize = sharedFits.get(pool)
  const known = bySize?.get(key)
  if (known !== undefined) return known
  if (sharedFitCount >= sharedFitsMax) return freshOneDiskFit(poolIndex, pool, sizeMb)
  const disk: PlacedDisk = Object.freeze({ poolIndex, pool, sizeMb })
  const assignment: HostAssignment = Object.freeze({ disks: Object.freeze([disk]),
    cells: Object.freeze([]) })
  const fit: Fit = Object.freeze({ fits: true, assignment })
  if (bySize === undefined) {
    bySize = new Map()
    sharedFits.set(pool, bySize)
  }
  bySize.set(key, fit)
  sharedFitCount++
  return fit
}

function misfit(
  resource: FitResource,
  detail: string,
  requested: number,
  free: number,
  capacity: number,
): Fit {
  return { fits: false, misfit: { resource, detail, requested, free, capacity } }
}

const firstOnly: ReadonlyArray<number> = [0]

function assignDisks(
  host: Host,
  usage: HostUsage,
  disks: ReadonlyArray<DiskRequest>,
): PlacedDisk[] | Misfit {
  const pools = host.diskPools
  const free = new Array<number>(pools.length)
  for (let p = 0; p < pools.length; p++) free[p] = pools[p]!.sizeMb - usage.diskUsedMb[p]!
  const order = disks.length === 1 ? firstOnly
    : disks.map((_, k) => k).sort((a, b) => disks[b]!.sizeMb - disks[a]!.sizeMb || a - b)
  const placed: PlacedDisk[] = new Array<PlacedDisk>(disks.length)
  for (const k of order) {
    const disk = disks[k]!
    let best = -1
    for (let p = 0; p < free.length; p++) {
      if (!poolMatches(disk, host.diskPools[p]!.name) || free[p]! < disk.sizeMb) continue
      if (best < 0 || free[p]! < free[best]!) best = p
    }
    if (best < 0) {
      const matching = host.diskPools.map((p, q) => ({ p, q }))
        .filter(({ p }) => poolMatches(disk, p.name))
      const largest = matching.reduce((m, { q }) => Math.max(m, free[q]!), 0)
      const capacity = matching.reduce((m, { p }) => Math.max(m, p.sizeMb), 0)
      const what = disk.pool ?? disk.kind ?? "any"
      return { resource: "disk", detail: `disk pool ${what}`, requested: disk.sizeMb,
        free: largest, capacity }
    }
    free[best] = free[best]! - disk.sizeMb
    placed[k] = { poolIndex: best, pool: host.diskPools[best]!.name, sizeMb: disk.sizeMb }
  }
  return placed
}

function assignCells(host: Host, usage: HostUsage, spec: InstanceSpec): PlacedCell[] | Misfit {
  const count = spec.numaCells!
  const vcpus = spec.vcpus / count
  const ramMb = spec.ramMb / count
  const fitting: number[] = []
  host.numaCells.forEach((_, c) => {
    const freeVcpus = cellVcpuCapacity(host, c) - usage.cellVcpusUsed[c]!
    const freeRam = cellRamCapacityMb(host, c) - usage.cellRamMbUsed[c]!
    if (freeVcpus >= vcpus && freeRam >= ramMb) fitting.push(c)
  })
  if (fitting.length < count) {
    return { resource: "numa", detail: `NUMA cells with ${vcpus} vCPUs and ${ramMb} MB free`,
      requested: count, free: fitting.length, capacity: host.numaCells.length }
  }
  const freeRam = (c: number) => cellRamCapacityMb(host, c) - usage.cellRamMbUsed[c]!
  fitting.sort((a, b) => freeRam(a) - freeRam(b) || a - b)
  return fitting.slice(0, count).sort((a, b) => a - b)
    .map((cellIndex) => ({ cellIndex, vcpus, ramMb }))
}

/**
 * The usage after adding (`sign` 1) or removing (`sign` -1) an instance's holdings: a new object
 * of one shape (arrays copied only when the assignment changes them).
 */
export function applyUsage(
  usage: HostUsage,
  spec: Pick<InstanceSpec, "vcpus" | "ramMb">,
  assignment: HostAssignment,
  sign: 1 | -1,
): HostUsage {
  const disks = assignment.disks
  let diskUsedMb = usage.diskUsedMb
  if (disks.length > 0) {
    const copy = diskUsedMb.slice()
    for (let k = 0; k < disks.length; k++) {
      const d = disks[k]!
      copy[d.poolIndex] = copy[d.poolIndex]! + sign * d.sizeMb
    }
    diskUsedMb = copy
  }
  const cells = assignment.cells
  let cellVcpusUsed = usage.cellVcpusUsed
  let cellRamMbUsed = usage.cellRamMbUsed
  if (cells.length > 0) {
    const vcpus = cellVcpusUsed.slice()
    const ramMb = cellRamMbUsed.slice()
    for (let k = 0; k < cells.length; k++) {
      const c = cells[k]!
      vcpus[c.cellIndex] = vcpus[c.cellIndex]! + sign * c.vcpus
      ramMb[c.cellIndex] = ramMb[c.cellIndex]! + sign * c.ramMb
    }
    cellVcpusUsed = vcpus
    cellRamMbUsed = ramMb
  }
  return {
    vcpusUsed: usage.vcpusUsed + sign * spec.vcpus,
    ramMbUsed: usage.ramMbUsed + sign * spec.ramMb,
    diskUsedMb,
    cellVcpusUsed,
    cellRamMbUsed,
    instanceCount: usage.instanceCount + sign,
  }
}

/** The usage of a host with nothing on it. */
export function emptyUsage(host: Host): HostUsage {
  return {
    vcpusUsed: 0,
    ramMbUsed: 0,
    diskUsedMb: host.diskPools.map(() => 0),
    cellVcpusUsed: host.numaCells.map(() => 0),
    cellRamMbUsed: host.numaCells.map(() => 0),
    instanceCount: 0,
  }
}
