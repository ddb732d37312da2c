/** The shared model: inventory schemas and types. */
export * from "./inventory.ts"
