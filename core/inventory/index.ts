/** Cluster inventory: decoding, validation and derived capacities. */
export * from "./inventory.ts"
