/**
 * `corral/pmem`: persistent-memory volumes on servers (seed `pmem-volume-api.txt`).
 *
 * ```ts
 * let state = pmemStateOf(inventory)
 * const body = decodePmemAction(JSON.parse(text))            // BadRequest with paths
 * const r = addPmemVolumes(state, { serverUuid, host: "h1", numaNode: 0 }, volumes)
 * if (Result.isSuccess(r)) state = r.success.state            // else: the typed error
 * pinnedHost(state, serverUuid)                               // { host, numaNode } | undefined
 * state = releaseServer(state, serverUuid).state              // on server delete
 * ```
 */
export * from "./request.ts"
export * from "./state.ts"
export * from "./views.ts"
export { PmemInsufficientCapacity, type PmemShortfall } from "./insufficient.ts"
export { volumeUuid, volumeSequenceMax } from "./ids.ts"
export { type Extent, pmemDeviceSizeMbMax } from "./extents.ts"
export { checkPmemInvariants } from "./invariants.ts"
