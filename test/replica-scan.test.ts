// The master's scans (scan.ts) find exactly the blocks the reference file diff finds, and
// capture their bytes as they are in the image: for random sizes across several 1 MiB chunks
// (partial final block and chunk included), both backends, by base diff and by hash list.
import { readFileSync, writeFileSync } from "node:fs"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import fc from "fast-check"
import { diffImageFiles } from "../adapters/kernels.ts"
import { imagePaths } from "../adapters/replica/images.ts"
import { changedSinceBase, changedSinceHashes } from "../adapters/replica/scan.ts"
import {
  type BlockKernels, changedBlocks, referenceKernels, selectKernels,
} from "../core/kernels/index.ts"
import { perTestDirs } from "./replica-helpers.ts"

const dirs = perTestDirs("corral-replica-scan-")
const wasm = selectKernels("wasm")
const backends: BlockKernels[] = [referenceKernels(),
  ...Result.isSuccess(wasm) ? [wasm.success.kernels] : []]

describe("changed-block scans", () => {
  it("equal the reference diff, with the image's bytes captured", async () => {
    const id = "vm"
    const p = imagePaths(dirs.master, id)
    await fc.assert(fc.asyncProperty(
      fc.integer({ min: 1, max: 2 * 1024 * 1024 + 5000 }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 9000 }), fc.nat(255)),
        { maxLength: 12 }),
      fc.nat(255),
      async (sizeBytes, writes, fill) => {
        const base = Buffer.alloc(sizeBytes, fill)
        const image = Buffer.from(base)
        for (const [at, length, byte] of writes) image.fill(byte, at % sizeBytes, Math.min(
          sizeBytes, at % sizeBytes + length))
        writeFileSync(p.base, base)
        writeFileSync(p.image, image)
        const reference = diffImageFiles(referenceKernels(), p.image, p.base)
        if (Result.isFailure(reference)) throw new Error(reference.failure.message)
        const expected = changedBlocks(reference.success.bitmap, reference.success.blockCount)
        const onDisk = readFileSync(p.image)
        const check = (found: { changed: number[]; captured: ReadonlyMap<number, Uint8Array> }) => {
          expect(found.changed).toEqual(expected)
          const wrong = expected.filter((index) => !onDisk.subarray(index * 4096,
            Math.min(sizeBytes, index * 4096 + 4096)).equals(found.captured.get(index)!))
          expect(wrong).toEqual([])
        }
        for (const kernels of backends) {
          check(changedSinceBase(dirs.master, id, kernels, sizeBytes))
          if (kernels.backend === "wasm") {
            check(changedSinceHashes(dirs.master, id, kernels, 1, sizeBytes))
          }
        }
      }))
  }, 600_000)
})
