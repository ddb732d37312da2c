/**
 * Virtual switches: create, delete, set, grant and revoke users, per-user VLAN ids. Keywords are
 * accepted in the connector's case-insensitive abbreviated forms (`CON`, `DISCONnect`,
 * `NONrouter`…) and stored in full upper case. Pure functions over `SdkState`.
 */
import { Result, Schema } from "effect"
import { Conflict, err, invalid, invalidAll, NotFound, ok, type CorralError, type InputIssue,
  type Outcome } from "../errors.ts"
import { QueueMemMb, Userid, UserVlanIdText, Vdev, VlanId } from "../lifecycle/fields.ts"
import { canonical, sdkLimits, withEntry, withoutEntry, type Grant, type SdkState, type Step,
  type Vswitch } from "../sdk/state.ts"

/** A keyword accepted from its minimum abbreviation (`CONnect` accepts CON, CONN… CONNECT). */
function keyword(full: string, minimum: number): RegExp {
  const rest = full.slice(minimum).split("").reduceRight((acc, ch) => `(${ch}${acc})?`, "")
  return new RegExp(`^${full.slice(0, minimum)}${rest}$`, "i")
}

function keywords(expected: string, forms: ReadonlyArray<readonly [string, number]>) {
  return Schema.String.check(Schema.makeFilter((s: string) =>
    forms.some(([full, min]) => keyword(full, min).test(s)) || expected))
}

/** Expands an abbreviated keyword to its full form (input already checked). */
export function expandKeyword(value: string, forms: ReadonlyArray<readonly [string, number]>) {
  const hit = forms.find(([full, min]) => keyword(full, min).test(value))
  if (hit === undefined) throw new Error(`expandKeyword: unchecked ${value}`)
  return hit[0]
}

const connectionForms = [["CONNECT", 3], ["DISCONNECT", 6], ["NOUPLINK", 8]] as const
const routerForms = [["NONROUTER", 3], ["PRIROUTER", 3]] as const
const Connection = keywords("CONnect, DISCONnect or NOUPLINK", connectionForms)
const Router = keywords("NONrouter or PRIrouter", routerForms)
const Upper = (values: ReadonlyArray<string>) => Schema.String.check(Schema.makeFilter(
  (s: string) => values.includes(s.toUpperCase()) || `one of ${values.join(", ")}`))

/** A vswitch name: 1-8 characters. */
export const VswitchName = Schema.String.check(Schema.makeFilter((s: string) =>
  /^[A-Za-z0-9@#$_-]{1,8}$/.test(s) || "a vswitch name of 1-8 characters"))

/** Real devices: up to three 1-4 hex digit numbers separated by blanks, or NONE. */
const Rdev = Schema.String.check(Schema.makeFilter((s: string) =>
  /^(NONE|[0-9A-Fa-f]{1,4}( [0-9A-Fa-f]{1,4}){0,2})$/i.test(s.trim()) ||
  "up to three device numbers of 1-4 hexadecimal digits separated by blanks, or NONE"))

const Controller = Schema.String.check(Schema.makeFilter((s: string) =>
  s === "*" || /^[A-Za-z0-9@#$+_-]{1,8}$/.test(s) || "a controlling userid or *"))

const Vid = Schema.Union([
  Schema.Int.check(Schema.makeFilter((n: number) => (n >= 1 && n <= 4094) ||
    "UNAWARE, AWARE or a VLAN id 1-4094")),
  Schema.String.check(Schema.makeFilter((s: string) =>
    /^(UNAWARE|AWARE)$/i.test(s) || (/^\d{1,4}$/.test(s) && +s >= 1 && +s <= 4094) ||
    "UNAWARE, AWARE or a VLAN id 1-4094")),
])

/** `vswitch_create` parameters with the connector's defaults. */
export const VswitchCreateRequest = Schema.Struct({
  name: VswitchName,
  rdev: Schema.optionalKey(Schema.NullOr(Rdev)),
  controller: Schema.optionalKey(Controller),
  connection: Schema.optionalKey(Connection),
  network_type: Schema.optionalKey(Upper(["IP", "ETHERNET"])),
  router: Schema.optionalKey(Schema.NullOr(Router)),
  vid: Schema.optionalKey(Vid),
  port_type: Schema.optionalKey(Upper(["ACCESS", "TRUNK"])),
  gvrp: Schema.optionalKey(Upper(["GVRP", "NOGVRP"])),
  queue_mem: Schema.optionalKey(QueueMemMb),
  native_vid: Schema.optionalKey(Schema.NullOr(VlanId)),
  persist: Schema.optionalKey(Schema.Boolean),
})
export type VswitchCreateRequest = typeof VswitchCreateRequest.Type

/** The vswitch named `name`, or NotFound. */
export function findVswitch(state: SdkState, name: string): Outcome<Vswitch, NotFound> {
  const v = state.vswitches.get(canonical(name))
  return v === undefined ? err(new NotFound({ resource: "vswitch", id: canonical(name) })) : ok(v)
}

/** `vswitch_create`: a new vswitch. Conflict if the name exists; `router` only with IP. */
export function vswitchCreate(
  state: SdkState,
  r: VswitchCreateRequest,
): Outcome<Step<null>, CorralError> {
  const name = canonical(r.name)
  const networkType = (r.network_type ?? "ETHERNET").toUpperCase() as "IP" | "ETHERNET"
  if (networkType === "ETHERNET" && r.router !== undefined && r.router !== null) {
    return err(invalid("router", "no router with network_type ETHERNET (leave it unspecified)"))
  }
  if (state.vswitches.has(name)) {
    return err(new Conflict({ message: `Vswitch ${name} already exists.` }))
  }
  if (state.vswitches.size >= sdkLimits.vswitchesMax) {
    return err(new Conflict({
      message: `The host already has ${sdkLimits.vswitchesMax} vswitches.` }))
  }
  const vidText = String(r.vid ?? "UNAWARE").toUpperCase()
  const vswitch: Vswitch = {
    name,
    rdev: (r.rdev ?? "NONE").trim().toUpperCase(),
    controller: (r.controller ?? "*").toUpperCase(),
    connection: expandKeyword(r.connection ?? "CONNECT", connectionForms),
    networkType,
    ...(networkType === "IP"
      ? { router: expandKeyword(r.router ?? "NONROUTER", routerForms) } : {}),
    vid: vidText === "UNAWARE" || vidText === "AWARE" ? vidText : Number(vidText),
    portType: (r.port_type ?? "ACCESS").toUpperCase() as "ACCESS" | "TRUNK",
    gvrp: (r.gvrp ?? "GVRP").toUpperCase() as "GVRP" | "NOGVRP",
    queueMemMb: r.queue_mem ?? 8,
    nativeVid: r.native_vid === undefined ? 1 : r.native_vid,
    persist: r.persist ?? true,
    grants: [],
    settings: {},
  }
  return ok({ state: { ...state, vswitches: withEntry(state.vswitches, name, vswitch) },
    output: null, commands: [] })
}

/** `vswitch_delete`: Conflict while any NIC is coupled to it. */
export function vswitchDelete(state: SdkState, name: string): Outcome<Step<null>, CorralError> {
  const found = findVswitch(state, name)
  if (Result.isFailure(found)) return err(found.failure)
  const coupled = coupledNics(state, found.success.name)
  if (coupled.length > 0) {
    return err(new Conflict({ message: `Failed to delete vswitch ${found.success.name}, error: ` +
      `NICs still coupled: ${coupled.join(", ")}.` }))
  }
  return ok({ state: { ...state, vswitches: withoutEntry(state.vswitches, found.success.name) },
    output: null, commands: [] })
}

/** `USERID:VDEV` of every NIC coupled to `vswitch` (optionally only `userid`'s). */
export function coupledNics(state: SdkState, vswitch: string, userid?: string): string[] {
  const out: string[] = []
  for (const g of state.guests.values()) {
    if (userid !== undefined && g.userid !== userid) continue
    for (const n of g.nics) if (n.vswitch === vswitch) out.push(`${g.userid}:${n.vdev}`)
  }
  return out
}

/** `vswitch_get_list`: vswitch names, sorted. */
export function vswitchList(state: SdkState): ReadonlyArray<string> {
  return [...state.vswitches.keys()].sort()
}

function withGrants(state: SdkState, v: Vswitch, grants: ReadonlyArray<Grant>): SdkState {
  return { ...state, vswitches: withEntry(state.vswitches, v.name, { ...v, grants }) }
}

/** Grants `userid` on `v` (idempotent; keeps its VLAN ids unless `vlanIds` is given). */
function grant(state: SdkState, v: Vswitch, userid: string, vlanIds?: string): Outcome<SdkState,
  Conflict> {
  const others = v.grants.filter((g) => g.userid !== userid)
  const before = v.grants.find((g) => g.userid === userid)
  if (before === undefined && v.grants.length >= sdkLimits.grantsPerVswitchMax) {
    return err(new Conflict({ message: `Vswitch ${v.name} has ${sdkLimits.grantsPerVswitchMax} ` +
      "grants already." }))
  }
  const ids = vlanIds ?? before?.vlanIds
  return ok(withGrants(state, v, [...others, { userid, ...(ids === undefined ? {} : {
    vlanIds: ids }) }]))
}

/** Revokes `userid` from `v`; Conflict while one of its NICs is coupled there. */
function revoke(state: SdkState, v: Vswitch, userid: string): Outcome<SdkState, Conflict> {
  const coupled = coupledNics(state, v.name, userid)
  if (coupled.length > 0) {
    return err(new Conflict({ message: `Failed to set vswitch ${v.name}, error: ${userid} ` +
      `still has coupled NICs (${coupled.join(", ")}); uncouple them first.` }))
  }
  return ok(withGrants(state, v, v.grants.filter((g) => g.userid !== userid)))
}

/** `vswitch_grant_user`. */
export function vswitchGrantUser(state: SdkState, name: string, userid: string):
  Outcome<Step<null>, CorralError> {
  const found = findVswitch(state, name)
  if (Result.isFailure(found)) return err(found.failure)
  const next = grant(state, found.success, canonical(userid))
  return Result.map(next, (s) => ({ state: s, output: null, commands: [] }))
}

/** `vswitch_revoke_user`. */
export function vswitchRevokeUser(state: SdkState, name: string, userid: string):
  Outcome<Step<null>, CorralError> {
  const found = findVswitch(state, name)
  if (Result.isFailure(found)) return err(found.failure)
  const next = revoke(state, found.success, canonical(userid))
  return Result.map(next, (s) => ({ state: s, output: null, commands: [] }))
}

/** `vswitch_set_vlan_id_for_user`: the user must be granted and the vswitch VLAN aware. */
export function vswitchSetVlanIdForUser(
  state: SdkState,
  name: string,
  userid: string,
  vlanId: number,
): Outcome<Step<null>, CorralError> {
  const found = findVswitch(state, name)
  if (Result.isFailure(found)) return err(found.failure)
  const v = found.success
  const user = canonical(userid)
  if (v.vid === "UNAWARE") {
    return err(new Conflict({ message: `Failed to set vswitch ${v.name}, error: ` +
      "the vswitch is VLAN UNAWARE." }))
  }
  if (!v.grants.some((g) => g.userid === user)) {
    return err(new Conflict({ message: `Failed to set vswitch ${v.name}, error: ` +
      `${user} is not granted on it.` }))
  }
  const next = grant(state, v, user, String(vlanId))
  return Result.map(next, (s) => ({ state: s, output: null, commands: [] }))
}

/** `vswitch_grant_user` / `vswitch_revoke_user` / `vswitch_set_vlan_id_for_user` parameters. */
export const VswitchUserRequest = Schema.Struct({ vswitch_name: VswitchName, userid: Userid })
/** `vswitch_set_vlan_id_for_user` parameters. */
export const VswitchVlanRequest = Schema.Struct({
  vswitch_name: VswitchName, userid: Userid, vlan_id: VlanId,
})

const onOff = Upper(["ON", "OFF"])
const yesNo = Upper(["YES", "NO"])
const words = (max: number, each: RegExp, what: string) =>
  Schema.String.check(Schema.makeFilter((s: string) => {
    const parts = s.trim().split(/\s+/)
    return (s.trim() !== "" && parts.length <= max && parts.every((p) => each.test(p))) ||
      `up to ${max} ${what} separated by blanks`
  }))
const realDevice = /^[0-9A-Fa-f]{1,4}(\.[Pp][0-9A-Fa-f]{1,2})?$/

/** `vswitch_set` keyword arguments, as the seed names them. */
export const VswitchSetRequest = Schema.Struct({
  vswitch_name: VswitchName,
  grant_userid: Schema.optionalKey(Userid),
  user_vlan_id: Schema.optionalKey(UserVlanIdText),
  revoke_userid: Schema.optionalKey(Userid),
  real_device_address: Schema.optionalKey(Schema.String.check(Schema.makeFilter((s: string) =>
    /^none$/i.test(s.trim()) || (s.trim().split(/\s+/).length <= 3 &&
      s.trim().split(/\s+/).every((p) => realDevice.test(p))) ||
    "up to three real device addresses (e.g. 1000 or 1000.P1) separated by blanks, or None"))),
  port_name: Schema.optionalKey(
    words(3, /^[A-Za-z0-9@#$_-]{1,8}$/, "port names of 1-8 characters")),
  controller_name: Schema.optionalKey(Schema.String.check(Schema.makeFilter((s: string) =>
    s.trim() === "*" || (s.trim().split(/\s+/).length <= 8 &&
      s.trim().split(/\s+/).every((p) => /^[A-Za-z0-9@#$+_-]{1,8}$/.test(p))) ||
    "* or up to eight userids of 1-8 characters separated by blanks"))),
  connection_value: Schema.optionalKey(keywords("CONnect or DISCONnect",
    connectionForms.slice(0, 2))),
  queue_memory_limit: Schema.optionalKey(QueueMemMb),
  routing_value: Schema.optionalKey(Router),
  port_type: Schema.optionalKey(Upper(["ACCESS", "TRUNK"])),
  persist: Schema.optionalKey(yesNo),
  gvrp_value: Schema.optionalKey(Upper(["GVRP", "NOGVRP"])),
  mac_id: Schema.optionalKey(Schema.String.check(Schema.makeFilter((s: string) =>
    /^[0-9A-Fa-f]{1,6}$/.test(s) || "up to six hexadecimal digits"))),
  uplink: Schema.optionalKey(yesNo),
  nic_userid: Schema.optionalKey(Controller),
  nic_vdev: Schema.optionalKey(Vdev),
  lacp: Schema.optionalKey(Upper(["ACTIVE", "INACTIVE"])),
  Interval: Schema.optionalKey(Schema.String.check(Schema.makeFilter((s: string) =>
    /^off$/i.test(s) || (/^\d{1,4}$/.test(s) && +s >= 1 && +s <= 9990) ||
    "a number of seconds 1-9990, or OFF"))),
  group_rdev: Schema.optionalKey(words(8, realDevice, "real device addresses")),
  iptimeout: Schema.optionalKey(Schema.Int.check(Schema.makeFilter((n: number) =>
    (n >= 1 && n <= 240) || "a number of minutes between 1 and 240"))),
  port_isolation: Schema.optionalKey(onOff),
  promiscuous: Schema.optionalKey(yesNo),
  MAC_protect: Schema.optionalKey(Upper(["ON", "OFF", "UNSPECIFIED"])),
  VLAN_counters: Schema.optionalKey(onOff),
})
export type VswitchSetRequest = typeof VswitchSetRequest.Type

function crossFieldIssues(r: VswitchSetRequest): InputIssue[] {
  const issues: InputIssue[] = []
  const keys = Object.keys(r).filter((k) => k !== "vswitch_name")
  if (keys.length === 0) issues.push({ path: "", message: "at least one attribute to set" })
  if (r.user_vlan_id !== undefined && r.grant_userid === undefined) {
    issues.push({ path: "user_vlan_id", message: "grant_userid as well (the user given the ids)" })
  }
  if (r.nic_vdev !== undefined && (r.nic_userid === undefined || r.nic_userid === "*")) {
    issues.push({ path: "nic_userid", message: "a userid when nic_vdev is given" })
  }
  if (r.nic_userid !== undefined && r.nic_userid !== "*" && r.nic_vdev === undefined) {
    issues.push({ path: "nic_vdev", message: "a device number when nic_userid is a userid" })
  }
  return issues
}

/** `vswitch_set`: applies every given attribute, grants and revokes included, or none. */
export function vswitchSet(state: SdkState, r: VswitchSetRequest): Outcome<Step<null>,
  CorralError> {
  const issues = crossFieldIssues(r)
  if (issues.length > 0) return err(invalidAll(issues))
  const found = findVswitch(state, r.vswitch_name)
  if (Result.isFailure(found)) return err(found.failure)
  let next = state
  if (r.grant_userid !== undefined) {
    const g = grant(next, found.success, canonical(r.grant_userid), r.user_vlan_id?.trim())
    if (Result.isFailure(g)) return err(g.failure)
    next = g.success
  }
  if (r.revoke_userid !== undefined) {
    const v = next.vswitches.get(found.success.name)!
    const g = revoke(next, v, canonical(r.revoke_userid))
    if (Result.isFailure(g)) return err(g.failure)
    next = g.success
  }
  const v = next.vswitches.get(found.success.name)!
  const { vswitch_name: _n, grant_userid: _g, revoke_userid: _r, user_vlan_id: _u, ...rest } = r
  const settings: Record<string, string> = { ...v.settings }
  for (const [k, value] of Object.entries(rest)) settings[k] = String(value)
  const updated: Vswitch = {
    ...v, settings,
    ...(r.queue_memory_limit === undefined ? {} : { queueMemMb: r.queue_memory_limit }),
    ...(r.port_type === undefined ? {} : {
      portType: r.port_type.toUpperCase() as "ACCESS" | "TRUNK" }),
    ...(r.gvrp_value === undefined ? {} : {
      gvrp: r.gvrp_value.toUpperCase() as "GVRP" | "NOGVRP" }),
    ...(r.connection_value === undefined ? {} : {
      connection: expandKeyword(r.connection_value, connectionForms) }),
    ...(r.routing_value === undefined ? {} : {
      router: expandKeyword(r.routing_value, routerForms) }),
    ...(r.real_device_address === undefined ? {} : {
      rdev: r.real_device_address.trim().toUpperCase() }),
    ...(r.controller_name === undefined ? {} : {
      controller: r.controller_name.trim().toUpperCase() }),
  }
  return ok({ state: { ...next, vswitches: withEntry(next.vswitches, v.name, updated) },
    output: null, commands: [] })
}
