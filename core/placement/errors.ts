/**
 * The placement rejection: Nova's "No valid host was found", as data. It says which filter
 * removed how many hosts, which instance (of a gang) could not be placed, and whether more
 * capacity would help (`unschedulable`) or nothing ever will (`unresolvable`).
 */
import { Schema } from "effect"

/** Filter names, in the order they run; shared constants so reports can count rejections. */
export const filterNames = {
  hostStatus: "HostStatusFilter",
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

/** How many hosts one filter was given and how many it kept. */
export const FilterCount = Schema.Struct({
  filter: Schema.String,
  hostsIn: Schema.Number,
  hostsOut: Schema.Number,
})
export type FilterCount = typeof FilterCount.Type

/**
 * No host (or combination of hosts) satisfies the request. `code`: `unschedulable` when it would
 * fit an empty cluster with every host up (more or freed capacity would help), `unresolvable`
 * when it would not even then (a rule the topology cannot meet, an instance larger than any host).
 * `filters` are the counts for `instance`, the instance at which the search failed deepest.
 * Maps to HTTP 409 (see `noValidHostFault`).
 */
export class NoValidHost extends Schema.TaggedError<NoValidHost>()("NoValidHost", {
  code: Schema.Literals(["unschedulable", "unresolvable"]),
  reason: Schema.String,
  instance: Schema.optionalKey(Schema.String),
  filters: Schema.Array(FilterCount),
  detail: Schema.optionalKey(Schema.String),
}) {
  override get message(): string {
    const who = this.instance === undefined ? "" : ` for ${this.instance}`
    const counts = this.filters.filter((f) => f.hostsOut < f.hostsIn)
      .map((f) => `${f.filter} returned ${f.hostsOut} of ${f.hostsIn} hosts`).join("; ")
    const detail = this.detail === undefined ? "" : ` ${this.detail}.`
    return `No valid host was found${who} (${this.code}, ${this.reason}).${detail}` +
      (counts === "" ? "" : ` ${counts}.`)
  }
}

/** HTTP status of a NoValidHost: 409 Conflict, as for InsufficientCapacity. */
export const noValidHostStatus = 409

/** The OpenStack-style fault body of a NoValidHost. */
export function noValidHostFault(
  error: NoValidHost,
): { conflictingRequest: { code: number; message: string } } {
  return { conflictingRequest: { code: noValidHostStatus, message: error.message } }
}
