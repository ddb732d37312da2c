/**
 * Corral's public API. Each capability also has its own entry (`corral/pci`, `corral/pmem`, …).
 */
export * from "./errors.ts"
export * from "./decode.ts"
export * from "./model/index.ts"
export * from "./inventory/index.ts"
