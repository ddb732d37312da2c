// The master's scans (scan.ts) find exactly the blocks the reference file diff finds, and
// capture their bytes as they are in the image: for random sizes across several 1 MiB chunks
// (partial final block and chunk included), both backends, by base diff and by hash list; the
// hash-list scan alone, with the scan helper threads (all chunks theirs, or shared with the
// main thread), and with the blocks found during the scan handed to a keeper instead of
// captured.
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
          // Blocks found while the scan runs go to the keeper (copied out of the view at once):
          // all of them without helpers; with helpers, their last part comes with the share.
          for (const sharing of [{ helpers: [], mainThreadScans: true },
            { helpers, mainThreadScans: false }, { helpers, mainThreadScans: true }]) {
            const kept = new Map<number, Uint8Array>()
            const found = await changedSinceHashes(dirs.master, id, kernels, 1, sizeBytes,
              sharing, (index, chunk, local) => kept.set(index,
                chunk.slice(local * 4096, (local + 1) * 4096)))
            if (sharing.helpers.length === 0) expect(found.captured.size).toBe(0)
            for (const index of found.captured.keys()) expect(kept.has(index)).toBe(false)
            check({ changed: found.changed, captured: new Map([...kept, ...found.captured]) })
          }
        }
      }))
  }, 600_000)

  it("a helper's parts, posted while it scans a larger image, reach the keeper", async () => {
    const kernels = backends.find((k) => k.backend === "wasm")
    if (kernels === undefined) return
    const helpers = startScanHelpers()
    await Promise.all(helpers.map((h) => h.untilReady()))
    if (helpers.length === 0) return
    const id = "big", sizeBytes = 9 * 1024 * 1024 + 100
    const p = imagePaths(dirs.master, id)
    const image = Buffer.alloc(sizeBytes)
    const touched = [0, 300, 1100, 1500, 2047, 2300]
    for (const block of touched) image.fill(7, block * 4096, block * 4096 + 10)
    image.fill(9, sizeBytes - 50)
    writeFileSync(p.base, Buffer.alloc(sizeBytes))
    writeFileSync(p.image, image)
    const kept = new Map<number, Uint8Array>()
    const found = await changedSinceHashes(dirs.master, id, kernels, 1, sizeBytes,
      { helpers, mainThreadScans: false }, (index, chunk, local) => kept.set(index,
        chunk.slice(local * 4096, (local + 1) * 4096)))
    const expected = [...touched, Math.floor((sizeBytes - 1) / 4096)]
    expect(found.changed).toEqual(expected)
    expect(kept.size).toBeGreaterThan(0) // the parts of the first chunks
    const all = new Map([...kept, ...found.captured])
    expect([...all.keys()].sort((a, b) => a - b)).toEqual(expected)
    for (const index of expected) {
      expect(Buffer.from(all.get(index)!).equals(image.subarray(index * 4096,
        Math.min(sizeBytes, index * 4096 + 4096)))).toBe(true)
    }
  })
})
