/**
 * The placement scan kernel's interface: one pass over every host's free resources (the
 * `ScanIndex` columns) that decides feasibility, counts each filter's rejections and picks the
 * best host under pack or spread, with the special-hardware weigher. Two backends: the
 * TypeScript reference (`scan-reference.ts`) and WebAssembly (`scan-wasm.ts`); a parity property
 * holds them equal.
 */
import type { PciColumn, ScanIndex } from "../cluster/scan.ts"

/**
 * Rejection slots, in filter order (the placement's `filterOrder`): host status, zone, vCPU,
 * RAM, disk pool, NUMA (never counted by the scan), PCI, pmem (never counted), affinity,
 * anti-affinity.
 */
export const scanSlots = {
  hostStatus: 0, zone: 1, vcpu: 2, ram: 3, disk: 4, numa: 5, pci: 6, pmem: 7, affinity: 8,
  antiAffinity: 9,
} as const
/** How many rejection slots a scan fills. */
export const scanSlotCount = 10
/** PCI requests one scan checks (more go to the general path). */
export const scanPciMax = 4
/** `diskColumn` value that accepts a pool of any kind. */
export const anyDiskKind = 3

/** What the scan reads besides the request: the columns and the static topology. */
export interface ScanInput {
  readonly index: ScanIndex
  readonly rackOf: Int32Array
  readonly zoneOf: Int32Array
  readonly rackCount: number
  readonly zoneCount: number
}

/**
 * One instance's request, as numbers. Domain fields: -1 means "any", -2 "none matches".
 * `anti*` list forbidden domains (hard anti-affinity groups already at their maximum there).
 */
export interface ScanRequest {
  readonly vcpus: number
  readonly ramMb: number
  readonly zone: number
  /** Size of the one disk; `diskColumn` -1 (no disk), 0..2 (`poolKindColumn`), or `anyDiskKind`. */
  readonly diskMb: number
  readonly diskColumn: number
  readonly pci: ReadonlyArray<PciColumn>
  readonly pciCounts: ReadonlyArray<number>
  readonly affinityHost: number
  readonly affinityRack: number
  readonly affinityZone: number
  readonly antiHosts: ReadonlyArray<number>
  readonly antiRacks: ReadonlyArray<number>
  readonly antiZones: ReadonlyArray<number>
  /** +1 pack, -1 spread (times the sign of the policy multiplier; 0 when it is 0). */
  readonly sign: number
  /** |policy multiplier|: the resource term's range when the special-hardware term applies. */
  readonly policyWeight: number
  /** The special-hardware multiplier; 0 when the term does not apply to this request. */
  readonly specialWeight: number
}

/** What a scan returns (into a caller's object: nothing allocated per call). */
export interface ScanResult {
  /** Hosts removed per slot (`scanSlots`). */
  readonly removed: Int32Array
  /** The best host's index, or -1 when no host passed. */
  best: number
  /** Hosts that passed every filter. */
  count: number
}

/** A scan backend. */
export interface ScanKernel {
  readonly backend: "ts" | "wasm"
  /** Scans every host of `input` for `request`, writing into `out`. */
  scan(input: ScanInput, request: ScanRequest, out: ScanResult): void
}

/** A result object to reuse across scans. */
export function newScanResult(): ScanResult {
  return { removed: new Int32Array(scanSlotCount), best: -1, count: 0 }
}

/** Checks a request's shape against the input (lengths, ranges); throws on a caller bug. */
export function checkScanRequest(input: ScanInput, request: ScanRequest): void {
  const n = input.index.up.length
  if (input.rackOf.length !== n || input.zoneOf.length !== n) {
    throw new RangeError(`scan: topology of ${input.rackOf.length} hosts, columns of ${n}`)
  }
  if (request.pci.length > scanPciMax || request.pciCounts.length !== request.pci.length) {
    throw new RangeError(`scan: ${request.pci.length} PCI columns (at most ${scanPciMax}), ` +
      `${request.pciCounts.length} counts`)
  }
  for (const c of request.pci) {
    if (c.free.length !== n) throw new RangeError(`scan: PCI column of ${c.free.length} hosts`)
  }
  if (request.diskColumn < -1 || request.diskColumn > anyDiskKind) {
    throw new RangeError(`scan: diskColumn ${request.diskColumn}`)
  }
  if (!inRange(request.antiHosts, n) || !inRange(request.antiRacks, input.rackCount) ||
    !inRange(request.antiZones, input.zoneCount)) {
    throw new RangeError(`scan: anti-affinity host, rack or zone out of range: hosts ` +
      `[${request.antiHosts}] of ${n}, racks [${request.antiRacks}] of ${input.rackCount}, ` +
      `zones [${request.antiZones}] of ${input.zoneCount}`)
  }
}

function inRange(list: ReadonlyArray<number>, count: number): boolean {
  for (let k = 0; k < list.length; k++) {
    const d = list[k]!
    if (!Number.isInteger(d) || d < 0 || d >= count) return false
  }
  return true
}
