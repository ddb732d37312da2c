/**
 * The connector's field formats as Effect Schemas: userid, vdev, MAC address, VLAN ids, the
 * vswitch `user_vlan_id` forms, queue memory, disk sizes and image URLs. Request schemas in
 * `core/sdk` are built from these, so a bad field is a BadRequest naming its path and the form
 * expected.
 */
import { Schema } from "effect"

/** Longest z/VM userid. */
export const useridLengthMax = 8

/** The form of a userid. */
export const useridPattern = /^[A-Za-z0-9@#$+_-]{1,8}$/

/** A userid: 1-8 characters, letters, digits and `@ # $ + - _`. Stored upper-case. */
export const Userid = Schema.String.check(
  Schema.makeFilter((s: string) =>
    useridPattern.test(s) ||
    "a userid of 1-8 characters (letters, digits, @ # $ + - _)"),
)

/** A virtual device number: 1-4 hexadecimal digits. */
export const Vdev = Schema.String.check(
  Schema.makeFilter((s: string) =>
    /^[0-9A-Fa-f]{1,4}$/.test(s) || "a device number of 1-4 hexadecimal digits"),
)

/** A MAC address `xx:xx:xx:xx:xx:xx`, x a hexadecimal digit. */
export const MacAddress = Schema.String.check(
  Schema.makeFilter((s: string) =>
    /^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$/.test(s) ||
    "a MAC address xx:xx:xx:xx:xx:xx (x a hexadecimal digit)"),
)

/** Lowest and highest VLAN id. */
export const vlanIdMin = 1
export const vlanIdMax = 4094

/** A VLAN id, 1-4094. */
export const VlanId = Schema.Int.check(
  Schema.makeFilter((n: number) =>
    (n >= vlanIdMin && n <= vlanIdMax) || "a VLAN id between 1 and 4094"),
)

/** QDIO buffer size, 1-8 MB (`queue_mem`, `queue_memory_limit`). */
export const QueueMemMb = Schema.Int.check(
  Schema.makeFilter((n: number) => (n >= 1 && n <= 8) || "a number between 1 and 8 (MB)"),
)

/** Most single VLAN ids and most ranges a `user_vlan_id` may list. */
export const userVlanLimits = { singlesMax: 4, rangesMax: 2 } as const

/** One parsed `user_vlan_id`: single ids and inclusive ranges. */
export interface UserVlanIds {
  readonly singles: ReadonlyArray<number>
  readonly ranges: ReadonlyArray<readonly [number, number]>
}

/**
 * Parses `user_vlan_id`: blank-separated single ids (at most four) and `lo-hi` ranges (at most
 * two), each id 1-4094, `lo <= hi`. Returns a message naming what was expected on failure.
 */
export function parseUserVlanIds(text: string): UserVlanIds | string {
  const expected =
    "up to four VLAN ids 1-4094 (\"1010 2020\") or up to two ranges (\"10-12 20-22\")"
  const tokens = text.trim().split(/\s+/)
  if (text.trim() === "" || tokens.length > userVlanLimits.singlesMax + userVlanLimits.rangesMax) {
    return expected
  }
  const singles: number[] = []
  const ranges: Array<readonly [number, number]> = []
  for (const token of tokens) {
    const range = /^(\d{1,4})-(\d{1,4})$/.exec(token)
    if (range !== null) {
      const lo = Number(range[1]), hi = Number(range[2])
      if (lo < vlanIdMin || hi > vlanIdMax || lo > hi) return expected
      ranges.push([lo, hi])
    } else if (/^\d{1,4}$/.test(token)) {
      const id = Number(token)
      if (id < vlanIdMin || id > vlanIdMax) return expected
      singles.push(id)
    } else return expected
  }
  if (singles.length > userVlanLimits.singlesMax || ranges.length > userVlanLimits.rangesMax) {
    return expected
  }
  return { singles, ranges }
}

/** The `user_vlan_id` string, checked by `parseUserVlanIds`. */
export const UserVlanIdText = Schema.String.check(
  Schema.makeFilter((s: string) => {
    const parsed = parseUserVlanIds(s)
    return typeof parsed === "string" ? parsed : true
  }),
)

/**
 * A disk size: `512M`, `1g` (case-insensitive) or a bare count of cylinders (ECKD) or blocks
 * (FBA).
 */
export const DiskSize = Schema.String.check(
  Schema.makeFilter((s: string) =>
    /^[1-9][0-9]{0,9}[MmGg]?$/.test(s) ||
    "a size like 512M or 1g, or a number of cylinders/blocks like 2000"),
)

/** Bytes in one ECKD 3390 cylinder formatted with 4 KiB blocks (15 tracks × 12 blocks). */
export const eckdCylinderBytes = 15 * 12 * 4096
/** Bytes in one FBA block. */
export const fbaBlockBytes = 512
/** Bytes in a MiB. */
export const mibBytes = 1024 * 1024

/** A disk size resolved for a pool kind: bytes, and the MB it takes from the pool (rounded up). */
export interface ResolvedSize {
  readonly sizeBytes: number
  readonly sizeMb: number
}

/** Resolves a `DiskSize` string for a pool of the given kind (bare numbers are cyl or blocks). */
export function resolveDiskSize(size: string, kind: "ECKD" | "FBA"): ResolvedSize {
  const match = /^([0-9]+)([MmGg]?)$/.exec(size)
  if (match === null) throw new Error(`resolveDiskSize: unchecked size ${size}`)
  const count = Number(match[1])
  const unit = match[2]!.toUpperCase()
  const sizeBytes = unit === "M" ? count * mibBytes : unit === "G" ? count * 1024 * mibBytes
    : count * (kind === "ECKD" ? eckdCylinderBytes : fbaBlockBytes)
  return { sizeBytes, sizeMb: Math.ceil(sizeBytes / mibBytes) }
}

/** A disk pool reference: `ECKD:name` or `FBA:name` (name 1-8 characters). */
export const DiskPoolName = Schema.String.check(
  Schema.makeFilter((s: string) =>
    /^(ECKD|FBA):[A-Za-z0-9_$#@-]{1,8}$/i.test(s) ||
    "a disk pool ECKD:name or FBA:name (name 1-8 characters)"),
)

/** Normalises a pool reference's type prefix to upper case (`eckd:p1` → `ECKD:p1`). */
export function normalisePoolName(name: string): string {
  const colon = name.indexOf(":")
  return `${name.slice(0, colon).toUpperCase()}${name.slice(colon)}`
}
