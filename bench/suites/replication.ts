/**
 * Suite `replication`: a 256 MiB image with 1% of its 4 KiB blocks changed between cycles.
 *
 * - end-to-end incremental sync on the real path (TypeScript backend: image and base read and
 *   diffed; WebAssembly backend: only the image read and hashed against the base's hash list,
 *   timed twice: with the scan on the main thread alone, and on 2 threads with the process's
 *   scan worker, started and loaded before the first timed cycle as in a long-lived sender;
 *   changed blocks sent over loopback to a spawned agent process that is already listening,
 *   pending record flushed before END, journal commit with fdatasync, ACK), once per side,
 *   timed to the ACK (the slave holds the generation durably) and, apart, to the end of the
 *   master's commit that follows it (base fdatasync, metadata; the agent's in-place apply
 *   after its ACK is never timed), against
 * - `rsync --inplace --no-whole-file -B 4096` on the same source file and an identical copy,
 *   timed around the rsync process (its startup and its fork of the receiver included; rsync
 *   does not fsync), and, for reference, the same with `--fsync`. `--ignore-times` makes rsync
 *   run its delta transfer every time (otherwise a file modified in the same second as the
 *   last run is skipped by the size-and-mtime check); each rsync result is checked untimed,
 *
 * interleaved in the same run (ts, rsync, wasm 1 thread, rsync --fsync, wasm 2 threads, rsync, …)
 * with fresh changes before every iteration and `sync` (untimed) before every timed run so no
 * side inherits the other's dirty pages; every file involved is in the page cache for both. The figure is each side's median.
 * Also the diff throughputs: each kernel on two 256 MiB images already in its memory, and the
 * whole file diff (diffImageFiles: page-cache reads into the kernel's views + diff); and the
 * WebAssembly scan by hash list with each fingerprint (xxHash64, and XXH3-64 as the sender
 * uses it), and the XXH3 scan alone on 1 and 2 threads, alternating (wall and CPU time).
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process"
import { randomFillSync } from "node:crypto"
import {
  closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync,
} from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Result } from "effect"
import {
  type BlockFingerprint, type BlockKernels, referenceKernels, selectKernels,
} from "../../core/kernels/index.ts"
import { diffImageFiles, hashImageFile, readFully } from "../../adapters/kernels.ts"
import { writeHashList } from "../../adapters/replica/hashlist.ts"
import {
  createMasterImage, imagePaths, readMeta, writeMeta,
} from "../../adapters/replica/images.ts"
import {
  changedSinceHashes, changedSinceHashesShared, diffChunkBytes,
} from "../../adapters/replica/scan.ts"
import { type ScanWorker, startScanWorker } from "../../adapters/replica/scan-worker.ts"
import { settleCycle, syncOnce } from "../../adapters/replica/sender.ts"
import { Bench, type BenchRecord, hz, record, runBench } from "../lib.ts"

const suite = "replication"
const imageSizeBytes = 256 * 1024 * 1024
const blockSizeBytes = 4096
const changedFraction = 0.01
const iterationCount = 7
const id = "bench"

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

/** Overwrites 1% of the blocks of `path` (distinct, random) with random bytes. */
function changeBlocks(path: string, random: () => number): void {
  const blockCount = imageSizeBytes / blockSizeBytes
  const picked = new Set<number>()
  while (picked.size < Math.round(blockCount * changedFraction)) {
    picked.add(Math.floor(random() * blockCount))
  }
  const fd = openSync(path, "r+")
  const block = Buffer.alloc(blockSizeBytes)
  try {
    for (const index of picked) {
      randomFillSync(block)
      writeSync(fd, block, 0, blockSizeBytes, index * blockSizeBytes)
    }
  } finally { closeSync(fd) }
}

function sleepMs(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Bytes each file is compared by (two buffers, allocated once). */
const compareChunkBytes = 1024 * 1024
const compareA = Buffer.alloc(compareChunkBytes), compareB = Buffer.alloc(compareChunkBytes)

/**
 * Whether two files hold the same bytes (untimed check that a side really did its work), read 1
 * MiB at a time into two reused buffers: reading both whole (512 MiB of Buffers) left that much
 * garbage for the next timed cycle's process to free (a major GC unmapping it) while it scans.
 */
function sameFiles(a: string, b: string): boolean {
  const fdA = openSync(a, "r"), fdB = openSync(b, "r")
  try {
    for (let at = 0; ; at += compareChunkBytes) {
      const nA = readFully(fdA, compareA, at), nB = readFully(fdB, compareB, at)
      if (nA !== nB || !compareA.subarray(0, nA).equals(compareB.subarray(0, nB))) return false
      if (nA < compareChunkBytes) return true
    }
  } finally {
    closeSync(fdA)
    closeSync(fdB)
  }
}

function spawnAgent(dir: string): Promise<{ child: ChildProcess; port: number }> {
  const main = join(import.meta.dirname, "..", "..", "adapters", "replica", "agent-main.ts")
  const child = spawn(process.execPath, ["--import", "tsx", main, "--dir", dir],
    { stdio: ["ignore", "pipe", "inherit"] })
  return new Promise((resolve, reject) => {
    let out = ""
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString()
      const m = /listening (\d+)\s/.exec(out)
      if (m !== null) resolve({ child, port: Number(m[1]) })
    })
    child.once("exit", (code) => reject(new Error(`agent exited ${code}`)))
  })
}

function setUp(root: string): { masterDir: string; slaveDir: string; rsyncDst: string } {
  const masterDir = join(root, "master"), slaveDir = join(root, "slave")
  mkdirSync(masterDir)
  mkdirSync(slaveDir)
  createMasterImage(masterDir, id, imageSizeBytes)
  const p = imagePaths(masterDir, id)
  const fd = openSync(p.image, "r+")
  const chunk = Buffer.alloc(16 * 1024 * 1024)
  for (let at = 0; at < imageSizeBytes; at += chunk.length) {
    randomFillSync(chunk)
    writeSync(fd, chunk, 0, chunk.length, at)
  }
  closeSync(fd)
  // Start from a synced pair: base and slave hold generation 1 = the image.
  copyFileSync(p.image, p.base)
  writeMeta(masterDir, id, { role: "master", generation: 1, sizeBytes: imageSizeBytes })
  const s = imagePaths(slaveDir, id)
  copyFileSync(p.image, s.image)
  writeMeta(slaveDir, id, { role: "slave", generation: 1, sizeBytes: imageSizeBytes })
  const rsyncDst = join(root, "rsync-dst.img")
  copyFileSync(p.image, rsyncDst)
  return { masterDir, slaveDir, rsyncDst }
}

async function diffThroughput(kernels: BlockKernels, masterDir: string): Promise<BenchRecord[]> {
  const p = imagePaths(masterDir, id)
  const views = kernels.inputViews(imageSizeBytes, imageSizeBytes)
  if (Result.isFailure(views)) throw new Error(views.failure.message)
  const [a, b] = views.success
  for (const [path, view] of [[p.image, a], [p.base, b]] as const) {
    const fd = openSync(path, "r")
    try { readFully(fd, view, 0) } finally { closeSync(fd) }
  }
  const out = new Uint8Array(imageSizeBytes / blockSizeBytes / 8)
  const bench = new Bench({ iterations: 10, warmupIterations: 2 })
  bench.add(`diff ${kernels.backend}`, () => { kernels.diffBlocksInto(a, b, out) })
  bench.add(`file diff ${kernels.backend}`, () => { diffImageFiles(kernels, p.image, p.base,
    diffChunkBytes) })
  const meta = readMeta(masterDir, id)!
  // The scan by each fingerprint, each over a list of its own kind at the base's generation (a
  // list of the other kind would read as absent and be rebuilt from the base every call).
  const scanBy = (fingerprint: BlockFingerprint) => () => {
    const hashed = hashImageFile(kernels, p.base, undefined, fingerprint)
    if (Result.isFailure(hashed)) throw new Error(hashed.failure.message)
    writeHashList(p.hashes, meta.generation, hashed.success, fingerprint)
  }
  if (kernels.backend === "wasm") {
    for (const fingerprint of ["xxh64", "xxh3"] as const) {
      bench.add(`hash scan ${fingerprint}`, () => { changedSinceHashes(masterDir, id, kernels,
        meta.generation, meta.sizeBytes, fingerprint) }, { beforeAll: scanBy(fingerprint) })
    }
  }
  const [inMemory, files, hashScan, hashScanXxh3] = await runBench(bench)
  const scan = hashScan === undefined || hashScanXxh3 === undefined ? [] : [
    record(suite, "changed-block scan by the base's hash list, wasm backend (image only: 1 MiB " +
      "page-cache reads into its view + xxHash64 + compare + copy-out)",
    (hz(hashScan) * imageSizeBytes) / 1e9, "GB/s", "higher"),
    record(suite, "changed-block scan by the base's hash list, wasm backend, XXH3-64 as the " +
      "sender scans (image only: 1 MiB page-cache reads into its view + XXH3-64 + compare + " +
      "copy-out)", (hz(hashScanXxh3) * imageSizeBytes) / 1e9, "GB/s", "higher"),
    record(suite, "changed-block scan by hash list: XXH3-64 / xxHash64", hz(hashScanXxh3) /
      hz(hashScan), "x", "higher"),
  ]
  return [
    ...scan,
    record(suite, `diff throughput, ${kernels.backend} kernel, images in its memory ` +
      "(256 MiB, 1% changed)", (hz(inMemory!) * imageSizeBytes) / 1e9, "GB/s", "higher"),
    record(suite, `file diff throughput, ${kernels.backend} backend (diffImageFiles: 1 MiB ` +
      "page-cache reads into its views + diff)", (hz(files!) * imageSizeBytes) / 1e9, "GB/s",
    "higher"),
  ]
}

/** Alternating scans on 1 and 2 threads per configuration. */
const scanPairCount = 12

/**
 * The XXH3 hash-list scan alone (the sender's), on the main thread alone and with the warm scan
 * worker, alternating in one process over the same list and image: wall time and CPU time of the
 * whole process (both threads) per scan, medians.
 */
async function scanThreads(kernels: BlockKernels, masterDir: string,
  worker: ScanWorker): Promise<BenchRecord[]> {
  const meta = readMeta(masterDir, id)!
  const p = imagePaths(masterDir, id)
  const hashed = hashImageFile(kernels, p.base, undefined, "xxh3")
  if (Result.isFailure(hashed)) throw new Error(hashed.failure.message)
  const wall = [[], []] as [number[], number[]], cpu = [[], []] as [number[], number[]]
  for (let i = 0; i < scanPairCount + 2; i++) {
    for (const threads of [1, 2] as const) {
      writeHashList(p.hashes, meta.generation, hashed.success, "xxh3")
      const c0 = process.cpuUsage(), t0 = performance.now()
      const found = await changedSinceHashesShared(masterDir, id, kernels, meta.generation,
        meta.sizeBytes, "xxh3", threads === 2 ? worker : null)
      const t = performance.now() - t0, c = process.cpuUsage(c0)
      if (i < 2) continue // warm-up pairs
      wall[threads - 1].push(t)
      cpu[threads - 1].push((c.user + c.system) / 1000)
      if (threads === 2 && found.workerChunks === 0) console.log("scan worker did not join a scan")
    }
  }
  const gbPerS = (ms: number) => imageSizeBytes / (ms / 1000) / 1e9
  return [
    record(suite, "changed-block scan by hash list (XXH3-64), 1 thread, alternating with 2 " +
      "threads", gbPerS(median(wall[0])), "GB/s", "higher"),
    record(suite, "changed-block scan by hash list (XXH3-64), 2 threads (main + warm scan " +
      "worker)", gbPerS(median(wall[1])), "GB/s", "higher"),
    record(suite, "changed-block scan, 2 threads / 1 thread, wall time", median(wall[0]) /
      median(wall[1]), "x", "higher"),
    record(suite, "changed-block scan CPU time (whole process), 1 thread", median(cpu[0]), "ms",
      "lower"),
    record(suite, "changed-block scan CPU time (whole process), 2 threads", median(cpu[1]), "ms",
      "lower"),
  ]
}

function backends(): BlockKernels[] {
  const wasm = selectKernels("wasm")
  if (Result.isSuccess(wasm)) return [referenceKernels(), wasm.success.kernels]
  console.log(`WebAssembly kernels unavailable (${wasm.failure.message}): TypeScript only`)
  return [referenceKernels()]
}

/**
 * One timed configuration of the sender: a backend, and for WebAssembly whether the hash scan
 * runs on the main thread alone or with the scan worker beside it (warm: started and loaded
 * before the first timed cycle, as in a long-lived sender).
 */
interface Side {
  readonly name: string
  readonly kernels: BlockKernels
  readonly scanWorker: boolean
  readonly target?: number
}

function sides(kernelsList: ReadonlyArray<BlockKernels>, workerReady: boolean): Side[] {
  const out: Side[] = []
  for (const kernels of kernelsList) {
    if (kernels.backend === "ts") {
      out.push({ name: "ts backend", kernels, scanWorker: false, target: 3 })
      continue
    }
    out.push({ name: "wasm backend, scan on 1 thread", kernels, scanWorker: false,
      target: workerReady ? undefined : 5 })
    if (workerReady) {
      out.push({ name: "wasm backend, scan on 2 threads (main + warm scan worker)", kernels,
        scanWorker: true, target: 5 })
    }
  }
  return out
}

/** How a side's cycle finds the changed blocks (adapters/replica/sender.ts). */
function findsBy(side: Side): string {
  return side.kernels.backend === "wasm" ? "image hashed against the base's hash list, built " +
    "from the base on the first cycle" : "image diffed against the base"
}

/** Runs the suite. */
export async function run(): Promise<BenchRecord[]> {
  const root = mkdtempSync(join(tmpdir(), "corral-bench-replication-"))
  let agent: ChildProcess | undefined
  try {
    const { masterDir, slaveDir, rsyncDst } = setUp(root)
    const started = await spawnAgent(slaveDir)
    agent = started.child
    const haveRsync = spawnSync("rsync", ["--version"]).status === 0
    const rsyncFsync = haveRsync && spawnSync("rsync", ["--fsync", "--version"]).status === 0
    let seed = 42
    const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32)
    const kernelsList = backends()
    const worker = startScanWorker()
    const workerReady = worker !== null && await worker.untilReady().then(() => true, (e) => {
      console.log(`scan worker unavailable (${e instanceof Error ? e.message : e}): 1 thread only`)
      return false
    })
    const timed = sides(kernelsList, workerReady)
    const ours = new Map<Side, number[]>(timed.map((side) => [side, []]))
    const committed = new Map<Side, number[]>(timed.map((side) => [side, []]))
    const theirs: number[] = [], theirsFsync: number[] = []
    const rsync = (extra: string[]): number => {
      execFileSync("sync")
      const t = performance.now()
      execFileSync("rsync", ["--inplace", "--no-whole-file", "-B", "4096", "--ignore-times",
        ...extra, imagePaths(masterDir, id).image, rsyncDst])
      const elapsedMs = performance.now() - t
      if (!sameFiles(imagePaths(masterDir, id).image, rsyncDst)) {
        throw new Error("rsync left the destination different from the source")
      }
      return elapsedMs
    }
    let generation = 1
    for (let i = 0; i < iterationCount; i++) {
      for (const [k, side] of timed.entries()) {
        changeBlocks(imagePaths(masterDir, id).image, random)
        execFileSync("sync")
        const t0 = performance.now()
        const r = await syncOnce({ masterDir, imageId: id, port: started.port,
          generation: generation + 1, fromGeneration: generation, includeSlaveChanges: false,
          bwlimitBytesPerS: null, kernels: side.kernels, scanWorker: side.scanWorker })
        ours.get(side)!.push(performance.now() - t0)
        // The master's own commit (base fdatasync, metadata) runs after the ACK: timed apart.
        await settleCycle(masterDir, id)
        committed.get(side)!.push(performance.now() - t0)
        generation = r.generation
        // Untimed: the agent applies in place after its ACK; let it finish before anyone else
        // (the check below, rsync's next timed run) touches the disk.
        while (readMeta(slaveDir, id)?.generation !== generation) await sleepMs(1)
        if (!sameFiles(imagePaths(masterDir, id).image, imagePaths(slaveDir, id).image)) {
          throw new Error("the slave differs from the master after an acknowledged sync")
        }
        if (!haveRsync) continue
        if (k % 2 === 1 && rsyncFsync) theirsFsync.push(rsync(["--fsync"]))
        else theirs.push(rsync([]))
      }
    }
    const records: BenchRecord[] = []
    for (const [side, times] of ours) {
      records.push(record(suite, `incremental sync (${side.name}: ${findsBy(side)}): ` +
        "256 MiB, 1% of blocks, find+send+pending fsync+journal fdatasync, to the ACK (the " +
        "slave holds it durably); agent already running", median(times), "ms", "lower"))
      records.push(record(suite, `the same, ${side.name}, to the master's commit (base ` +
        "fdatasync + metadata after the ACK)", median(committed.get(side)!), "ms", "lower"))
    }
    if (haveRsync) {
      records.push(record(suite, "rsync --inplace --no-whole-file -B 4096 --ignore-times, same " +
        "change (process start included, no fsync)", median(theirs), "ms", "lower"))
      if (theirsFsync.length > 0) {
        records.push(record(suite, "rsync … --fsync (for reference)", median(theirsFsync), "ms",
          "lower"))
      }
      for (const [side, times] of ours) {
        records.push(record(suite, `speed-up over rsync, ${side.name} (median/median)`,
          median(theirs) / median(times), "x", "higher", side.target))
        records.push(record(suite, `speed-up over rsync, ${side.name}, to the master's ` +
          "commit", median(theirs) / median(committed.get(side)!), "x", "higher"))
      }
    } else {
      console.log("rsync is not installed: the rsync comparison was skipped")
    }
    for (const kernels of kernelsList) {
      records.push(...await diffThroughput(kernels, masterDir))
      if (kernels.backend === "wasm" && workerReady) {
        records.push(...await scanThreads(kernels, masterDir, worker!))
      }
    }
    return records
  } finally {
    if (agent !== undefined && agent.exitCode === null) agent.kill("SIGKILL")
    rmSync(root, { recursive: true, force: true })
  }
}
