/**
 * Backend selection: the library prefers WebAssembly and falls back to the TypeScript reference
 * where WebAssembly (with SIMD) is unavailable. Pure: the preference comes in as a value (the
 * CORRAL_KERNELS environment variable is read by adapters/kernels.ts, not here).
 */
import { type BadRequest, err, invalid, ok, type Outcome } from "../errors.ts"
import { referenceKernels } from "./reference.ts"
import type { BlockKernels } from "./types.ts"
import { wasmKernels } from "./wasm.ts"
import { compileKernel, type KernelModule } from "./wasm-runtime.ts"

/** Which backend a caller asks for: `auto` (WebAssembly where it works), `ts` or `wasm`. */
export type KernelPreference = "auto" | "ts" | "wasm"

/** The preferences selectKernels accepts. */
export const KERNEL_PREFERENCES: ReadonlyArray<KernelPreference> = ["auto", "ts", "wasm"]

/** Whether the WebAssembly kernels compiled on this host, and how they were built. */
export interface WasmSupport {
  /** Both kernel modules (which use SIMD) compiled here. */
  readonly available: boolean
  /** Why not, when unavailable. */
  readonly reason?: string
  /** The AssemblyScript compiler that built the modules. */
  readonly compilerVersion: string
  /** The flags it was given. */
  readonly compilerFlags: ReadonlyArray<string>
}

/** A chosen BlockKernels and what was known when choosing it. */
export interface KernelSelection {
  readonly kernels: BlockKernels
  readonly preference: KernelPreference
  readonly wasm: WasmSupport
}

// The modules scripts/build-wasm.mjs generates (npm test/start/bench run it first). Imported
// dynamically so that a checkout where they were never built still works on the reference, with
// the reason reported, instead of failing to load.
const generated = await Promise.all([
  import("../../build/blockdiff.wasm.ts"),
  import("../../build/blockhash.wasm.ts"),
]).then(
  ([diff, hash]) => ({ ok: true as const, diff, hash }),
  (e: unknown) => ({
    ok: false as const,
    reason: `kernels not built (run npm run build:wasm): ${e instanceof Error ? e.message : e}`,
  }),
)

let compiled: { readonly diff: KernelModule; readonly hash: KernelModule } | undefined

function modules(): { readonly diff: KernelModule; readonly hash: KernelModule } {
  if (!generated.ok) return { diff: generated, hash: generated }
  compiled ??= {
    diff: compileKernel("blockdiff", generated.diff.wasmBase64),
    hash: compileKernel("blockhash", generated.hash.wasmBase64),
  }
  return compiled
}

/** Compiles the kernel modules once (memoised) and says whether WebAssembly is usable here. */
export function wasmSupport(): WasmSupport {
  const { diff, hash } = modules()
  const build = generated.ok
    ? { compilerVersion: generated.diff.compilerVersion,
      compilerFlags: generated.diff.compilerFlags }
    : { compilerVersion: "none", compilerFlags: [] }
  if (!diff.ok) return { available: false, reason: diff.reason, ...build }
  if (!hash.ok) return { available: false, reason: hash.reason, ...build }
  return { available: true, ...build }
}

/**
 * A new BlockKernels for `preference`: `ts` the reference; `wasm` the WebAssembly backend, or a
 * BadRequest on `preference` when this host cannot run it; `auto` WebAssembly when available,
 * else the reference. Each call makes a new object with its own buffers (WebAssembly memory):
 * make one per pipeline and reuse it.
 */
export function selectKernels(preference: KernelPreference): Outcome<KernelSelection, BadRequest> {
  const { diff, hash } = modules()
  return chooseKernels(preference, diff, hash, wasmSupport())
}

/** The choice selectKernels makes, given what compiled (exported to test the fallback). */
export function chooseKernels(
  preference: KernelPreference,
  diff: KernelModule,
  hash: KernelModule,
  wasm: WasmSupport,
): Outcome<KernelSelection, BadRequest> {
  if (preference !== "ts" && diff.ok && hash.ok) {
    return ok({ kernels: wasmKernels(diff.module, hash.module), preference, wasm })
  }
  if (preference === "wasm") {
    return err(invalid("preference", `"ts" or "auto": the WebAssembly kernels cannot run here ` +
      `(${wasm.reason ?? "unknown reason"})`))
  }
  return ok({ kernels: referenceKernels(), preference, wasm })
}
