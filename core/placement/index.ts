/**
 * `corral/placement`: filter → score → select, for one instance or a gang.
 *
 * ```ts
 * const r = schedule(state, { policy: "spread",
 *   groups: [{ id: "db", rule: "anti-affinity", scope: "rack" }],
 *   servers: [{ uuid: "a", kind: "server", vcpus: 4, ramMb: 8192, disks: [], groups: ["db"] },
 *             { uuid: "b", kind: "server", vcpus: 4, ramMb: 8192, disks: [], groups: ["db"] }] })
 * if (r._tag === "Success") state = r.success.state
 * else if (r.failure._tag === "NoValidHost") r.failure.code // "unschedulable" | "unresolvable"
 * ```
 *
 * - `placeOne` / `placeGang` choose hosts without reserving; `schedule` chooses and commits.
 * - Filters, in order (`filterOrder`): HostStatus, Vcpu, Ram, DiskPool, NumaFit, Pci, Pmem,
 *   Affinity, AntiAffinity. Weighers: pack/spread utilisation, soft affinity, soft
 *   anti-affinity, each normalised to [0, 1] over the candidates and weighted (`Weights`).
 * - A rejection is a `NoValidHost` (HTTP 409) with per-filter counts and a shared reason constant.
 */
export * from "./errors.ts"
export { filterOrder, type CycleResult, runFilters, filterCounts, scoreCandidates } from "./cycle.ts"
export * from "./plugins.ts"
export { placeGang, placeOne, type Placement, type GangPlacement } from "./gang.ts"
export { type PlacementRequest, requestLimits, checkRequest, contradiction } from "./request.ts"
export * from "./schedule.ts"
export { type PlacementPreparation, preparePlacement } from "./fast.ts"
export { type NamedInstance } from "./view.ts"
