/**
 * Guests in the user directory: create, delete, disks, minidisk configuration, definition info.
 * Pure: each function takes the state and a decoded request and returns the next state, the
 * caller's output and the driver commands, or a typed error with the state untouched.
 */
import { Result, Schema } from "effect"
import { Conflict, err, invalid, NotFound, ok, type CorralError, type Outcome } from "../errors.ts"
import { DiskFormat, DiskList, layoutDisks, poolUsageWith } from "./disks.ts"
import { Userid, Vdev } from "./fields.ts"
import type { PowerState } from "./power.ts"
import {
  canonical, canonicalVdev, sdkLimits, withEntry, withoutEntry,
  type Guest, type SdkState, type Step,
} from "../sdk/state.ts"

/** Most vCPUs and memory a guest may be defined with. */
export const guestLimits = { vcpusMax: 64, memoryMbMax: 2_097_152 } as const

/** `guest_create` parameters. */
export const GuestCreateRequest = Schema.Struct({
  userid: Userid,
  vcpus: Schema.Int.check(Schema.makeFilter((n: number) =>
    (n >= 1 && n <= guestLimits.vcpusMax) || `a vCPU count from 1 to ${guestLimits.vcpusMax}`)),
  memory: Schema.Int.check(Schema.makeFilter((n: number) =>
    (n >= 1 && n <= guestLimits.memoryMbMax) ||
    `a memory size in MB from 1 to ${guestLimits.memoryMbMax}`)),
  disk_list: Schema.optionalKey(DiskList),
  user_profile: Schema.optionalKey(Schema.String.check(Schema.makeFilter((s: string) =>
    /^[A-Za-z0-9@#$+_-]{1,8}$/.test(s) || "a profile name of 1-8 characters"))),
})
export type GuestCreateRequest = typeof GuestCreateRequest.Type

/** The guest named `userid`, or NotFound. */
export function findGuest(state: SdkState, userid: string): Outcome<Guest, NotFound> {
  const guest = state.guests.get(canonical(userid))
  return guest === undefined ? err(new NotFound({ resource: "guest", id: canonical(userid) }))
    : ok(guest)
}

/** Output of `guest_create` and `guest_create_disks`: the disks with their assigned vdevs. */
export interface CreatedDisk {
  readonly vdev: string
  readonly size: string
  readonly disk_pool: string
  readonly is_boot_disk: boolean
}

/** `guest_create`: a new guest, off, with its disks. Conflict if the userid exists. */
export function guestCreate(
  state: SdkState,
  request: GuestCreateRequest,
): Outcome<Step<ReadonlyArray<CreatedDisk>>, CorralError> {
  const userid = canonical(request.userid)
  if (state.guests.has(userid)) {
    return err(new Conflict({ message: `Guest '${userid}' already exists.` }))
  }
  if (state.guests.size >= sdkLimits.guestsMax) {
    return err(new Conflict({ message: `The host already has ${sdkLimits.guestsMax} guests.` }))
  }
  const empty = { disks: [], nics: [] }
  const layout = layoutDisks(state, empty, request.disk_list ?? [], "disk_list")
  if (Result.isFailure(layout)) return err(layout.failure)
  const disks = layout.success.disks
  const boot = disks.find((d) => d.isBootDisk)
  const guest: Guest = {
    userid, vcpus: request.vcpus, memoryMb: request.memory,
    userProfile: canonical(request.user_profile ?? state.config.defaultUserProfile),
    disks, nics: [], power: "off", networks: [], minidiskConfig: [],
    ...(boot === undefined ? {} : { ipl: boot.vdev }),
  }
  return ok({
    state: {
      ...state,
      guests: withEntry(state.guests, userid, guest),
      poolUsedMb: poolUsageWith(state.poolUsedMb, disks, 1),
    },
    output: disks.map(createdDisk),
    commands: [
      { kind: "define", guest: { userid, vcpus: guest.vcpus, memoryMb: guest.memoryMb } },
      ...disks.map((d) => ({ kind: "createDisk" as const, userid,
        disk: { vdev: d.vdev, sizeBytes: d.sizeBytes } })),
    ],
  })
}

function createdDisk(d: Guest["disks"][number]): CreatedDisk {
  return { vdev: d.vdev, size: d.size, disk_pool: d.pool, is_boot_disk: d.isBootDisk }
}

/** `guest_delete`: removes the guest, returns its disks to their pools, drops its volumes. */
export function guestDelete(state: SdkState, userid: string): Outcome<Step<null>, NotFound> {
  const found = findGuest(state, userid)
  if (Result.isFailure(found)) return err(found.failure)
  const guest = found.success
  const volumes = new Map(state.volumes)
  for (const [lun, v] of state.volumes) if (v.userid === guest.userid) volumes.delete(lun)
  return ok({
    state: {
      ...state,
      guests: withoutEntry(state.guests, guest.userid),
      poolUsedMb: poolUsageWith(state.poolUsedMb, guest.disks, -1),
      volumes,
    },
    output: null,
    commands: [{ kind: "undefine", userid: guest.userid }],
  })
}

/** `guest_create_disks` parameters. */
export const GuestCreateDisksRequest = Schema.Struct({ userid: Userid, disk_list: DiskList })

/** `guest_create_disks`: more disks for an existing guest, vdevs after its last disk. */
export function guestCreateDisks(
  state: SdkState,
  request: typeof GuestCreateDisksRequest.Type,
): Outcome<Step<ReadonlyArray<CreatedDisk>>, CorralError> {
  const found = findGuest(state, request.userid)
  if (Result.isFailure(found)) return err(found.failure)
  const guest = found.success
  if (guest.disks.length + request.disk_list.length > sdkLimits.disksPerGuestMax) {
    return err(invalid("disk_list", `at most ${sdkLimits.disksPerGuestMax} disks per guest`))
  }
  const layout = layoutDisks(state, guest, request.disk_list, "disk_list")
  if (Result.isFailure(layout)) return err(layout.failure)
  const disks = layout.success.disks
  const boot = disks.find((d) => d.isBootDisk)
  const next: Guest = {
    ...guest, disks: [...guest.disks, ...disks],
    ...(boot === undefined ? {} : { ipl: boot.vdev }),
  }
  return ok({
    state: {
      ...state,
      guests: withEntry(state.guests, guest.userid, next),
      poolUsedMb: poolUsageWith(state.poolUsedMb, disks, 1),
    },
    output: disks.map(createdDisk),
    commands: disks.map((d) => ({ kind: "createDisk" as const, userid: guest.userid,
      disk: { vdev: d.vdev, sizeBytes: d.sizeBytes } })),
  })
}

/** `guest_delete_disks` parameters. */
export const GuestDeleteDisksRequest = Schema.Struct({
  userid: Userid,
  disk_vdev_list: Schema.Array(Vdev).check(Schema.makeFilter((a: ReadonlyArray<string>) =>
    (a.length >= 1 && a.length <= sdkLimits.disksPerGuestMax) ||
    `1 to ${sdkLimits.disksPerGuestMax} device numbers`)),
})

/** `guest_delete_disks`: removes the listed disks (all must exist) and frees their pool space. */
export function guestDeleteDisks(
  state: SdkState,
  request: typeof GuestDeleteDisksRequest.Type,
): Outcome<Step<null>, CorralError> {
  const found = findGuest(state, request.userid)
  if (Result.isFailure(found)) return err(found.failure)
  const guest = found.success
  const vdevs = request.disk_vdev_list.map(canonicalVdev)
  for (const [i, vdev] of vdevs.entries()) {
    if (!guest.disks.some((d) => d.vdev === vdev)) {
      return err(new NotFound({ resource: `disk_vdev_list[${i}]: disk of ${guest.userid}`,
        id: vdev }))
    }
  }
  const removed = guest.disks.filter((d) => vdevs.includes(d.vdev))
  const kept = guest.disks.filter((d) => !vdevs.includes(d.vdev))
  const { ipl: _ipl, ...rest } = guest
  const next: Guest = guest.ipl !== undefined && vdevs.includes(guest.ipl)
    ? { ...rest, disks: kept } : { ...guest, disks: kept }
  return ok({
    state: {
      ...state,
      guests: withEntry(state.guests, guest.userid, next),
      poolUsedMb: poolUsageWith(state.poolUsedMb, removed, -1),
    },
    output: null,
    commands: vdevs.map((vdev) => ({ kind: "deleteDisk" as const, userid: guest.userid, vdev })),
  })
}

/** `guest_config_minidisks` parameters. */
export const GuestConfigMinidisksRequest = Schema.Struct({
  userid: Userid,
  disk_info: Schema.Array(Schema.Struct({
    vdev: Vdev,
    format: DiskFormat,
    mntdir: Schema.String.check(Schema.makeFilter((s: string) =>
      /^\/[^\0]{0,254}$/.test(s) || "an absolute mount directory, e.g. /mnt/0101")),
  })).check(Schema.makeFilter((a: ReadonlyArray<unknown>) =>
    a.length <= sdkLimits.disksPerGuestMax || `at most ${sdkLimits.disksPerGuestMax} disks`)),
})

/**
 * `guest_config_minidisks`: records the script that formats and mounts the listed disks at the
 * guest's next boot. Every vdev must be a disk of the guest.
 */
export function guestConfigMinidisks(
  state: SdkState,
  request: typeof GuestConfigMinidisksRequest.Type,
): Outcome<Step<null>, CorralError> {
  const found = findGuest(state, request.userid)
  if (Result.isFailure(found)) return err(found.failure)
  const guest = found.success
  const entries = request.disk_info.map((d) => ({ ...d, vdev: canonicalVdev(d.vdev) }))
  for (const [i, d] of entries.entries()) {
    if (!guest.disks.some((disk) => disk.vdev === d.vdev)) {
      return err(invalid(`disk_info[${i}].vdev`, `a disk of ${guest.userid} (no disk ${d.vdev})`))
    }
  }
  const disks = guest.disks.map((disk) => {
    const e = entries.find((x) => x.vdev === disk.vdev)
    return e === undefined ? disk : { ...disk, format: e.format, mntdir: e.mntdir }
  })
  const next: Guest = { ...guest, disks, minidiskConfig: [...guest.minidiskConfig, ...entries] }
  return ok({
    state: { ...state, guests: withEntry(state.guests, guest.userid, next) },
    output: null,
    commands: [],
  })
}

/** `guest_get_definition_info` output: the directory entry, plus `nic_coupled` when asked. */
export interface DefinitionInfo {
  readonly user_direct: ReadonlyArray<string>
  readonly nic_coupled?: boolean
}

/**
 * `guest_get_definition_info`: the guest's directory statements, and with `nic_coupled=<vdev>`
 * whether that NIC is coupled to a vswitch (NotFound if the guest has no such NIC).
 */
export function guestDefinitionInfo(
  state: SdkState,
  userid: string,
  nicCoupled?: string,
): Outcome<DefinitionInfo, CorralError> {
  const found = findGuest(state, userid)
  if (Result.isFailure(found)) return err(found.failure)
  const g = found.success
  const lines = [
    `USER ${g.userid} NOLOG ${g.memoryMb}M ${g.memoryMb}M G`,
    `INCLUDE ${g.userProfile}`,
    ...Array.from({ length: g.vcpus }, (_, k) => `CPU ${k.toString(16).toUpperCase()
      .padStart(2, "0")}`),
    ...(g.ipl === undefined ? [] : [`IPL ${g.ipl}`]),
    ...g.nics.map((n) => `NICDEF ${n.vdev} TYPE QDIO DEVICES 3` +
      (n.vswitch === undefined ? "" : ` LAN SYSTEM ${n.vswitch}`) +
      (n.macAddr === undefined ? "" : ` MACID ${n.macAddr.replaceAll(":", "").slice(6)}`)),
    ...g.disks.map((d) => `MDISK ${d.vdev} ${d.pool.startsWith("ECKD:") ? "3390" : "FB-512"} ` +
      `AUTOG ${d.size} ${d.pool.slice(d.pool.indexOf(":") + 1)} MR`),
  ]
  if (nicCoupled === undefined) return ok({ user_direct: lines })
  const vdev = canonicalVdev(nicCoupled)
  const nic = g.nics.find((n) => n.vdev === vdev)
  if (nic === undefined) return err(new NotFound({ resource: `NIC of ${g.userid}`, id: vdev }))
  return ok({ user_direct: lines, nic_coupled: nic.vswitch !== undefined })
}

/** `guest_list`: the userids of all guests, sorted. */
export function guestList(state: SdkState): ReadonlyArray<string> {
  return [...state.guests.keys()].sort()
}

/** Records the power state a guest reached (after the driver acted or reported). */
export function recordPower(state: SdkState, userid: string, power: PowerState): SdkState {
  const guest = state.guests.get(canonical(userid))
  if (guest === undefined || guest.power === power) return state
  return { ...state, guests: withEntry(state.guests, guest.userid, { ...guest, power }) }
}
