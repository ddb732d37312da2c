// The master's scans (scan.ts) find exactly the blocks the reference file diff finds, and
// capture their bytes as they are in the image: for random sizes across several 1 MiB chunks
// (partial final block and chunk included), both backends, by base diff and by hash list.
import { readFileSync, writeFileSync } from "node:fs"
import { Result } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import fc from "fast-check"
import { diffImageFiles } from "../adapters/kernels.ts"
import { imagePaths } from "../adapters/replica/images.ts"
import { writeHashList } from "../adapters/replica/hashlist.ts"
import {
  type ChangedByHash, changedSinceBase, changedSinceHashes, changedSinceHashesShared,
} from "../adapters/replica/scan.ts"
import { type ScanWorker, startScanWorker } from "../adapters/replica/scan-worker.ts"
import {
  type BlockKernels, changedBlocks, referenceKernels, selectKernels,
} from "../core/kernels/index.ts"
import { perTestDirs } from "./replica-helpers.ts"

const dirs = perTestDirs("corral-replica-scan-")
const wasm = selectKernels("wasm")
const backends: BlockKernels[] = [referenceKernels(),
  ...Result.isSuccess(wasm) ? [wasm.success.kernels] : []]

/**
 * Writes a base of `sizeBytes` bytes of `fill` and an image that is the base with each write
 * (offset, length, byte; offsets wrap) applied; returns the base.
 */
function writeImages(p: ReturnType<typeof imagePaths>, sizeBytes: number,
  writes: ReadonlyArray<readonly [number, number, number]>, fill: number): Buffer {
  const base = Buffer.alloc(sizeBytes, fill)
  const image = Buffer.from(base)
  for (const [at, length, byte] of writes) {
    image.fill(byte, at % sizeBytes, Math.min(sizeBytes, at % sizeBytes + length))
  }
  writeFileSync(p.base, base)
  writeFileSync(p.image, image)
  return base
}

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
        writeImages(p, sizeBytes, writes, fill)
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

describe.runIf(Result.isSuccess(wasm))("the hash-list scan with the scan worker", () => {
  let worker: ScanWorker | null = null
  beforeAll(async () => {
    worker = startScanWorker(2)
    await worker!.untilReady()
  }, 120_000)
  afterAll(async () => { await worker?.terminate() })

  /** The scan's result as plain data: changed list, captured bytes, patched list, in order. */
  const plain = (found: ChangedByHash) => ({
    changed: found.changed,
    captured: found.changed.map((index) => Buffer.from(found.captured.get(index)!).toString("hex")),
    hashes: [...found.hashes],
  })

  it("finds the same blocks, captures the same bytes and patches the list alike", async () => {
    const id = "vm"
    const p = imagePaths(dirs.master, id)
    const kernels = backends.find((k) => k.backend === "wasm")!
    let sharedRuns = 0
    await fc.assert(fc.asyncProperty(
      fc.integer({ min: 1, max: 5 * 1024 * 1024 + 5000 }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 20_000 }), fc.nat(255)),
        { maxLength: 16 }),
      fc.nat(255),
      async (sizeBytes, writes, fill) => {
        const base = writeImages(p, sizeBytes, writes, fill)
        const list = kernels.xxh3Blocks(base)
        if (Result.isFailure(list)) throw new Error(list.failure.message)
        writeHashList(p.hashes, 1, list.success, "xxh3")
        const alone = changedSinceHashes(dirs.master, id, kernels, 1, sizeBytes, "xxh3")
        writeHashList(p.hashes, 1, list.success, "xxh3")
        const shared = await changedSinceHashesShared(dirs.master, id, kernels, 1, sizeBytes,
          "xxh3", worker, { chunksMin: 1, joinWaitMs: 5_000 })
        expect(alone.workerChunks).toBe(0)
        if (shared.workerChunks > 0) sharedRuns++
        expect(plain(shared)).toEqual(plain(alone))
      }))
    // The worker joined and scanned chunks in most runs (the main thread waits for it to join).
    expect(sharedRuns).toBeGreaterThan(500)
  }, 600_000)

  it("leaves images below the threshold, and a missing worker, to the main thread", async () => {
    const id = "small"
    const p = imagePaths(dirs.master, id)
    const kernels = backends.find((k) => k.backend === "wasm")!
    const base = Buffer.alloc(3 * 1024 * 1024, 7)
    const image = Buffer.from(base).fill(9, 5000, 9000)
    writeFileSync(p.base, base)
    writeFileSync(p.image, image)
    for (const [w, chunksMin] of [[worker, 4], [null, 1]] as const) {
      const found = await changedSinceHashesShared(dirs.master, id, kernels, 1, base.length,
        "xxh3", w, { chunksMin, joinWaitMs: 1_000 })
      expect(found.workerChunks).toBe(0)
      expect(found.changed).toEqual([1, 2])
    }
  })
})
