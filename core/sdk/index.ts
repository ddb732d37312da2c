/** The z/VM cloud connector SDK: `makeSdk(config)` over a `Driver`, and its types. */
export * from "./api.ts"
export * from "./connector.ts"
export * from "./state.ts"
export { powerTimeoutSMax, StopOptions, stopDefaults } from "./sdk.ts"
export * from "../driver/port.ts"
export * from "../lifecycle/power.ts"
