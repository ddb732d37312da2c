/**
 * The placement rejection: Nova's "No valid host was found", as data. It says which filter
 * removed how many hosts, which instance (of a gang) could not be placed, and whether more
 * capacity would help (`unschedulable`) or nothing ever will (`unresolvable`).
 */

/** Filter names, in the order they run; shared constants so reports can count rejections. */
export const filterNames = {
  hostStatus: "HostStatusFilter",
  availabilityZone: "AvailabilityZoneFilter",
  vcpu: "VcpuFilter",
  ram: "RamFilter",
  diskPool: "DiskPoolFilter",
  numa: "NumaFitFilter",
  pci: "PciFilter",
  pmem: "PmemFilter",
  affinity: "AffinityFilter",
  antiAffinity: "AntiAffinityFilter",
} as const
/** One of `filterNames`' values. */
export type FilterName = (typeof filterNames)[keyof typeof filterNames]

/** Why a request was rejected: a filter that left no host, or one of these. */
export const rejectionReasons = {
  ...filterNames,
  /** Hard rules among the request's own members contradict each other. */
  contradictoryRules: "ContradictoryRules",
  /** The gang search ran out of its node budget before finding a placement. */
  nodeBudgetExhausted: "NodeBudgetExhausted",
  /** Every instance fits somewhere alone, but no combination satisfies all of them together. */
  noCombination: "NoCombination",
  /** The cluster has no hosts. */
  noHosts: "NoHosts",
} as const
/** One of `rejectionReasons`' values. */
export type RejectionReason = (typeof rejectionReasons)[keyof typeof rejectionReasons]

/** The rejection error itself lives with the other expected errors, in `core/errors.ts`. */
export { FilterCount, NoValidHost } from "../errors.ts"
import type { NoValidHost } from "../errors.ts"

/** HTTP status of a NoValidHost: 409 Conflict, as for InsufficientCapacity. */
export const noValidHostStatus = 409

/** The OpenStack-style fault body of a NoValidHost. */
export function noValidHostFault(
  error: NoValidHost,
): { conflictingRequest: { code: number; message: string } } {
  return { conflictingRequest: { code: noValidHostStatus, message: error.message } }
}
