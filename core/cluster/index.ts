/**
 * `corral/cluster`: the cluster state every capability commits into.
 *
 * ```ts
 * let state = createCluster(inventory)                      // from decodeInventory
 * const g = createGroup(state, { id: "web", rule: "anti-affinity", scope: "rack" })
 * const r = createServer(state, { uuid: "vm-1", kind: "server", vcpus: 4, ramMb: 8192,
 *   disks: [{ sizeMb: 20480, kind: "zpool" }], groups: [] }, "h1")
 * if (Result.isSuccess(r)) state = r.success.state                // else: typed error, state as was
 * hypervisorViews(state)                                    // vcpus_used, memory_mb_used, …
 * ```
 *
 * - `ClusterState` is an immutable value: inventory, per-host usage (`usageAt(state, i)` for
 *   `inventory.hosts[i]`: vCPUs, RAM, disk per pool, NUMA cell shares; a persistent vector, so a
 *   commit copies O(log hosts)), servers and volumes by uuid (`servers`), server groups by id
 *   (`groups`). Keep the newest state; a dry run is the same call with the result discarded.
 * - `createServer(state, request, hostChoice)` reserves everything a server holds, checking the
 *   host's status, its groups' hard rules and the fit; `deleteServer(state, uuid)` releases it.
 *   Both return `Outcome`s; errors are BadRequest, NotFound, AlreadyExists, Conflict (host not up,
 *   a hard rule broken) or InsufficientCapacity (resource, requested, free, capacity, host).
 * - To choose the host, use `corral/placement` (`placeOne`, `placeGang`, `schedule`).
 */
export * from "./types.ts"
export { fitOnHost, fitResources, type Fit, type Misfit, type FitResource, poolMatches,
  cellVcpuCapacity, cellRamCapacityMb, emptyUsage } from "./fit.ts"
export { topologyOf, domainOf, domainCount, hardRuleBreach } from "./rules.ts"
export { poolKinds, poolKindColumn, type ScanIndex } from "./scan.ts"
export * from "./state.ts"
export * from "./views.ts"
