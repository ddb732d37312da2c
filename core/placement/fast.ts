/**
 * The single-instance fast path: one fused scan over the `ScanIndex` columns (a `ScanKernel`,
 * WebAssembly by default) instead of the filter plugins, weighers and gang search. It takes the
 * requests whose every filter and weigher the scan expresses exactly: no NUMA binding, at most one
 * disk (by kind or any pool), no pmem, at most `scanPciMax` PCI requests, hard rules only (or
 * soft rules weighted 0). Everything else, and every rejection, goes to the general path, which
 * chooses the same host (a property test holds the two equal).
 */
import { fitOnHost } from "../cluster/fit.ts"
import { type DeviceFit, fitDevices, wantsDevices } from "../cluster/devices.ts"
import { domainOf } from "../cluster/rules.ts"
import { buildHostIndex, pciColumnMax } from "../cluster/host-index.ts"
import { pciColumnOf, type PciColumn, poolKindColumn } from "../cluster/scan.ts"
import { findGroup, instanceIssues, instanceLimits, memberHosts, scanOf, usageAt }
  from "../cluster/state.ts"
import type { ClusterState, GroupRecord, HostAssignment, InstanceSpec } from "../cluster/types.ts"
import { diskPoolKind } from "../model/inventory.ts"
import {
  anyDiskKind, newScanResult, type ScanInput, type ScanKernel, type ScanRequest, scanPciMax,
  scanSlotCount,
} from "../kernels/scan-types.ts"
import { defaultScanKernel, newScanKernel } from "../kernels/scan-select.ts"
import { emptyingFilter, filterCounts, filterOrder } from "./cycle.ts"
import { type FilterCount, filterNames, type FilterName } from "./errors.ts"
import { indexedBest } from "./host-search.ts"
import { defaultWeights, type Policy, type Weights } from "./plugins.ts"
import type { NamedInstance } from "./view.ts"
import type { PciRequest, PciSpec } from "../pci/index.ts"

if (filterOrder.length !== scanSlotCount || filterOrder[1] !== filterNames.availabilityZone ||
  filterOrder[9] !== filterNames.antiAffinity) {
  throw new Error("the scan's rejection slots no longer follow filterOrder")
}

/** A fast-path choice: the host, the instance's assignment there, and its devices if any. */
export interface FastPlacement {
  readonly hostIndex: number
  readonly assignment: HostAssignment
  readonly devices: DeviceFit | undefined
}

const result = newScanResult()

/**
 * Places one instance through the fused scan, or returns undefined when the general path must
 * decide (a request the scan cannot express, invalid input, no host, or a device claim that the
 * best host refuses). Reads the state only. With `hostIndex` (the default) a successful
 * placement is found through the host index (`host-search.ts`), which gives the full scan's
 * answer without visiting every host; the full scan runs when the index cannot decide.
 */
export function placeFast(
  state: ClusterState,
  instance: NamedInstance,
  policy: Policy,
  weights: Weights,
  kernel: ScanKernel = defaultScanKernel(),
  hostIndex = true,
): FastPlacement | undefined {
  return placeFastAs(state, specOf(instance), instance.name, policy, weights, kernel, hostIndex)
}

/**
 * `placeFast` for an instance named `name` (no named copy of the instance is made), which the
 * caller has copied into one shape (`specOf`, or a `ServerCreate` of fixed shape).
 */
export function placeFastAs(
  state: ClusterState,
  instance: InstanceSpec,
  name: string,
  policy: Policy,
  weights: Weights,
  kernel: ScanKernel,
  hostIndex: boolean,
): FastPlacement | undefined {
  if (name === "") return undefined
  if (instanceIssues(instance, "instance").length > 0) return undefined
  const request = scanRequestOf(state, instance, policy, weights)
  if (request === undefined) return undefined
  const input = scanInputOf(state)
  let best = -1
  if (hostIndex) {
    const scan = input.index
    scan.hostIndex ??= buildHostIndex(scan, input.zoneOf, input.zoneCount, state.inventory)
    best = indexedBest(input, request, scan.hostIndex)
  }
  if (best < 0) {
    kernel.scan(input, request, result)
    best = result.best
  }
  if (best < 0) return undefined
  const host = state.inventory.hosts[best]!
  const fit = fitOnHost(host, usageAt(state, best), instance)
  if (!fit.fits) throw new Error(`scan chose ${host.name}, where ${name} does not fit`)
  if (!wantsDevices(instance)) {
    return { hostIndex: best, assignment: fit.assignment, devices: undefined }
  }
  const devices = fitDevices(state.pci, state.pmem, host, name, instance, fit.assignment)
  if ("error" in devices) return undefined
  return { hostIndex: best, assignment: fit.assignment, devices }
}

/**
 * The instance's fields copied into one object shape. The fast path reads a request some thirty
 * times; a caller's object may have a hidden class of its own (V8 gives one to every object made
 * by a spread followed by more properties, and every read of such an object misses the inline
 * caches and costs a runtime lookup). `Object.assign` copies it in one bulk pass, and the fields
 * are read once from that copy, so the other reads are monomorphic.
 */
function specOf(instance: InstanceSpec): InstanceSpec {
  const i: InstanceSpec = Object.assign({}, instance)
  return { kind: i.kind, vcpus: i.vcpus, ramMb: i.ramMb, disks: i.disks, groups: i.groups,
    numaCells: i.numaCells, pci: i.pci, pciNumaPolicy: i.pciNumaPolicy, pmem: i.pmem,
    zone: i.zone, pmemDevice: i.pmemDevice }
}

/** Why the scan finds no host for an instance: the general path's per-filter counts. */
export interface ScanRejection {
  readonly filters: FilterCount[]
  /** The filter that removed the last hosts. */
  readonly reason: FilterName
  /** Whether some host passes with the inventory empty, every host up and no group members. */
  readonly resolvable: boolean
}

/**
 * The fused scan's account of a rejected instance, or undefined when a host passes or the scan
 * cannot express the request: the counts of every filter in `filterOrder` over every host, as
 * the general path's cycle gives them, the filter that removed the last hosts, and whether the
 * instance would fit the inventory empty with every host up (the general path's second search,
 * here a scan of the empty cluster without the groups, whose rules bind no one there, once per
 * request shape). A scan or two instead of two searches of the filter plugins (a property holds
 * the two rejections equal).
 */
export function scanRejection(
  state: ClusterState,
  instance: InstanceSpec,
  policy: Policy,
  weights: Weights,
  empty: ClusterState,
  kernel: ScanKernel = defaultScanKernel(),
): ScanRejection | undefined {
  if (instanceIssues(instance, "instance").length > 0 || state.inventory.hosts.length === 0) {
    return undefined
  }
  const request = scanRequestOf(state, instance, policy, weights)
  if (request === undefined) return undefined
  const input = scanInputOf(state)
  kernel.scan(input, request, result)
  if (result.best >= 0 || result.count > 0) return undefined
  // The general path's own reading of a cycle's counts (before the empty cluster's scan
  // overwrites them).
  const cycle = { total: input.index.up.length, removed: result.removed, count: 0 }
  const reason = emptyingFilter(cycle)
  if (reason === undefined) return undefined
  const filters = filterCounts(cycle)
  const loose = scanRequestOf(empty, Object.assign({}, instance, { groups: noGroups }), policy,
    weights)
  if (loose === undefined) return undefined
  return { filters, reason, resolvable: fitsEmpty(empty, loose, kernel) }
}

const noGroups: ReadonlyArray<string> = []

/** Per empty cluster (which never changes), whether requests of a shape fit it. */
const emptyFits = new WeakMap<ClusterState, Map<string, boolean>>()

/** Whether some host of the empty cluster passes `request` (remembered per request shape). */
function fitsEmpty(empty: ClusterState, request: ScanRequest, kernel: ScanKernel): boolean {
  let known = emptyFits.get(empty)
  if (known === undefined) {
    known = new Map()
    emptyFits.set(empty, known)
  }
  let key = `${request.vcpus} ${request.ramMb} ${request.zone} ${request.diskColumn} ` +
    `${request.diskMb}`
  for (let k = 0; k < request.pci.length; k++) {
    key += ` ${request.pciCounts[k]} ${request.pci[k]!.key}`
  }
  let fits = known.get(key)
  if (fits === undefined) {
    emptyKernelLike(kernel).scan(scanInputOf(empty), request, result)
    fits = result.best >= 0
    known.set(key, fits)
  }
  return fits
}

/**
 * A scan backend of `kernel`'s kind kept for empty clusters: a WebAssembly kernel holds one
 * scan's columns in its memory and reloads them all when handed another scan, so the state's
 * kernel and the empty cluster's stay apart (each then synced once, then per change).
 */
function emptyKernelLike(kernel: ScanKernel): ScanKernel {
  if (kernel.backend === "ts") return kernel
  emptyKernel ??= newScanKernel("wasm")
  return emptyKernel.backend === kernel.backend ? emptyKernel : kernel
}

let emptyKernel: ScanKernel | undefined

/** What `preparePlacement` builds ahead. */
export interface PlacementPreparation {
  /** The host index (default true; false: only the scan columns). */
  readonly hostIndex?: boolean
  /**
   * PCI specs requests will ask for (a controller's PCI aliases): their free-device columns, and
   * their per-block maxima in the host index. The first request naming a spec builds these
   * otherwise (about 15 ms at 5,000 hosts).
   */
  readonly pci?: ReadonlyArray<ReadonlyArray<PciSpec>>
}

/**
 * Builds what the fast path reads of `state` (its scan columns, the host index, the columns of
 * the given PCI specs) ahead of the first placement, which would otherwise pay for it: a
 * controller calls this once when it loads its state. The state's value is unchanged; later
 * commits keep all of it current (a state that no longer owns its columns rebuilds them on its
 * next placement, as before).
 */
export function preparePlacement(state: ClusterState, what: PlacementPreparation = {}): void {
  const input = scanInputOf(state)
  const scan = input.index
  if (what.hostIndex !== false) {
    scan.hostIndex ??= buildHostIndex(scan, input.zoneOf, input.zoneCount, state.inventory)
  }
  for (const spec of what.pci ?? []) {
    const column = pciColumnOf(scan, state.pci, spec)
    if (scan.hostIndex !== undefined) pciColumnMax(scan.hostIndex, column)
  }
}

let lastInput: ScanInput | undefined
let lastTopology: ClusterState["topology"] | undefined

/**
 * The scan's view of a state: its columns and its topology (the last one is reused while the
 * columns and the topology are the same objects, as they are from one commit to the next).
 */
export function scanInputOf(state: ClusterState): ScanInput {
  const t = state.topology
  const index = scanOf(state)
  if (lastInput !== undefined && lastInput.index === index && lastTopology === t) return lastInput
  lastTopology = t
  lastInput = { index, rackOf: t.rackOf, zoneOf: t.zoneOf, rackCount: t.rackNames.length,
    zoneCount: t.zoneNames.length }
  return lastInput
}

const noDomains: ReadonlyArray<number> = []
const noPci: ReadonlyArray<PciColumn> = []
const noPciRequests: ReadonlyArray<PciRequest> = []
const noRules: Rules = { affinityHost: -1, affinityRack: -1, affinityZone: -1,
  antiHosts: noDomains, antiRacks: noDomains, antiZones: noDomains }

/**
 * The scan request for one instance, or undefined when the scan cannot express it (see the
 * module comment) or a group it names does not exist.
 */
export function scanRequestOf(
  state: ClusterState,
  instance: InstanceSpec,
  policy: Policy,
  weights: Weights,
): ScanRequest | undefined {
  if (instance.numaCells !== undefined || (instance.pmem?.length ?? 0) > 0 ||
    instance.pmemDevice !== undefined || instance.disks.length > 1) return undefined
  const disk = instance.disks[0]
  if (disk !== undefined && disk.pool !== undefined) return undefined
  const pciRequests = instance.pci ?? noPciRequests
  if (pciRequests.length > scanPciMax) return undefined
  let zone = -1
  if (instance.zone !== undefined) {
    zone = state.topology.zoneNames.indexOf(instance.zone)
    if (zone < 0) return undefined
  }
  const rules = rulesOf(state, instance.groups, weights)
  if (rules === undefined) return undefined
  const scan = scanOf(state)
  if (scan.anyZeroCapacity && (instance.vcpus === 0 || instance.ramMb === 0)) return undefined
  const pci = pciRequests.length === 0 ? noPci
    : pciRequests.map((r) => pciColumnOf(scan, state.pci, r.spec))
  const special = weights.specialHardware ?? defaultWeights.specialHardware ?? 0
  return {
    vcpus: instance.vcpus,
    ramMb: instance.ramMb,
    zone,
    diskMb: disk?.sizeMb ?? 0,
    diskColumn: disk === undefined ? -1
      : disk.kind === undefined ? anyDiskKind : poolKindColumn(disk.kind),
    pci,
    pciCounts: pciRequests.length === 0 ? noDomains : pciRequests.map((r) => r.count),
    affinityHost: rules.affinityHost,
    affinityRack: rules.affinityRack,
    affinityZone: rules.affinityZone,
    antiHosts: rules.antiHosts,
    antiRacks: rules.antiRacks,
    antiZones: rules.antiZones,
    sign: (policy === "pack" ? 1 : -1) * Math.sign(weights.policy),
    policyWeight: Math.abs(weights.policy),
    specialWeight: wantsDevices(instance) || !scan.anySpecial ? 0 : special,
  }
}

type Rules = Pick<ScanRequest, "affinityHost" | "affinityRack" | "affinityZone" | "antiHosts" |
  "antiRacks" | "antiZones">

/** The hard rules of the instance's groups as required and forbidden domains. */
function rulesOf(
  state: ClusterState,
  ids: ReadonlyArray<string>,
  weights: Weights,
): Rules | undefined {
  if (ids.length === 0) return noRules
  const required = [-1, -1, -1]
  const forbidden: [number[], number[], number[]] = [[], [], []]
  for (const id of ids) {
    const group: GroupRecord | undefined = findGroup(state, id)
    if (group === undefined || group.members.length >= instanceLimits.groupMembersMax) {
      return undefined
    }
    if (group.rule === "soft-affinity" && weights.softAffinity !== 0) return undefined
    if (group.rule === "soft-anti-affinity" && weights.softAntiAffinity !== 0) return undefined
    if (group.rule !== "affinity" && group.rule !== "anti-affinity") continue
    if (group.members.length === 0) continue
    const scope = group.scope === "host" ? 0 : group.scope === "rack" ? 1 : 2
    const hosts = memberHosts(state, group)
    if (group.rule === "affinity") {
      const domain = domainOf(state.topology, group.scope, hosts[0]!)
      const was = required[scope]!
      required[scope] = was === -1 || was === domain ? domain : -2
      continue
    }
    const out = forbidden[scope]!
    if (group.maxPerDomain === 1 && hosts.length <= 32) {
      // Every member's domain is full: no counting (and no Map) for a small group.
      for (let k = 0; k < hosts.length; k++) {
        const d = domainOf(state.topology, group.scope, hosts[k]!)
        if (!out.includes(d)) out.push(d)
      }
      continue
    }
    const counts = new Map<number, number>()
    for (const h of hosts) {
      const d = domainOf(state.topology, group.scope, h)
      const n = (counts.get(d) ?? 0) + 1
      counts.set(d, n)
      if (n === group.maxPerDomain) out.push(d)
    }
  }
  return { affinityHost: required[0]!, affinityRack: required[1]!, affinityZone: required[2]!,
    antiHosts: forbidden[0], antiRacks: forbidden[1], antiZones: forbidden[2] }
}

/** Whether a disk request's kind column matches a pool (for tests of the disk column). */
export const diskColumnOf = (poolName: string): number => poolKindColumn(diskPoolKind(poolName))
