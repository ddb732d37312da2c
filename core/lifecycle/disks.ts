/**
 * Minidisks out of the host's disk pools: the `disk_list` format of `guest_create` and
 * `guest_create_disks`, vdev assignment, and pool accounting. A pool that cannot hold a disk is
 * an InsufficientCapacity naming the pool (`disk:ECKD:POOL1`).
 */
import { Schema } from "effect"
import {
  err, InsufficientCapacity, invalid, NotFound, ok, type BadRequest, type Outcome,
} from "../errors.ts"
import { DiskPoolName, DiskSize, normalisePoolName, resolveDiskSize } from "./fields.ts"
import { canonicalVdev, sdkLimits, type Disk, type Guest, type SdkState } from "../sdk/state.ts"

/** A filesystem a disk may be formatted with. */
export const DiskFormat = Schema.Literals(["ext2", "ext3", "ext4", "xfs", "swap", "none"])

/** One entry of a `disk_list`. */
export const DiskSpec = Schema.Struct({
  size: DiskSize,
  format: Schema.optionalKey(DiskFormat),
  is_boot_disk: Schema.optionalKey(Schema.Boolean),
  disk_pool: Schema.optionalKey(DiskPoolName),
})
export type DiskSpec = typeof DiskSpec.Type

/** A `disk_list`, at most `sdkLimits.disksPerGuestMax` entries. */
export const DiskList = Schema.Array(DiskSpec).check(
  Schema.makeFilter((a: ReadonlyArray<unknown>) =>
    a.length <= sdkLimits.disksPerGuestMax ||
    `at most ${sdkLimits.disksPerGuestMax} disks`),
)

/** Highest vdev number (0xFFFF). */
const vdevMax = 0xffff

/** Every vdev number a guest uses: its disks and its NICs (three each). */
export function usedVdevs(guest: Pick<Guest, "disks" | "nics">): Set<number> {
  const used = new Set<number>()
  for (const d of guest.disks) used.add(parseInt(d.vdev, 16))
  for (const n of guest.nics) {
    const base = parseInt(n.vdev, 16)
    for (let k = 0; k < 3; k++) used.add(base + k)
  }
  return used
}

/** The next free vdev at or after `from`, or undefined when the device space is exhausted. */
export function nextFreeVdev(
  used: ReadonlySet<number>,
  from: number,
  span = 1,
): number | undefined {
  for (let v = from; v + span - 1 <= vdevMax; v++) {
    let free = true
    for (let k = 0; k < span; k++) if (used.has(v + k)) free = false
    if (free) return v
  }
  return undefined
}

/** Disks laid out for a guest, and the MB they take from each pool. */
export interface DiskLayout {
  readonly disks: ReadonlyArray<Disk>
  readonly perPoolMb: ReadonlyMap<string, number>
}

/**
 * Resolves a `disk_list` for `guest`: pools (or the configured default), sizes, vdevs after the
 * guest's last disk (the root vdev for its first), and a check that every pool has room.
 */
export function layoutDisks(
  state: SdkState,
  guest: Pick<Guest, "disks" | "nics">,
  specs: ReadonlyArray<DiskSpec>,
  path: string,
): Outcome<DiskLayout, BadRequest | NotFound | InsufficientCapacity> {
  const used = usedVdevs(guest)
  const root = parseInt(state.config.rootVdev, 16)
  let cursor = guest.disks.length === 0 ? root
    : Math.max(...guest.disks.map((d) => parseInt(d.vdev, 16))) + 1
  const disks: Disk[] = []
  const perPoolMb = new Map<string, number>()
  for (const [i, spec] of specs.entries()) {
    const at = `${path}[${i}]`
    if (spec.is_boot_disk === true && (i > 0 || guest.disks.length > 0)) {
      return err(invalid(`${at}.is_boot_disk`, "only the root disk (the first disk) may boot"))
    }
    const named = spec.disk_pool ?? state.config.defaultDiskPool
    if (named === undefined) {
      return err(invalid(`${at}.disk_pool`, "a disk pool: none is configured by default"))
    }
    const pool = normalisePoolName(named)
    if (!state.poolUsedMb.has(pool)) return err(new NotFound({ resource: "disk pool", id: pool }))
    const vdev = nextFreeVdev(used, cursor)
    if (vdev === undefined) return err(invalid(at, "a free device number for the disk"))
    used.add(vdev)
    cursor = vdev + 1
    const size = resolveDiskSize(spec.size, pool.startsWith("ECKD:") ? "ECKD" : "FBA")
    perPoolMb.set(pool, (perPoolMb.get(pool) ?? 0) + size.sizeMb)
    disks.push({
      vdev: canonicalVdev(vdev.toString(16)), pool, size: spec.size, ...size,
      ...(spec.format === undefined ? {} : { format: spec.format }),
      isBootDisk: i === 0 && guest.disks.length === 0 && spec.is_boot_disk !== false,
    })
  }
  const full = checkPools(state, perPoolMb)
  return full === undefined ? ok({ disks, perPoolMb }) : err(full)
}

function checkPools(
  state: SdkState,
  perPoolMb: ReadonlyMap<string, number>,
): InsufficientCapacity | undefined {
  for (const [pool, requested] of perPoolMb) {
    const capacity = state.config.host.diskPools.find((p) => p.name === pool)?.sizeMb
    if (capacity === undefined) throw new Error(`pool ${pool} has usage but no capacity`)
    const free = capacity - (state.poolUsedMb.get(pool) ?? 0)
    if (requested > free) {
      return new InsufficientCapacity({
        resource: `disk:${pool}`, requested, free, capacity, host: state.config.host.name,
      })
    }
  }
  return undefined
}

/** Pool usage after adding (`sign` 1) or returning (`sign` -1) disks. */
export function poolUsageWith(
  usage: ReadonlyMap<string, number>,
  disks: ReadonlyArray<Pick<Disk, "pool" | "sizeMb">>,
  sign: 1 | -1,
): ReadonlyMap<string, number> {
  const next = new Map(usage)
  for (const d of disks) {
    const after = (next.get(d.pool) ?? 0) + sign * d.sizeMb
    if (after < 0) throw new Error(`pool ${d.pool} usage would go negative`)
    next.set(d.pool, after)
  }
  return next
}
