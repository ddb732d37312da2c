// Builds every AssemblyScript kernel under assembly/ (one entry file per kernel, `*.kernel.ts`)
// into build/<name>.wasm with the flags the project fixes: SIMD on, -O3, stub runtime, no asserts.
// Run by `prestart`, `pretest` and `prebench`; generated files are never edited by hand.
import { readdirSync, mkdirSync, existsSync, statSync } from "node:fs"
import { execFileSync } from "node:child_process"
import { join, basename } from "node:path"

const root = new URL("..", import.meta.url).pathname
const sourceDir = join(root, "assembly")
const outDir = join(root, "build")
mkdirSync(outDir, { recursive: true })
const asc = join(root, "node_modules", ".bin", "asc")
const entries = existsSync(sourceDir)
  ? readdirSync(sourceDir).filter((f) => f.endsWith(".kernel.ts"))
  : []
for (const entry of entries) {
  const name = basename(entry, ".kernel.ts")
  const source = join(sourceDir, entry)
  const out = join(outDir, `${name}.wasm`)
  if (existsSync(out) && statSync(out).mtimeMs > newestSourceMs()) continue
  execFileSync(asc, [
    source, "--outFile", out,
    "--enable", "simd", "-O3", "--runtime", "stub", "--noAssert",
    "--initialMemory", "1", "--exportRuntime",
  ], { stdio: "inherit" })
  console.error(`build-wasm: ${entry} -> build/${name}.wasm`)
}

function newestSourceMs() {
  let newest = 0
  for (const f of readdirSync(sourceDir)) newest = Math.max(newest, statSync(join(sourceDir, f)).mtimeMs)
  return newest
}
