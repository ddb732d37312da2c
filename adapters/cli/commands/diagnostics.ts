import { readFileSync } from "node:fs"
import { join } from "node:path"
import { Result } from "effect"
import { KERNELS_ENV, loadKernels } from "../../kernels.ts"
import {
  BLOCK_SIZE_BYTES, type BlockKernels, defaultScanKernel, referenceKernels, wasmSupport,
} from "../../../core/kernels/index.ts"
import type { CliCommand } from "../command.ts"

const usage = `usage: corral diagnostics [--json]

Says which block-kernel and placement-scan backends are active (WebAssembly or the TypeScript reference) and why,
whether the SIMD WebAssembly kernels compiled on this host, a self-test of the active backend
against the reference, and the versions of Corral, Node.js, V8 and the AssemblyScript compiler.

  --json   print the same facts as one JSON object

Environment: ${KERNELS_ENV}=auto|ts|wasm forces a backend (default auto: WebAssembly where it
compiles, else the reference). Exit status 0, or 1 when ${KERNELS_ENV} cannot be honoured.`

/** Diffs and hashes a small fixed pattern on `kernels` and on the reference; true when equal. */
function selfTest(kernels: BlockKernels): boolean {
  const a = new Uint8Array(3 * BLOCK_SIZE_BYTES + 123)
  for (let i = 0; i < a.length; i++) a[i] = (i * 131 + (i >>> 7)) & 0xff
  const b = a.slice(0, a.length - 7)
  b[BLOCK_SIZE_BYTES + 5] = b[BLOCK_SIZE_BYTES + 5]! ^ 0xff
  const reference = referenceKernels()
  const diff = kernels.diffBlocks(a, b), expectedDiff = reference.diffBlocks(a, b)
  const hashes = kernels.hashBlocks(a), expectedHashes = reference.hashBlocks(a)
  if (Result.isFailure(diff) || Result.isFailure(expectedDiff)) return false
  if (Result.isFailure(hashes) || Result.isFailure(expectedHashes)) return false
  return diff.success.changedCount === expectedDiff.success.changedCount &&
    diff.success.bitmap.every((byte, i) => byte === expectedDiff.success.bitmap[i]) &&
    hashes.success.length === expectedHashes.success.length &&
    hashes.success.every((hash, i) => hash === expectedHashes.success[i])
}

function corralVersion(): string {
  const pkg = JSON.parse(
    readFileSync(join(import.meta.dirname, "..", "..", "..", "package.json"), "utf8"),
  ) as { version: string }
  return pkg.version
}

/** `corral diagnostics`: the active kernel backend, WebAssembly support and versions. */
export const command: CliCommand = {
  summary: "show the active kernel backends, WebAssembly/SIMD support and versions",
  usage,
  run: async (args) => {
    const unknown = args.filter((a) => a !== "--json")
    if (unknown.length > 0) {
      console.error(`corral diagnostics: unknown argument ${unknown[0]}\n\n${usage}`)
      return 2
    }
    const wasm = wasmSupport()
    const selection = loadKernels()
    const facts = {
      kernels: Result.isSuccess(selection)
        ? {
          backend: selection.success.kernels.backend,
          preference: selection.success.preference,
          selfTest: selfTest(selection.success.kernels) ? "ok" : "MISMATCH",
        }
        : { error: selection.failure.message },
      placementScan: defaultScanKernel().backend,
      [KERNELS_ENV]: process.env[KERNELS_ENV] ?? null,
      webAssembly: {
        simdKernelsCompiled: wasm.available,
        ...(wasm.reason === undefined ? {} : { reason: wasm.reason }),
        compiler: wasm.compilerVersion,
        compilerFlags: wasm.compilerFlags.join(" "),
      },
      versions: {
        corral: corralVersion(), node: process.versions.node, v8: process.versions.v8,
      },
      platform: `${process.platform} ${process.arch}`,
    }
    if (args.includes("--json")) console.log(JSON.stringify(facts, null, 2))
    else printText(facts)
    return Result.isSuccess(selection) && facts.kernels.selfTest === "ok" ? 0 : 1
  },
}

function printText(facts: {
  kernels: { backend?: string; preference?: string; selfTest?: string; error?: string }
  placementScan: string
  webAssembly: { simdKernelsCompiled: boolean; reason?: string; compiler: string;
    compilerFlags: string }
  versions: { corral: string; node: string; v8: string }
  platform: string
}): void {
  const k = facts.kernels
  const env = process.env[KERNELS_ENV]
  console.log(k.error !== undefined
    ? `block kernels:  unavailable: ${k.error}`
    : `block kernels:  ${k.backend} (${KERNELS_ENV}=${env ?? "unset"} -> ${k.preference}), ` +
      `self-test ${k.selfTest}`)
  console.log(`placement scan: ${facts.placementScan}`)
  const w = facts.webAssembly
  const compiled = w.simdKernelsCompiled ? "compiled" : "unavailable"
  console.log(`WebAssembly:    SIMD kernels ${compiled}` +
    (w.reason === undefined ? "" : ` (${w.reason})`))
  console.log(`compiler:       ${w.compiler} ${w.compilerFlags}`)
  const v = facts.versions
  console.log(`versions:       corral ${v.corral}, node ${v.node}, v8 ${v.v8}`)
  console.log(`platform:       ${facts.platform}`)
}
