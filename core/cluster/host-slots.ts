/**
 * The layout of the host index's summaries (`host-index.ts`): block and superblock sizes, the
 * summary slots of a block (`blockStat`) and the thresholds of its per-threshold pairs. A module
 * of its own so that the index and its superblocks (`host-superblocks.ts`) share it.
 */

/** Hosts per block. */
export const hostBlockSize = 64
/** Blocks per superblock (a superblock never spans two classes). */
export const superBlockSize = 8
/** Zones a block's zone mask can tell apart; with more zones, no block is skipped by zone. */
export const blockZonesMax = 30

/** Per-block summary slots in `HostIndex.stats` (stride `blockStatCount`). */
export const blockStat = {
  // The slots every search reads of every block come first (one cache line).
  /** 1 when every host of the block has the same free vCPUs, RAM and capacities. */
  uniform: 0,
  upCount: 1,
  maxFreeVcpus: 2, maxFreeRamMb: 3,
  minVcpuInv: 4, maxVcpuInv: 5, minRamInv: 6, maxRamInv: 7,
  /** max of `|freeVcpus|/vcpuCapacity + |freeRamMb|/ramCapacityMb` (for the rounding margin). */
  maxMagnitude: 8,
  /** min and max over the block of `2 - freeVcpus/vcpuCapacity - freeRamMb/ramCapacityMb`. */
  minUsed: 9, maxUsed: 10,
  /** Largest free disk per pool kind column (3 slots), then of any kind. */
  maxFreeDisk: 11, maxFreeDiskAny: 14,
  /**
   * min and max of the `minUsed` term over the hosts with at least `usedThresholds[k]` free
   * vCPUs, at `usedByThreshold + 2k` and `+ 2k + 1` (a request for v vCPUs can only land on
   * those, so its bound takes the largest threshold ≤ v).
   */
  usedByThreshold: 15,
  /**
   * The same over the hosts with at least `ramThresholdsMb[k]` MB of RAM free, at
   * `usedByRam + 2k` and `+ 2k + 1` (a request's candidates lie in both sets, so its bound takes
   * the tighter of the two: the smaller maximum, the larger minimum).
   */
  usedByRam: 25,
  /**
   * Hosts of the block whose free vCPUs, RAM and capacities equal its first host's (`uniform`
   * is this count reaching the block's size), kept per change without a scan of the block.
   */
  alike: 25 + 2 * 8,
} as const
/** Free-vCPU thresholds of the `usedByThreshold` slots (0: every host, as minUsed/maxUsed). */
export const usedThresholds: ReadonlyArray<number> = [0, 1, 2, 4, 8]
/** Free-RAM thresholds (MB) of the `usedByRam` slots, ascending. */
export const ramThresholdsMb: ReadonlyArray<number> =
  [0, 1024, 2048, 4096, 8192, 16_384, 32_768, 65_536]
/** Slots per block in `HostIndex.stats`. */
export const blockStatCount = 26 + 2 * ramThresholdsMb.length
if (blockStat.alike !== blockStat.usedByRam + 2 * ramThresholdsMb.length) {
  throw new Error("host index: the alike slot must follow the free-RAM threshold pairs")
}
