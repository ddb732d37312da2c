/**
 * File-backed disk images in a host directory, and the on-disk rules that make replication crash
 * safe. For image `id` a directory holds:
 *
 *   id.img           the image (a sparse file)
 *   id.meta.json     {role, generation, sizeBytes}: `slave` — the generation the image fully
 *                    holds; `master`/`fenced` — the generation of `id.base`
 *   id.base          master side: the last acknowledged snapshot (what the slave holds); on a
 *                    degraded old master, the common generation it diverged from
 *   id.hashes        master side: a cache of one xxHash64 per block of the base at the
 *                    generation it names (hashlist.ts); any other reads as absent
 *   id.pending       master side: the blocks of the cycle in flight (durable before END is
 *                    sent or the base is touched), until the commit after its ACK clears it
 *                    (pending.ts; `id.pending.json` from older versions is still read)
 *   id.journal       slave side: the last received generation, committed before its ACK and
 *                    applied in place after (redo log; see journal.ts)
 *   id.journal.tmp   slave side (older agents): a journal being written; discarded on recovery
 *
 * Every metadata write is atomic (write a temporary file, fsync, rename, fsync the directory).
 */
import {
  chmodSync, closeSync, copyFileSync, existsSync, fdatasyncSync, fstatSync, fsyncSync,
  ftruncateSync, openSync, readFileSync, renameSync, rmSync, writeSync,
} from "node:fs"
import { dirname, join } from "node:path"
import { MAX_IMAGE_BYTES } from "../../core/kernels/index.ts"
import { journalAhead } from "./journal.ts"

/** An image's role in its directory. */
export type ImageRole = "master" | "slave" | "fenced"

/** The metadata file's content. */
export interface ImageMeta {
  readonly role: ImageRole
  readonly generation: number
  readonly sizeBytes: number
}

/** Paths of image `id` in `dir`. */
export function imagePaths(dir: string, id: string) {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(id)) throw new Error(`bad image id ${id}`)
  const base = join(dir, id)
  return {
    image: `${base}.img`, meta: `${base}.meta.json`, base: `${base}.base`,
    pending: `${base}.pending`, pendingLegacy: `${base}.pending.json`,
    journal: `${base}.journal`, journalTmp: `${base}.journal.tmp`,
    hashes: `${base}.hashes`, hashesTmp: `${base}.hashes.tmp`,
  }
}

/** fsyncs a directory so a rename in it is durable. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, "r")
  try { fsyncSync(fd) } finally { closeSync(fd) }
}

/**
 * Writes `data` to `path` atomically (through `path.tmp` and a rename) and, unless `durable` is
 * false, durably (fsync of the file before the rename and of the directory after it).
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, durable = true): void {
  const tmp = `${path}.tmp`
  const fd = openSync(tmp, "w", 0o644)
  try {
    writeSync(fd, typeof data === "string" ? Buffer.from(data, "utf8") : data)
    if (durable) fsyncSync(fd)
  } finally { closeSync(fd) }
  renameSync(tmp, path)
  if (durable) fsyncDir(dirname(path))
}

/**
 * Copies `from` to `to` atomically and durably (the kernel copies: copy_file_range, reflinks
 * where the file system has them; nothing passes through this process's memory).
 */
export function copyFileAtomic(from: string, to: string): void {
  const tmp = `${to}.tmp`
  copyFileSync(from, tmp)
  const fd = openSync(tmp, "r+")
  try { fsyncSync(fd) } finally { closeSync(fd) }
  renameSync(tmp, to)
  fsyncDir(dirname(to))
}

/** Reads an image's metadata, or null when the image does not exist. */
export function readMeta(dir: string, id: string): ImageMeta | null {
  const p = imagePaths(dir, id)
  if (!existsSync(p.meta)) return null
  const meta = JSON.parse(readFileSync(p.meta, "utf8")) as ImageMeta
  const roles: ReadonlyArray<string> = ["master", "slave", "fenced"]
  if (!roles.includes(meta.role) || !Number.isSafeInteger(meta.generation)) {
    throw new Error(`${p.meta}: corrupt metadata`)
  }
  return meta
}

/** Writes an image's metadata atomically. */
export function writeMeta(dir: string, id: string, meta: ImageMeta): void {
  writeFileAtomic(imagePaths(dir, id).meta, JSON.stringify(meta) + "\n")
}

/** Creates a sparse, zero-filled file of `sizeBytes` (truncating any existing one). */
export function createSparse(path: string, sizeBytes: number): void {
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0 || sizeBytes > MAX_IMAGE_BYTES) {
    throw new Error(`image size ${sizeBytes} outside 1..${MAX_IMAGE_BYTES}`)
  }
  const fd = openSync(path, "w", 0o644)
  try { ftruncateSync(fd, sizeBytes); fsyncSync(fd) } finally { closeSync(fd) }
}

/** Creates a master image (sparse) with an all-zero base at generation 0. */
export function createMasterImage(dir: string, id: string, sizeBytes: number): void {
  const p = imagePaths(dir, id)
  rmSync(p.hashes, { force: true })
  createSparse(p.image, sizeBytes)
  createSparse(p.base, sizeBytes)
  writeMeta(dir, id, { role: "master", generation: 0, sizeBytes })
}

/** Creates an empty slave image (sparse) holding generation 0. */
export function createSlaveImage(dir: string, id: string, sizeBytes: number): void {
  const p = imagePaths(dir, id)
  for (const path of [p.journal, p.journalTmp, p.base, p.hashes]) rmSync(path, { force: true })
  createSparse(p.image, sizeBytes)
  writeMeta(dir, id, { role: "slave", generation: 0, sizeBytes })
}

/** Removes every file of an image. */
export function destroyImage(dir: string, id: string): void {
  const p = imagePaths(dir, id)
  for (const path of Object.values(p)) {
    if (existsSync(path)) chmodSync(path, 0o644)
    rmSync(path, { force: true })
  }
}

/**
 * Writes `(index, payload)` blocks into the file at `path` in place, then fdatasyncs it (the
 * size never changes, so the data is all that must reach the disk).
 */
export function writePayloadsInPlace(
  path: string, blocks: Iterable<readonly [number, Uint8Array]>, blockSizeBytes: number,
): void {
  const fd = openSync(path, "r+")
  try {
    const size = fstatSync(fd).size
    for (const [index, payload] of blocks) {
      const start = index * blockSizeBytes
      if (payload.length > blockSizeBytes || start + payload.length > size) {
        throw new Error(`block ${index} (${payload.length} bytes) outside the image`)
      }
      writeSync(fd, payload, 0, payload.length, start)
    }
    fdatasyncSync(fd)
  } finally { closeSync(fd) }
}

/**
 * Failover, on the slave's side: finishes any complete journal (the caller recovers first),
 * makes the image a writable master and snapshots it as the base (the generation it holds).
 */
export function promoteImage(dir: string, id: string): ImageMeta {
  const meta = readMeta(dir, id)
  if (meta === null) throw new Error(`no image ${id} in ${dir}`)
  if (meta.role !== "slave") throw new Error(`image ${id} in ${dir} is ${meta.role}, not a slave`)
  const p = imagePaths(dir, id)
  if (existsSync(p.journalTmp) || journalAhead(p.journal, meta.generation)) {
    throw new Error(`image ${id} in ${dir}: recover the journal before promoting`)
  }
  // A hash list left from an earlier life as master describes another base (the directory
  // flush of the copy makes its removal durable).
  rmSync(p.hashes, { force: true })
  copyFileAtomic(p.image, p.base)
  chmodSync(p.image, 0o644)
  const promoted: ImageMeta = { ...meta, role: "master" }
  writeMeta(dir, id, promoted)
  return promoted
}

/** Failover, on the old master's side: no more writes, no more syncs from it. */
export function fenceImage(dir: string, id: string): void {
  const meta = readMeta(dir, id)
  if (meta === null) throw new Error(`no image ${id} in ${dir}`)
  // A pending record stays: its blocks may be ahead in the base, and reinit reports them.
  chmodSync(imagePaths(dir, id).image, 0o444)
  writeMeta(dir, id, { ...meta, role: "fenced" })
}

/**
 * Reinit, on the old master's side: it becomes a slave that holds `commonGeneration` plus its own
 * later writes; `id.base` (that generation) stays so the agent can report what it changed.
 */
export function degradeImage(dir: string, id: string, commonGeneration: number): void {
  const meta = readMeta(dir, id)
  if (meta === null || meta.role !== "fenced") {
    throw new Error(`image ${id} in ${dir} is not fenced`)
  }
  if (meta.generation !== commonGeneration) {
    throw new Error(`image ${id}: base holds generation ${meta.generation}, ` +
      `not the common generation ${commonGeneration}`)
  }
  rmSync(imagePaths(dir, id).hashes, { force: true })
  chmodSync(imagePaths(dir, id).image, 0o644)
  writeMeta(dir, id, { ...meta, role: "slave" })
}
