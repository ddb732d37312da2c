// The master's scans (scan.ts) find exactly the blocks the reference file diff finds, and
// capture their bytes as they are in the image: for random sizes across several 1 MiB chunks
// (partial final block and chunk included), both backends, by base diff and by hash list; the
// hash-list scan alone, with the scan helper threads (all chunks theirs, or shared with the
// main thread), and with the main thread's blocks handed to a keeper instead of captured.
import { readFileSync, writeFileSync } from "node:fs"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import fc from "fast-check"
import { diffImageFiles } from "../adapters/kernels.ts"
import { imagePaths } from "../adapters/replica/images.ts"
import { changedSinceBase, changedSinceHashes } from "../adapters/replica/scan.ts"
import { startScanHelpers } from "../adapters/replica/scan-helpers.ts"
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
    const helpers = startScanHelpers()
    await Promise.all(helpers.map((h) => h.untilReady()))
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
          if (kernels.backend !== "wasm") continue
          check(await changedSinceHashes(dirs.master, id, kernels, 1, sizeBytes,
            { helpers: [], mainThreadScans: true }))
          if (helpers.length > 0) {
            check(await changedSinceHashes(dirs.master, id, kernels, 1, sizeBytes,
              { helpers, mainThreadScans: false }))
          }
          check(await changedSinceHashes(dirs.master, id, kernels, 1, sizeBytes,
            { helpers, mainThreadScans: true }))
          // The main thread's blocks go to the keeper (copied out of the view at once).
          const kept = new Map<number, Uint8Array>()
          const found = await changedSinceHashes(dirs.master, id, kernels, 1, sizeBytes,
            { helpers: [], mainThreadScans: true }, (index, chunk, local) => kept.set(index,
              chunk.slice(local * 4096, (local + 1) * 4096)))
          expect(found.captured.size).toBe(0)
          check({ changed: found.changed, captured: kept })
        }
      }))
  }, 600_000)
})
