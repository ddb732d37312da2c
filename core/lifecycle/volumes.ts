/**
 * FibreChannel volumes: `volume_attach` and `volume_detach`. A LUN is attached to at most one
 * guest; attaching it twice or detaching it from a guest it is not on is the connector's volume
 * error (300, rs 3 and rs 4), reported as a Conflict.
 */
import { Result, Schema } from "effect"
import { Conflict, err, ok, type CorralError, type Outcome } from "../errors.ts"
import { Userid, Vdev } from "./fields.ts"
import { findGuest } from "./guests.ts"
import { sdkLimits, withEntry, withoutEntry, type SdkState, type Step } from "../sdk/state.ts"

const Hex16 = Schema.String.check(Schema.makeFilter((s: string) =>
  /^[0-9a-fA-F]{1,16}$/.test(s) || "1-16 hexadecimal digits without 0x"))
const OsType = Schema.String.check(Schema.makeFilter((s: string) =>
  /^(rhel7(\.\d+)?|sles12(sp\d+)?)$/i.test(s) || "rhel7, rhel7.N, sles12 or sles12spN"))
const Devices = (max: number) => Schema.Array(Vdev).check(Schema.makeFilter(
  (a: ReadonlyArray<string>) => a.length <= max || `at most ${max} devices`))

/** Most FCP devices or WWPNs per connection. */
export const fcPathsMax = 8

/** `volume_attach` / `volume_detach` parameters. */
export const VolumeRequest = Schema.Struct({
  guest: Schema.Struct({ name: Userid, os_type: OsType }),
  volume: Schema.Struct({
    size: Schema.optionalKey(Schema.String.check(Schema.makeFilter((s: string) =>
      /^[1-9]\d{0,9}[MmGg]$/.test(s) || "a size in M or G, e.g. 10G"))),
    type: Schema.Literal("fc"),
    lun: Hex16,
  }),
  connection_info: Schema.Struct({
    alias: Schema.optionalKey(Schema.String.check(Schema.makeFilter((s: string) =>
      /^\/dev\/[A-Za-z0-9/_-]{1,64}$/.test(s) || "a device path like /dev/vda"))),
    protocol: Schema.Literal("fc"),
    fcps: Devices(fcPathsMax),
    wwpns: Schema.Array(Hex16).check(Schema.makeFilter((a: ReadonlyArray<string>) =>
      (a.length >= 1 && a.length <= fcPathsMax) || `1 to ${fcPathsMax} WWPNs`)),
    dedicate: Schema.optionalKey(Devices(fcPathsMax)),
  }),
  is_rollback_in_failure: Schema.optionalKey(Schema.Boolean),
})
export type VolumeRequest = typeof VolumeRequest.Type

/** `volume_attach`: Conflict if the LUN is attached anywhere already. */
export function volumeAttach(state: SdkState, r: VolumeRequest): Outcome<Step<null>, CorralError> {
  const found = findGuest(state, r.guest.name)
  if (Result.isFailure(found)) return err(found.failure)
  const lun = r.volume.lun.toLowerCase()
  const other = state.volumes.get(lun)
  if (other !== undefined) {
    return err(new Conflict({ message: `Volume ${lun} has already been attached on instance ` +
      `${other.userid}.` }))
  }
  if (state.volumes.size >= sdkLimits.volumesMax) {
    return err(new Conflict({ message: `${sdkLimits.volumesMax} volumes are attached already.` }))
  }
  const c = r.connection_info
  const attachment = { lun, userid: found.success.userid, osType: r.guest.os_type,
    fcps: c.fcps, wwpns: c.wwpns.map((w) => w.toLowerCase()), dedicate: c.dedicate ?? [],
    ...(r.volume.size === undefined ? {} : { size: r.volume.size }),
    ...(c.alias === undefined ? {} : { alias: c.alias }) }
  return ok({ state: { ...state, volumes: withEntry(state.volumes, lun, attachment) },
    output: null, commands: [] })
}

/** `volume_detach`: Conflict if the LUN is not attached to that guest. */
export function volumeDetach(state: SdkState, r: VolumeRequest): Outcome<Step<null>, CorralError> {
  const found = findGuest(state, r.guest.name)
  if (Result.isFailure(found)) return err(found.failure)
  const lun = r.volume.lun.toLowerCase()
  if (state.volumes.get(lun)?.userid !== found.success.userid) {
    return err(new Conflict({ message: `Volume ${lun} is not attached on instance ` +
      `${found.success.userid}.` }))
  }
  return ok({ state: { ...state, volumes: withoutEntry(state.volumes, lun) }, output: null,
    commands: [] })
}
