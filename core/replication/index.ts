/**
 * Replication (seed `vm-replica-api.txt`): the replica state machine, its transition table, the
 * sync cycle as data, the API's views. The block diff itself is core/kernels (BlockKernels).
 */
export * from "./model.ts"
export * from "./table.ts"
export * from "./machine.ts"
export * from "./sync.ts"
export * from "./views.ts"
export * from "./schedule.ts"
