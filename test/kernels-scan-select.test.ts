// Which placement scan the library uses: WebAssembly by default where it compiles, the reference
// when CORRAL_KERNELS=ts (through adapters/kernels.ts loadKernels) or when asked in code; and the
// placement result does not depend on the choice.
import { Result } from "effect"
import { afterEach, describe, expect, it } from "vitest"
import { loadKernels } from "../adapters/kernels.ts"
import {
  defaultScanKernel, newScanKernel, scanWasmModule, setPlacementScan, usePlacementScan,
} from "../core/kernels/index.ts"
import { placeOne } from "../core/placement/index.ts"
import { host } from "./builders.ts"
import { clusterOf, server } from "./placement-builders.ts"

const hasWasm = scanWasmModule().ok

describe("placement scan backend selection", () => {
  afterEach(() => { usePlacementScan("auto") })

  it("has the WebAssembly scan built (npm test's pretest builds it; the parity suites need it)",
    () => {
      const m = scanWasmModule()
      expect(m.ok ? "built" : m.reason).toBe("built")
    })

  it("defaults to WebAssembly where it compiles", () => {
    usePlacementScan("auto")
    expect(defaultScanKernel().backend).toBe(hasWasm ? "wasm" : "ts")
  })

  it("CORRAL_KERNELS=ts selects the reference scan too", () => {
    expect(Result.isSuccess(loadKernels({ CORRAL_KERNELS: "ts" }))).toBe(true)
    expect(defaultScanKernel().backend).toBe("ts")
    loadKernels({})
    expect(defaultScanKernel().backend).toBe(hasWasm ? "wasm" : "ts")
  })

  it("places the same on either backend", () => {
    const state = clusterOf(host("a").cpus(8), host("b").cpus(16).sriov(4, 2), host("c").cpus(4))
    const chosen = (["ts", "wasm", "auto"] as const).map((p) => {
      setPlacementScan(newScanKernel(p))
      const r = placeOne(state, server("x").cpus(2).instance())
      if (Result.isFailure(r)) throw r.failure
      return r.success.host
    })
    expect(chosen).toEqual(["c", "c", "c"])
  })
})
