// The master's block-hash list (adapters/replica/hashlist.ts): torn, stale or other-fingerprint
// lists read as absent, and cycles that find changes by hash keep the slave equal to the
// master's snapshot.
import { readFileSync, truncateSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import fc from "fast-check"
import { referenceKernels, selectKernels, type BlockKernels } from "../core/kernels/index.ts"
import { diffImageFiles, hashImageFile } from "../adapters/kernels.ts"
import { startAgent } from "../adapters/replica/agent.ts"
import { readHashList, writeHashList } from "../adapters/replica/hashlist.ts"
import { createMasterImage, imagePaths, readMeta } from "../adapters/replica/images.ts"
import { listFingerprint } from "../adapters/replica/scan.ts"
import { settleCycle, type SyncRequest, syncOnce } from "../adapters/replica/sender.ts"
import { perTestDirs, prng, randomWrites, sha256File } from "./replica-helpers.ts"

const dirs = perTestDirs("corral-hashlist-")
const id = "vm1"
const imageSizeBytes = 8 * 1024 * 1024 + 1000 // a partial final block

const wasm = selectKernels("wasm")
const wasmKernels: BlockKernels | null = Result.isSuccess(wasm) ? wasm.success.kernels : null

function value<A>(r: Result.Result<A, { readonly message: string }>): A {
  if (Result.isFailure(r)) throw new Error(r.failure.message)
  return r.success
}

function req(port: number, generation: number, kernels: BlockKernels,
  over: Partial<SyncRequest> = {}): SyncRequest {
  return { masterDir: dirs.master, imageId: id, port, generation, fromGeneration: generation - 1,
    includeSlaveChanges: false, bwlimitBytesPerS: null, kernels, replyTimeoutMs: 20_000, ...over }
}

/** The base's hashes as the sender's list should hold them. */
function baseHashes(kernels: BlockKernels): BigUint64Array {
  const hashed = hashImageFile(kernels, imagePaths(dirs.master, id).base, undefined,
    listFingerprint)
  if (Result.isFailure(hashed)) throw new Error(hashed.failure.message)
  return hashed.success
}

describe("hash list file", () => {
  it("reads back what was written, and only at its generation and block count", () => {
    const path = join(dirs.root, "list.hashes")
    const hashes = new BigUint64Array([0n, 1n, 2n ** 64n - 1n, 0x0123456789abcdefn])
    writeHashList(path, 7, hashes, "xxh3")
    expect(readHashList(path, 7, 4, "xxh3")).toEqual(hashes)
    expect(readHashList(path, 6, 4, "xxh3")).toBeNull()
    expect(readHashList(path, 7, 5, "xxh3")).toBeNull()
    expect(readHashList(path, 7, 3, "xxh3")).toBeNull()
    expect(readHashList(join(dirs.root, "absent.hashes"), 7, 4, "xxh3")).toBeNull()
  })

  it("a list of another fingerprint reads as absent; an earlier version's list is xxHash64", () => {
    const path = join(dirs.root, "kind.hashes")
    const hashes = new BigUint64Array([5n, 6n, 7n])
    writeHashList(path, 2, hashes, "xxh64")
    expect(readHashList(path, 2, 3, "xxh3")).toBeNull()
    expect(readHashList(path, 2, 3, "xxh64")).toEqual(hashes)
    // Earlier versions wrote 0 in the header's last field: that is the xxHash64 code.
    expect(readFileSync(path).readUInt32BE(16)).toBe(0)
    writeHashList(path, 2, hashes, "xxh3")
    expect(readFileSync(path).readUInt32BE(16)).toBe(1)
    expect(readHashList(path, 2, 3, "xxh64")).toBeNull()
  })

  it("a torn list (cut short, or any byte changed) reads as absent", () => {
    const path = join(dirs.root, "torn.hashes")
    fc.assert(fc.property(
      fc.array(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), { minLength: 1, maxLength: 40 }),
      fc.nat(), fc.integer({ min: 1, max: 255 }), fc.boolean(),
      (values, where, flip, cut) => {
        const hashes = BigUint64Array.from(values)
        writeHashList(path, 3, hashes, "xxh3")
        const whole = readFileSync(path)
        const at = where % whole.length
        if (cut) truncateSync(path, at)
        else {
          const torn = Buffer.from(whole)
          torn[at] = torn[at]! ^ flip
          writeFileSync(path, torn)
        }
        // A flipped byte in the block count or generation mismatches; elsewhere the CRC fails.
        expect(readHashList(path, 3, hashes.length, "xxh3")).toBeNull()
      }))
  })
})

describe.skipIf(wasmKernels === null)("cycles that find changes by hash (wasm backend)", () => {
  it("alternating backends, a torn list, an old list and an agent cut mid-stream all converge",
    async () => {
    const kernels = wasmKernels!
    createMasterImage(dirs.master, id, imageSizeBytes)
    const agent = await startAgent(dirs.slave, referenceKernels())
    const p = imagePaths(dirs.master, id)
    const random = prng(11)
    const blockCount = Math.ceil(imageSizeBytes / 4096)
    const check = async (generation: number) => {
      await settleCycle(dirs.master, id) // the master's commit runs after the ACK
      expect(readMeta(dirs.master, id)!.generation).toBe(generation)
      expect(sha256File(imagePaths(dirs.slave, id).image)).toBe(sha256File(p.image))
      const list = readHashList(p.hashes, generation, blockCount, listFingerprint)
      expect(list).toEqual(baseHashes(kernels))
    }
    try {
      let g = 0
      // A TypeScript cycle diffs bytes and patches the valid list with what it ships.
      for (const k of [kernels, referenceKernels(), kernels, referenceKernels(), kernels]) {
        randomWrites(p.image, imageSizeBytes, 40, random)
        g = (await syncOnce(req(agent.port, g + 1, k))).generation
        await check(g)
      }
      // A list of xxHash64s at the right generation (as an earlier version wrote it) is not
      // used: had it been, every block would differ from it and ship.
      writeHashList(p.hashes, g, value(kernels.hashBlocks(readFileSync(p.base))), "xxh64")
      randomWrites(p.image, imageSizeBytes, 3, random)
      const differing = value(diffImageFiles(referenceKernels(), p.image, p.base)).changedCount
      const afterOld = await syncOnce(req(agent.port, g + 1, kernels))
      expect(afterOld.changedBlockCount).toBe(differing)
      g = afterOld.generation
      await check(g)
      // A torn list is rebuilt from the base.
      truncateSync(p.hashes, 100)
      randomWrites(p.image, imageSizeBytes, 40, random)
      g = (await syncOnce(req(agent.port, g + 1, kernels))).generation
      await check(g)
      // Cut mid-stream: the pending blocks ship again; the list stays at g.
      randomWrites(p.image, imageSizeBytes, 300, random)
      let cut = false
      const clock = {
        nowMs: () => performance.now(),
        sleepMs: async (ms: number) => {
          if (!cut) { cut = true; await agent.close() }
          await new Promise((resolve) => setTimeout(resolve, Math.min(ms, 5)))
        },
      }
      await expect(syncOnce(req(agent.port, g + 1, kernels,
        { bwlimitBytesPerS: 256 * 1024, clock }))).rejects.toThrow()
      expect(cut).toBe(true)
      expect(readHashList(p.hashes, g, blockCount, listFingerprint)).not.toBeNull()
      const again = await startAgent(dirs.slave, referenceKernels())
      try {
        // The blocks the cut cycle wrote into the base ahead of generation g ship again.
        const r = await syncOnce(req(again.port, g + 2, kernels, { fromGeneration: g }))
        g = r.generation
        await check(g)
      } finally { await again.close() }
    } finally { await agent.close() }
  })
})
