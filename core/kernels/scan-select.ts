/**
 * Which placement scan backend the library uses: WebAssembly when it compiled here, else the
 * TypeScript reference. `usePlacementScan` changes it (adapters apply CORRAL_KERNELS with it).
 */
import { type BadRequest, err, invalid, ok, type Outcome } from "../errors.ts"
import { referenceScan } from "./scan-reference.ts"
import type { ScanKernel } from "./scan-types.ts"
import { scanWasmModule, wasmScan } from "./scan-wasm.ts"

let chosen: ScanKernel | undefined

/** The backend the placement fast path uses unless given one. */
export function defaultScanKernel(): ScanKernel {
  chosen ??= newScanKernel("auto")
  return chosen
}

/** A new scan backend for a preference: `auto` WebAssembly where it works, `ts`, or `wasm`. */
export function newScanKernel(preference: "auto" | "ts" | "wasm"): ScanKernel {
  const module = scanWasmModule()
  if (preference !== "ts" && module.ok) return wasmScan(module.module)
  return referenceScan()
}

/**
 * Makes the library's placement scan use `preference`; a BadRequest when `wasm` is asked for
 * and cannot run here. Returns the backend now in use.
 */
export function usePlacementScan(
  preference: "auto" | "ts" | "wasm",
): Outcome<ScanKernel, BadRequest> {
  const module = scanWasmModule()
  if (preference === "wasm" && !module.ok) {
    return err(invalid("preference", `"ts" or "auto": the WebAssembly scan cannot run here ` +
      `(${module.reason})`))
  }
  chosen = newScanKernel(preference)
  return ok(chosen)
}

/** Makes the library's placement scan use `kernel` (one the caller made with `newScanKernel`). */
export function setPlacementScan(kernel: ScanKernel): void {
  chosen = kernel
}
