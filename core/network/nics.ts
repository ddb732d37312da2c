/**
 * Guest NICs (NICDEFs): create, delete, couple to and uncouple from vswitches, network
 * interfaces with IP configuration, and the NIC queries. A NIC takes three consecutive device
 * numbers (a QDIO adapter); it couples only to an existing vswitch its user is granted on.
 * Changes with `active: true` need the guest running (the connector's conflict otherwise).
 */
import { Result, Schema } from "effect"
import { Conflict, err, invalid, NotFound, ok, type CorralError, type Outcome } from "../errors.ts"
import { nextFreeVdev, usedVdevs } from "../lifecycle/disks.ts"
import { MacAddress, Userid, Vdev } from "../lifecycle/fields.ts"
import { findGuest } from "../lifecycle/guests.ts"
import { canonical, canonicalVdev, sdkLimits, withEntry, type Guest, type GuestNetwork,
  type Nic, type SdkState, type Step } from "../sdk/state.ts"
import { findVswitch, VswitchName } from "./vswitch.ts"

/** Device numbers one NIC occupies. */
export const nicVdevSpan = 3

const NicId = Schema.String.check(Schema.makeFilter((s: string) =>
  (s.length >= 1 && s.length <= 64) || "a NIC identifier of 1-64 characters"))

/** `guest_create_nic` parameters. */
export const NicCreateRequest = Schema.Struct({
  userid: Userid,
  vdev: Schema.optionalKey(Vdev),
  nic_id: Schema.optionalKey(NicId),
  mac_addr: Schema.optionalKey(MacAddress),
  active: Schema.optionalKey(Schema.Boolean),
})
export type NicCreateRequest = typeof NicCreateRequest.Type

function activeConflict(g: Guest, what: string): Conflict | undefined {
  return g.power === "off"
    ? new Conflict({ message: `Failed to ${what} for guest ${g.userid}, error: ` +
      `Guest '${g.userid}' is not in active status.` })
    : undefined
}

/** Adds a NIC to `guest` (pure, no state): the guest with it and the vdev chosen. */
function addNic(state: SdkState, guest: Guest, r: Omit<NicCreateRequest, "userid">, at: string):
  Outcome<{ guest: Guest; vdev: string }, CorralError> {
  if (guest.nics.length >= sdkLimits.nicsPerGuestMax) {
    return err(new Conflict({ message: `Guest ${guest.userid} has ` +
      `${sdkLimits.nicsPerGuestMax} NICs already.` }))
  }
  const used = usedVdevs(guest)
  let base: number
  if (r.vdev !== undefined) {
    base = parseInt(r.vdev, 16)
    for (let k = 0; k < nicVdevSpan; k++) {
      if (used.has(base + k) || base + k > 0xffff) {
        return err(new Conflict({ message: `Failed to create nic ${canonicalVdev(r.vdev)} for ` +
          `guest ${guest.userid}, error: device ${canonicalVdev((base + k).toString(16))} ` +
          "is in use or out of range." }))
      }
    }
  } else {
    const first = parseInt(state.config.firstNicVdev, 16)
    const last = Math.max(first - nicVdevSpan, ...guest.nics.map((n) => parseInt(n.vdev, 16)))
    const free = nextFreeVdev(used, Math.max(first, last + nicVdevSpan), nicVdevSpan)
    if (free === undefined) return err(invalid(`${at}vdev`, "a free device number for the NIC"))
    base = free
  }
  const mac = r.mac_addr?.toLowerCase()
  if (mac !== undefined) {
    for (const g of state.guests.values()) {
      const other = g.nics.find((n) => n.macAddr === mac)
      if (other !== undefined) {
        return err(new Conflict({ message: `MAC address ${mac} is already used by ` +
          `${g.userid}:${other.vdev}.` }))
      }
    }
  }
  const vdev = canonicalVdev(base.toString(16))
  const nic: Nic = { vdev, ...(r.nic_id === undefined ? {} : { nicId: r.nic_id }),
    ...(mac === undefined ? {} : { macAddr: mac }) }
  const nics = [...guest.nics, nic].sort((a, b) => a.vdev.localeCompare(b.vdev))
  return ok({ guest: { ...guest, nics }, vdev })
}

/** `guest_create_nic`: a NICDEF; returns its vdev. */
export function guestCreateNic(state: SdkState, r: NicCreateRequest): Outcome<Step<string>,
  CorralError> {
  const found = findGuest(state, r.userid)
  if (Result.isFailure(found)) return err(found.failure)
  const guest = found.success
  if (r.active === true) {
    const c = activeConflict(guest, `create nic ${r.vdev ?? ""}`.trim())
    if (c !== undefined) return err(c)
  }
  const added = addNic(state, guest, r, "")
  if (Result.isFailure(added)) return err(added.failure)
  return ok({ state: { ...state, guests: withEntry(state.guests, guest.userid,
    added.success.guest) }, output: added.success.vdev, commands: [] })
}

/** `guest_delete_nic` parameters. */
export const NicDeleteRequest = Schema.Struct({
  userid: Userid, vdev: Vdev, active: Schema.optionalKey(Schema.Boolean),
})

/** `guest_delete_nic`: removes the NIC (uncoupling it). NotFound if the guest has no such NIC. */
export function guestDeleteNic(state: SdkState, r: typeof NicDeleteRequest.Type):
  Outcome<Step<null>, CorralError> {
  const found = findNic(state, r.userid, r.vdev)
  if (Result.isFailure(found)) return err(found.failure)
  const { guest, nic } = found.success
  if (r.active === true) {
    const c = activeConflict(guest, `delete nic ${nic.vdev}`)
    if (c !== undefined) return err(c)
  }
  const next = { ...guest, nics: guest.nics.filter((n) => n.vdev !== nic.vdev),
    networks: guest.networks.filter((n) => n.nicVdev !== nic.vdev) }
  return ok({ state: { ...state, guests: withEntry(state.guests, guest.userid, next) },
    output: null, commands: [] })
}

/** The guest and its NIC at `vdev`, or NotFound. */
export function findNic(state: SdkState, userid: string, vdev: string):
  Outcome<{ guest: Guest; nic: Nic }, NotFound> {
  const found = findGuest(state, userid)
  if (Result.isFailure(found)) return err(found.failure)
  const nic = found.success.nics.find((n) => n.vdev === canonicalVdev(vdev))
  return nic === undefined
    ? err(new NotFound({ resource: `NIC of ${found.success.userid}`, id: canonicalVdev(vdev) }))
    : ok({ guest: found.success, nic })
}

/** `guest_nic_couple_to_vswitch` parameters. */
export const NicCoupleRequest = Schema.Struct({
  userid: Userid, nic_vdev: Vdev, vswitch_name: VswitchName,
  active: Schema.optionalKey(Schema.Boolean),
})

function setNic(state: SdkState, guest: Guest, nic: Nic): SdkState {
  const nics = guest.nics.map((n) => (n.vdev === nic.vdev ? nic : n))
  return { ...state, guests: withEntry(state.guests, guest.userid, { ...guest, nics }) }
}

/** `guest_nic_couple_to_vswitch`: the vswitch must exist and grant the user. */
export function guestNicCouple(state: SdkState, r: typeof NicCoupleRequest.Type):
  Outcome<Step<null>, CorralError> {
  const found = findNic(state, r.userid, r.nic_vdev)
  if (Result.isFailure(found)) return err(found.failure)
  const { guest, nic } = found.success
  const vsw = findVswitch(state, r.vswitch_name)
  if (Result.isFailure(vsw)) return err(vsw.failure)
  const name = vsw.success.name
  const fail = (why: string) => err(new Conflict({ message: `Failed to couple nic ${nic.vdev} ` +
    `of guest ${guest.userid} with vswitch ${name}, error: ${why}` }))
  if (r.active === true && guest.power === "off") {
    return fail(`Guest '${guest.userid}' is not in active status.`)
  }
  if (!vsw.success.grants.some((g) => g.userid === guest.userid)) {
    return fail(`${guest.userid} is not granted on the vswitch.`)
  }
  if (nic.vswitch !== undefined && nic.vswitch !== name) {
    return fail(`the NIC is coupled to ${nic.vswitch}; uncouple it first.`)
  }
  return ok({ state: setNic(state, guest, { ...nic, vswitch: name }), output: null,
    commands: [] })
}

/** `guest_nic_uncouple_from_vswitch` parameters. */
export const NicUncoupleRequest = Schema.Struct({
  userid: Userid, nic_vdev: Vdev, active: Schema.optionalKey(Schema.Boolean),
})

/** `guest_nic_uncouple_from_vswitch`: idempotent for a NIC that is not coupled. */
export function guestNicUncouple(state: SdkState, r: typeof NicUncoupleRequest.Type):
  Outcome<Step<null>, CorralError> {
  const found = findNic(state, r.userid, r.nic_vdev)
  if (Result.isFailure(found)) return err(found.failure)
  const { guest, nic } = found.success
  if (r.active === true && guest.power === "off") {
    return err(new Conflict({ message: `Failed to uncouple nic ${nic.vdev} of guest ` +
      `${guest.userid} error: Guest '${guest.userid}' is not in active status.` }))
  }
  const { vswitch: _v, ...uncoupled } = nic
  return ok({ state: setNic(state, guest, uncoupled), output: null, commands: [] })
}

/** `guest_get_nic_vswitch_info`: `{vdev: vswitch}` (null for an uncoupled NIC). */
export function guestNicVswitchInfo(state: SdkState, userid: string):
  Outcome<Record<string, string | null>, NotFound> {
  return Result.map(findGuest(state, userid), (g) =>
    Object.fromEntries(g.nics.map((n) => [n.vdev, n.vswitch ?? null])))
}

/** One row of `guests_get_nic_info`: (userid, interface, vswitch, nic_id, comments). */
export type NicInfoRow = readonly [string, string, string | null, string | null, string | null]

/** `guests_get_nic_info` parameters: every filter optional. */
export const NicInfoRequest = Schema.Struct({
  userid: Schema.optionalKey(Userid),
  nic_id: Schema.optionalKey(NicId),
  vswitch: Schema.optionalKey(VswitchName),
})

/** `guests_get_nic_info`: NICs matching every given filter, by userid then vdev. */
export function guestsNicInfo(state: SdkState, r: typeof NicInfoRequest.Type):
  ReadonlyArray<NicInfoRow> {
  const rows: NicInfoRow[] = []
  for (const g of [...state.guests.values()].sort((a, b) => a.userid.localeCompare(b.userid))) {
    if (r.userid !== undefined && g.userid !== canonical(r.userid)) continue
    for (const n of g.nics) {
      if (r.nic_id !== undefined && n.nicId !== r.nic_id) continue
      if (r.vswitch !== undefined && n.vswitch !== canonical(r.vswitch)) continue
      rows.push([g.userid, n.vdev, n.vswitch ?? null, n.nicId ?? null, n.comments ?? null])
    }
  }
  return rows
}

const ipv4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/
const Ipv4 = Schema.String.check(Schema.makeFilter((s: string) =>
  ipv4.test(s) || "an IPv4 address like 192.168.95.10"))
const Cidr = Schema.String.check(Schema.makeFilter((s: string) => {
  const [addr, len] = s.split("/")
  return (addr !== undefined && ipv4.test(addr) && len !== undefined && /^\d{1,2}$/.test(len) &&
    +len <= 32) || "a CIDR like 192.168.95.0/24"
}))

/** One entry of `guest_networks`. */
export const GuestNetworkSpec = Schema.Struct({
  ip_addr: Schema.optionalKey(Schema.NullOr(Ipv4)),
  dns_addr: Schema.optionalKey(Schema.NullOr(Schema.Array(Ipv4))),
  gateway_addr: Schema.optionalKey(Schema.NullOr(Ipv4)),
  cidr: Cidr,
  nic_vdev: Schema.optionalKey(Schema.NullOr(Vdev)),
  nic_id: Schema.optionalKey(Schema.NullOr(NicId)),
  mac_addr: Schema.optionalKey(Schema.NullOr(MacAddress)),
})
export type GuestNetworkSpec = typeof GuestNetworkSpec.Type

/** `guest_create_network_interface` parameters. */
export const NetworkInterfaceRequest = Schema.Struct({
  userid: Userid,
  os_version: Schema.String.check(Schema.makeFilter((s: string) =>
    /^[a-z]+[0-9][0-9a-z.]*$/i.test(s) || "an OS version like rhel7.2 or sles12sp1")),
  guest_networks: Schema.Array(GuestNetworkSpec).check(Schema.makeFilter(
    (a: ReadonlyArray<unknown>) => (a.length >= 1 && a.length <= sdkLimits.nicsPerGuestMax) ||
      `1 to ${sdkLimits.nicsPerGuestMax} networks`)),
  active: Schema.optionalKey(Schema.Boolean),
})

function ipNumber(ip: string): number {
  return ip.split(".").reduce((acc, part) => acc * 256 + Number(part), 0)
}

/** Whether `ip` lies inside `cidr`. */
export function inCidr(ip: string, cidr: string): boolean {
  const [net, lenText] = cidr.split("/") as [string, string]
  const len = Number(lenText)
  const size = 2 ** (32 - len)
  return Math.floor(ipNumber(ip) / size) === Math.floor(ipNumber(net) / size)
}

/**
 * `guest_create_network_interface`: a NIC per network (vdev chosen when absent) and its IP
 * configuration; IP and gateway must lie in the CIDR. Returns the networks with `nic_vdev`.
 */
export function guestCreateNetworkInterface(
  state: SdkState,
  r: typeof NetworkInterfaceRequest.Type,
): Outcome<Step<ReadonlyArray<GuestNetworkSpec & { nic_vdev: string }>>, CorralError> {
  const found = findGuest(state, r.userid)
  if (Result.isFailure(found)) return err(found.failure)
  let guest = found.success
  if (r.active === true) {
    const c = activeConflict(guest, "create network interface")
    if (c !== undefined) return err(c)
  }
  const output: Array<GuestNetworkSpec & { nic_vdev: string }> = []
  const networks: GuestNetwork[] = []
  for (const [i, n] of r.guest_networks.entries()) {
    const at = `guest_networks[${i}].`
    for (const key of ["ip_addr", "gateway_addr"] as const) {
      const ip = n[key]
      if (ip != null && !inCidr(ip, n.cidr)) {
        return err(invalid(`${at}${key}`, `an address in ${n.cidr}`))
      }
    }
    const added = addNic(state, guest, {
      ...(n.nic_vdev == null ? {} : { vdev: n.nic_vdev }),
      ...(n.nic_id == null ? {} : { nic_id: n.nic_id }),
      ...(n.mac_addr == null ? {} : { mac_addr: n.mac_addr }),
    }, at)
    if (Result.isFailure(added)) return err(added.failure)
    guest = added.success.guest
    output.push({ ...n, nic_vdev: added.success.vdev })
    networks.push({ nicVdev: added.success.vdev, cidr: n.cidr,
      ...(n.ip_addr == null ? {} : { ipAddr: n.ip_addr }),
      ...(n.dns_addr == null ? {} : { dnsAddr: n.dns_addr }),
      ...(n.gateway_addr == null ? {} : { gatewayAddr: n.gateway_addr }) })
  }
  const next = { ...guest, osVersion: r.os_version, networks: [...guest.networks, ...networks] }
  return ok({ state: { ...state, guests: withEntry(state.guests, guest.userid, next) },
    output, commands: [] })
}
