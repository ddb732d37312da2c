/**
 * The device side of a fit: PCI requests through `corral/pci`'s `claimAllocated` (`claim` then
 * `allocate`: a created server is running) and pmem volumes through `corral/pmem`'s
 * `addPmemVolumes`. The cluster never re-implements their decisions; a dry run is the same call
 * with the result dropped.
 */
import { Result } from "effect"
import type { Host } from "../inventory/inventory.ts"
import { claimAllocated, type PciClaimError, type PciClaimInput, type PciState } from "../pci/index.ts"
import { type AddPmemError, addPmemVolumes, type PmemState } from "../pmem/index.ts"
import type { HostAssignment, InstanceSpec } from "./types.ts"
import type { Misfit } from "./fit.ts"

/** The device states after a server's devices were taken, and what it got. */
export interface DeviceFit {
  readonly pci: PciState
  readonly pmem: PmemState
  readonly pciDevices: ReadonlyArray<number>
  readonly pmemVolumes: ReadonlyArray<string>
}

/** A device misfit, with the device module's own error (for `createServer` to return). */
export interface DeviceMisfit extends Misfit {
  readonly error: PciClaimError | AddPmemError
}

/** Whether a spec asks for any device. */
export const wantsDevices = (spec: InstanceSpec): boolean =>
  (spec.pci?.length ?? 0) > 0 || (spec.pmem?.length ?? 0) > 0

/**
 * Takes the spec's PCI devices and pmem volumes on `host` for `uuid`, NUMA shares as assigned
 * (the PCI request's policy sees the instance's cells; pmem affinity volumes pin to its cell
 * when it is bound to exactly one). Returns the new device states, or why they do not fit.
 */
export function fitDevices(
  pci: PciState,
  pmem: PmemState,
  host: Host,
  uuid: string,
  spec: InstanceSpec,
  assignment: HostAssignment,
): DeviceFit | DeviceMisfit {
  const cellIds = assignment.cells.map((c) => host.numaCells[c.cellIndex]!.id)
  let nextPci = pci
  let pciDevices: ReadonlyArray<number> = []
  if ((spec.pci?.length ?? 0) > 0) {
    // Claimed and allocated in one batch (a created server is running): `allocate(claim(…))`
    // with one write of the host and of the holdings.
    const taken = claimAllocated(pci, claimOf(host.name, uuid, spec, cellIds))
    if (Result.isFailure(taken)) return deviceMisfit("pci", taken.failure)
    nextPci = taken.success.state
    pciDevices = taken.success.devices
  }
  let nextPmem = pmem
  let pmemVolumes: ReadonlyArray<string> = []
  if ((spec.pmem?.length ?? 0) > 0) {
    const numaNode = cellIds.length === 1 ? cellIds[0] : undefined
    const added = addPmemVolumes(pmem, { serverUuid: uuid, host: host.name, numaNode }, spec.pmem!)
    if (Result.isFailure(added)) return deviceMisfit("pmem", added.failure)
    nextPmem = added.success.state
    pmemVolumes = added.success.volumes.map((v) => v.uuid)
  }
  return { pci: nextPci, pmem: nextPmem, pciDevices, pmemVolumes }
}

/** The PCI claim of a spec: optional fields only when set (no spreads: see `serverRecordOf`). */
function claimOf(host: string, uuid: string, spec: InstanceSpec, cellIds: ReadonlyArray<number>)
  : PciClaimInput {
  const policy = spec.pciNumaPolicy
  if (policy === undefined) {
    return cellIds.length === 0 ? { host, instanceUuid: uuid, requests: spec.pci! }
      : { host, instanceUuid: uuid, requests: spec.pci!, instanceNumaCells: cellIds }
  }
  return cellIds.length === 0
    ? { host, instanceUuid: uuid, requests: spec.pci!, numaPolicy: policy }
    : { host, instanceUuid: uuid, requests: spec.pci!, numaPolicy: policy,
      instanceNumaCells: cellIds }
}

function deviceMisfit(resource: "pci" | "pmem", error: PciClaimError | AddPmemError): DeviceMisfit {
  const numbers = error._tag === "InsufficientCapacity" ? error
    : { requested: 0, free: 0, capacity: 0 }
  return { resource, detail: error.message, requested: numbers.requested, free: numbers.free,
    capacity: numbers.capacity, error }
}
