/**
 * Exact block maxima remembered between searches (`host-search.ts`). When the search scores every
 * host of a block for a request of v vCPUs and m MB under one policy sign, it learns (nearly for
 * free: from the hosts that reach its filters) an exact bound of the scores there over the hosts
 * that are up with at least v vCPUs and m MB free (a superset of the request's candidates). Kept
 * per (v, m, sign) and per block until a host of the block changes (read from the scan's change
 * log), it lets a later search skip a block whose bound, with its rounding margin, ties the best
 * score found so far, where the block's hosts score at most the best and those level with it come
 * after the best host: hosts packed alike (the same free vCPUs and RAM) score exactly the same,
 * and once many hosts are packed alike most blocks hold one.
 */
import { changeLogCapacity, type ScanIndex } from "../cluster/scan.ts"
import type { HostIndex } from "../cluster/host-index.ts"

/**
 * What one full visit of a block taught about a request shape, per block: every host of the
 * block that is up with the shape's vCPUs and RAM free scores below `below`, or at most `max`
 * and then on host `first` or later.
 */
export interface BlockMaxima {
  readonly below: Float64Array
  readonly max: Float64Array
  readonly first: Int32Array
  /** The block's change count (`BlockMaxCache.changes`) the entry was taken at; -1: none. */
  readonly seen: Int32Array
}

/** Request shapes remembered before the cache starts over. */
const shapesMax = 256

/** The maxima of one host index over one scan's columns. */
export interface BlockMaxCache {
  scan: ScanIndex
  /** The scan's `version` last read from its change log. */
  synced: number
  /** Per block, changes to its hosts seen so far. */
  readonly changes: Int32Array
  readonly shapes: Map<number, BlockMaxima>
}

/** Per host index (a controller may keep several states' indexes alive and alternate). */
const caches = new WeakMap<HostIndex, BlockMaxCache>()

/**
 * The cache of `index` (which must describe `scan`) brought up to `scan`'s version: blocks whose
 * hosts changed since its last search lose their maxima; another scan, or more changes than the
 * log holds, clears it.
 */
export function blockMaxCacheOf(scan: ScanIndex, index: HostIndex): BlockMaxCache {
  let c = caches.get(index)
  if (c === undefined) {
    c = { scan, synced: scan.version, changes: new Int32Array(index.blockStart.length - 1),
      shapes: new Map() }
    caches.set(index, c)
    return c
  }
  if (c.scan !== scan || scan.version - c.synced > changeLogCapacity || scan.version < c.synced) {
    c.scan = scan
    c.synced = scan.version
    c.changes.fill(0)
    c.shapes.clear()
    return c
  }
  const { changeLog } = scan
  const { blockOf } = index
  for (let s = c.synced; s < scan.version; s++) {
    c.changes[blockOf[changeLog[s % changeLogCapacity]!]!]!++
  }
  c.synced = scan.version
  return c
}

/**
 * The maxima for requests of `vcpus` and `ramMb` under policy `sign` (made on first use), or
 * undefined for a request the cache does not key (fractional or huge sizes).
 */
export function blockMaximaOf(cache: BlockMaxCache, vcpus: number, ramMb: number, sign: number)
  : BlockMaxima | undefined {
  if (!Number.isInteger(vcpus) || !Number.isInteger(ramMb) || vcpus < 0 || ramMb < 0 ||
    vcpus >= 1_048_576 || ramMb >= 2_147_483_648) return undefined
  // Below 3 * 2^51: exact as a double.
  const key = (vcpus * 2_147_483_648 + ramMb) * 3 + sign + 1
  let shape = cache.shapes.get(key)
  if (shape === undefined) {
    if (cache.shapes.size >= shapesMax) cache.shapes.clear()
    const blocks = cache.changes.length
    shape = { below: new Float64Array(blocks), max: new Float64Array(blocks),
      first: new Int32Array(blocks), seen: new Int32Array(blocks).fill(-1) }
    cache.shapes.set(key, shape)
  }
  return shape
}
