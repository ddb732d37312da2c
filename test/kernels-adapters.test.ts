// The kernels' adapter side: CORRAL_KERNELS, image files read chunk by chunk into input views,
// and `corral diagnostics`.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Result } from "effect"
import fc from "fast-check"
import { afterAll, describe, expect, it, vi } from "vitest"
import { command as diagnostics } from "../adapters/cli/commands/diagnostics.ts"
import {
  diffImageFiles, FILE_CHUNK_ALIGN_BYTES, hashImageFile, kernelPreference, loadKernels,
} from "../adapters/kernels.ts"
import { BLOCK_SIZE_BYTES, referenceKernels, selectKernels } from "../core/kernels/index.ts"
import { chooseKernels } from "../core/kernels/select.ts"
import { compileKernel } from "../core/kernels/wasm-runtime.ts"

const B = BLOCK_SIZE_BYTES
const dir = mkdtempSync(join(tmpdir(), "corral-kernels-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function value<A>(r: Result.Result<A, { message: string }>): A {
  if (Result.isFailure(r)) throw new Error(r.failure.message)
  return r.success
}

function failure<A, E>(r: Result.Result<A, E>): E {
  if (Result.isSuccess(r)) throw new Error("expected a failure")
  return r.failure
}

function imageFile(name: string, bytes: Uint8Array): string {
  const path = join(dir, name)
  writeFileSync(path, bytes)
  return path
}

function pattern(lengthBytes: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(lengthBytes)
  for (let i = 0; i < lengthBytes; i++) bytes[i] = (i * 73 + seed + (i >>> 11)) & 0xff
  return bytes
}

describe("CORRAL_KERNELS", () => {
  const rules: Array<[string | undefined, string]> = [
    [undefined, "auto"], ["", "auto"], ["auto", "auto"], ["ts", "ts"], ["wasm", "wasm"],
  ]
  it.each(rules)("%j means %s", (text, expected) => {
    expect(value(kernelPreference({ CORRAL_KERNELS: text }))).toBe(expected)
  })

  it("anything else is a BadRequest naming the variable", () => {
    const problem = failure(kernelPreference({ CORRAL_KERNELS: "fast" }))
    expect(problem._tag).toBe("BadRequest")
    expect(problem.path).toBe("CORRAL_KERNELS")
    expect(problem.message).toMatch(/"ts"/)
  })

  it("ts forces the reference; auto picks WebAssembly where it compiles (here)", () => {
    expect(value(loadKernels({ CORRAL_KERNELS: "ts" })).kernels.backend).toBe("ts")
    expect(value(loadKernels({})).kernels.backend).toBe("wasm")
    expect(value(loadKernels({})).wasm.available).toBe(true)
  })
})

describe.each(["ts", "wasm"] as const)("image files on the %s backend", (backend) => {
  const kernels = value(selectKernels(backend)).kernels
  const chunk = FILE_CHUNK_ALIGN_BYTES
  const base = pattern(5 * chunk + 3 * B + 17, 1)
  const changed = base.slice()
  for (const at of [0, chunk - 1, 2 * chunk + 5 * B, base.length - 1]) {
    changed[at] = changed[at]! ^ 1
  }
  const pathBase = imageFile(`${backend}-base`, base)
  const pathChanged = imageFile(`${backend}-changed`, changed)
  const pathShort = imageFile(`${backend}-short`, base.subarray(0, 2 * chunk + 100))

  // [what, a, b, path a, path b]
  const cases: Array<[string, Uint8Array, Uint8Array, string, string]> = [
    ["changes across chunks", base, changed, pathBase, pathChanged],
    ["a shorter file", base, base.subarray(0, 2 * chunk + 100), pathBase, pathShort],
    ["the shorter file first", base.subarray(0, 2 * chunk + 100), changed, pathShort, pathChanged],
  ]
  it.each(cases)("diffImageFiles: %s, chunk by chunk, equals the in-memory diff", (
    _what, a, b, pathA, pathB,
  ) => {
    const expected = value(referenceKernels().diffBlocks(a, b))
    expect(value(diffImageFiles(kernels, pathA, pathB, chunk))).toEqual(expected)
    expect(value(diffImageFiles(kernels, pathA, pathB))).toEqual(expected)
  })

  it("hashImageFile equals the in-memory hash list", () => {
    const expected = value(referenceKernels().hashBlocks(changed))
    expect(value(hashImageFile(kernels, pathChanged, chunk))).toEqual(expected)
    expect(value(hashImageFile(kernels, imageFile(`${backend}-empty`, new Uint8Array(0)))).length)
      .toBe(0)
  })

  it("hashImageFile with the XXH3 fingerprint equals the in-memory XXH3 list", () => {
    // The reference's XXH3 is BigInt (slow): a file of a few chunks only.
    const small = changed.subarray(0, 2 * chunk + 300)
    const path = imageFile(`${backend}-small`, small)
    const expected = value(referenceKernels().xxh3Blocks(small))
    expect(value(hashImageFile(kernels, path, chunk, "xxh3"))).toEqual(expected)
    expect(value(hashImageFile(kernels, path, chunk, "xxh3"))).not.toEqual(
      value(hashImageFile(kernels, path, chunk)))
  })

  it("a missing file is a NotFound; a bad chunk size a BadRequest", () => {
    const missing = failure(diffImageFiles(kernels, pathBase, join(dir, "nope")))
    expect(missing._tag).toBe("NotFound")
    expect(failure(hashImageFile(kernels, join(dir, "nope")))._tag).toBe("NotFound")
    for (const bad of [0, chunk + B, -chunk, 1.5]) {
      const problem = failure(diffImageFiles(kernels, pathBase, pathChanged, bad))
      expect(problem._tag === "BadRequest" ? problem.path : undefined).toBe("chunkBytes")
    }
  })
})

describe("diffImageFiles on random files", () => {
  const backends = [referenceKernels(), value(selectKernels("wasm")).kernels]
  it("property: every backend (memcmp-skipping on ts) equals the in-memory reference", () => {
    const chunk = 2 * FILE_CHUNK_ALIGN_BYTES
    fc.assert(fc.property(
      fc.nat({ max: 5 * chunk }), fc.integer({ min: -3 * B, max: 3 * B }),
      fc.array(fc.nat({ max: 5 * chunk }), { maxLength: 12 }), fc.nat(),
      (lengthA, delta, changes, seed) => {
        const a = pattern(lengthA, seed & 0xff)
        const b = pattern(Math.max(0, lengthA + delta), seed & 0xff)
        for (const at of changes) if (at < b.length) b[at] = b[at]! ^ 0x5a
        const pathA = imageFile("prop-a", a), pathB = imageFile("prop-b", b)
        const expected = value(referenceKernels().diffBlocks(a, b))
        for (const kernels of backends) {
          expect(value(diffImageFiles(kernels, pathA, pathB, chunk))).toEqual(expected)
        }
      }))
  })
})

describe("corral diagnostics", () => {
  async function run(args: string[], env: string | undefined) {
    const lines: string[] = []
    const log = vi.spyOn(console, "log").mockImplementation((text: string) => { lines.push(text) })
    const error = vi.spyOn(console, "error").mockImplementation(() => {})
    vi.stubEnv("CORRAL_KERNELS", env)
    try {
      const code = await diagnostics.run(args)
      return { code, text: lines.join("\n") }
    } finally {
      log.mockRestore()
      error.mockRestore()
      vi.unstubAllEnvs()
    }
  }

  it("reports the active backend, SIMD support, self-test and versions", async () => {
    const { code, text } = await run(["--json"], undefined)
    expect(code).toBe(0)
    const facts = JSON.parse(text) as {
      kernels: { backend: string; selfTest: string }
      placementScan: string
      webAssembly: { simdKernelsCompiled: boolean; compilerFlags: string }
      versions: { node: string }
    }
    expect(facts.kernels).toMatchObject({ backend: "wasm", selfTest: "ok" })
    expect(facts.placementScan).toBe("wasm")
    expect(facts.webAssembly.simdKernelsCompiled).toBe(true)
    expect(facts.webAssembly.compilerFlags).toContain("--enable simd")
    expect(facts.versions.node).toBe(process.versions.node)
  })

  it("follows CORRAL_KERNELS, and fails on a value it cannot honour", async () => {
    const ts = (await run([], "ts")).text
    expect(ts).toMatch(/block kernels: +ts \(CORRAL_KERNELS=ts/)
    expect(ts).toMatch(/placement scan: ts/)
    expect((await run([], undefined)).text).toMatch(/placement scan: wasm/)
    const bad = await run([], "fast")
    expect(bad.code).toBe(1)
    expect(bad.text).toMatch(/unavailable: CORRAL_KERNELS/)
    expect((await run(["--verbose"], undefined)).code).toBe(2)
  })
})

describe("fallback where WebAssembly cannot run", () => {
  const unavailable = { ok: false as const, reason: "this runtime has no WebAssembly" }
  const support = { available: false, reason: unavailable.reason, compilerVersion: "none",
    compilerFlags: [] }

  it("compileKernel says why: no WebAssembly at all, or a module this runtime rejects", () => {
    vi.stubGlobal("WebAssembly", undefined)
    try {
      expect(compileKernel("blockdiff", "AGFzbQEAAAA=")).toEqual(unavailable)
    } finally {
      vi.unstubAllGlobals()
    }
    const rejected = compileKernel("blockdiff", "AGFzbQIAAAA=")
    expect(rejected.ok).toBe(false)
  })

  it("auto falls back to the reference; wasm is a BadRequest that says why; ts is ts", () => {
    const auto = value(chooseKernels("auto", unavailable, unavailable, support))
    expect(auto.kernels.backend).toBe("ts")
    expect(auto.wasm.reason).toBe(unavailable.reason)
    const forced = failure(chooseKernels("wasm", unavailable, unavailable, support))
    expect(forced.path).toBe("preference")
    expect(forced.message).toContain("no WebAssembly")
    expect(value(chooseKernels("ts", unavailable, unavailable, support)).kernels.backend)
      .toBe("ts")
  })
})
