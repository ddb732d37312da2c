/**
 * `SdkApi`: the connector's operations by their seed names (`guest_create`, `vswitch_set`…),
 * each taking the seed's parameters and returning an Effect of the connector's output, failing
 * with an `SdkFailure`. Build one with `makeSdk(config)` over a `Driver`.
 */
import { Effect, Ref, Result, Schema } from "effect"
import { invalid, NotFound, type CorralError } from "../errors.ts"
import { Driver } from "../driver/port.ts"
import * as guests from "../lifecycle/guests.ts"
import * as volumes from "../lifecycle/volumes.ts"
import * as images from "../images/images.ts"
import * as nics from "../network/nics.ts"
import * as vsw from "../network/vswitch.ts"
import { DiskPoolName, normalisePoolName } from "../lifecycle/fields.ts"
import type { SdkFailure } from "./connector.ts"
import { reasons } from "./connector.ts"
import {
  decodeInput, decodeUserid, decodeUseridList, driverCall, fromOutcome, makeSdkCore,
  mutate, power, read, type SdkCore,
} from "./sdk.ts"
import type { SdkConfig, SdkState, Step } from "./state.ts"

type Op<A> = Effect.Effect<A, SdkFailure>

/** `guest_get_info` output, as the seed lists it. */
export interface GuestInfo {
  readonly power_state: "on" | "off"
  readonly max_mem_kb: number
  readonly mem_kb: number
  readonly num_cpu: number
  readonly cpu_time_us: number
}

/** One guest's `guest_inspect_stats` figures. */
export interface GuestStats {
  readonly guest_cpus: number
  readonly used_cpu_time_us: number
  readonly elapsed_cpu_time_us: number
  readonly min_cpu_count: number
  readonly max_cpu_limit: number
  readonly samples_cpu_in_use: number
  readonly samples_cpu_delay: number
  readonly used_mem_kb: number
  readonly max_mem_kb: number
  readonly min_mem_kb: number
  readonly shared_mem_kb: number
}

/** One NIC's `guest_inspect_vnics` figures. */
export interface VnicStats {
  readonly vswitch_name: string | null
  readonly nic_vdev: string
  readonly nic_fr_rx: number
  readonly nic_fr_tx: number
  readonly nic_fr_rx_dsc: number
  readonly nic_fr_tx_dsc: number
  readonly nic_fr_rx_err: number
  readonly nic_fr_tx_err: number
  readonly nic_rx: number
  readonly nic_tx: number
}

/** Disk pool usage in GB, as `host_diskpool_get_info` reports it. */
export interface DiskPoolInfo {
  readonly disk_total: number
  readonly disk_used: number
  readonly disk_available: number
}

/** A guest's CPU limit per vCPU, in percent of one host CPU (no capping: a whole CPU). */
export const cpuLimitPerVcpu = 100

/** Microseconds between `guest_inspect_stats` CPU samples (one sample a second). */
export const cpuSampleIntervalUs = 1_000_000

const mbPerGb = 1024

function poolInfo(s: SdkState, name: string): DiskPoolInfo {
  const total = s.config.host.diskPools.find((p) => p.name === name)!.sizeMb
  const used = s.poolUsedMb.get(name) ?? 0
  return { disk_total: Math.floor(total / mbPerGb), disk_used: Math.ceil(used / mbPerGb),
    disk_available: Math.floor((total - used) / mbPerGb) }
}

function guestOps(core: SdkCore) {
  return {
    /** Defines a guest (off) with its disks; Conflict if the userid exists. */
    guest_create: (input: unknown) => Effect.flatMap(
      decodeInput(guests.GuestCreateRequest, input),
      (r) => mutate(core, "guest", (s) => guests.guestCreate(s, r), reasons.guestExists)),
    /** Deletes a guest (ending it if it runs) and frees its disks. */
    guest_delete: (userid: unknown) => Effect.flatMap(decodeUserid(userid),
      (id) => mutate(core, "guest", (s) => guests.guestDelete(s, id))),
    /** Powers a guest on; a running guest is left running. */
    guest_start: (userid: unknown) => power(core, userid, "start"),
    /** Powers a guest off, waiting up to `timeout` s, polling every `poll_interval` s. */
    guest_stop: (userid: unknown, kwargs: unknown = {}) => power(core, userid, "stop", kwargs),
    /** Signals shutdown, waits up to `timeout` s polling every `poll_interval` s, then logs off. */
    guest_softstop: (userid: unknown, kwargs: unknown = {}) =>
      power(core, userid, "softstop", kwargs),
    /** Reboots a running guest. */
    guest_reboot: (userid: unknown) => power(core, userid, "reboot"),
    /** Resets a running guest. */
    guest_reset: (userid: unknown) => power(core, userid, "reset"),
    /** Pauses a running guest; Conflict if it is off. */
    guest_pause: (userid: unknown) => power(core, userid, "pause"),
    /** Unpauses a paused guest; Conflict if it is off. */
    guest_unpause: (userid: unknown) => power(core, userid, "unpause"),
  }
}

function guestReadOps(core: SdkCore) {
  return {
    /** The power state as the hypervisor reports it: `on`, `off` or `paused`. */
    guest_get_power_state: (userid: unknown) => Effect.flatMap(decodeUserid(userid), (id) =>
      core.serial(Effect.gen(function* () {
        yield* fromOutcome("guest", guests.findGuest(yield* Ref.get(core.state), id))
        const state = yield* driverCall("guest", core.driver.powerState(id))
        yield* Ref.update(core.state, (s) => guests.recordPower(s, id, state))
        return state
      }))),
    /** Power state (`on` also for paused), memory and CPU figures. */
    guest_get_info: (userid: unknown): Op<GuestInfo> => Effect.flatMap(decodeUserid(userid),
      (id) => core.serial(Effect.gen(function* () {
        const g = yield* fromOutcome("guest", guests.findGuest(yield* Ref.get(core.state), id))
        const state = yield* driverCall("guest", core.driver.powerState(id))
        const usage = yield* driverCall("guest", core.driver.usage(id))
        return { power_state: state === "off" ? "off" : "on", max_mem_kb: g.memoryMb * 1024,
          mem_kb: usage.memKb, num_cpu: g.vcpus, cpu_time_us: usage.cpuTimeUs } as const
      }))),
    /** Userids of every guest on the host. */
    guest_list: () => read(core, "guest", (s) => Result.succeed(guests.guestList(s))),
    /** Adds disks to a guest. */
    guest_create_disks: (input: unknown) => Effect.flatMap(
      decodeInput(guests.GuestCreateDisksRequest, input),
      (r) => mutate(core, "guest", (s) => guests.guestCreateDisks(s, r))),
    /** Deletes disks of a guest. */
    guest_delete_disks: (input: unknown) => Effect.flatMap(
      decodeInput(guests.GuestDeleteDisksRequest, input),
      (r) => mutate(core, "guest", (s) => guests.guestDeleteDisks(s, r))),
    /** Records the script that formats and mounts the guest's extra disks. */
    guest_config_minidisks: (input: unknown) => Effect.flatMap(
      decodeInput(guests.GuestConfigMinidisksRequest, input),
      (r) => mutate(core, "guest", (s) => guests.guestConfigMinidisks(s, r))),
    /** The guest's directory entry; `{nic_coupled: vdev}` adds whether that NIC is coupled. */
    guest_get_definition_info: (userid: unknown, kwargs: unknown = {}) => Effect.flatMap(
      decodeInput(Schema.Struct({ userid: Schema.Unknown,
        nic_coupled: Schema.optionalKey(Schema.String) }), { userid, ...asObject(kwargs) }),
      (r) => Effect.flatMap(decodeUserid(r.userid), (id) => read(core, "guest",
        (s) => guests.guestDefinitionInfo(s, id, r.nic_coupled)))),
    /** The guest's console log. */
    guest_get_console_output: (userid: unknown) => Effect.flatMap(decodeUserid(userid),
      (id) => core.serial(Effect.gen(function* () {
        yield* fromOutcome("guest", guests.findGuest(yield* Ref.get(core.state), id))
        return yield* driverCall("guest", core.driver.consoleOutput(id))
      }))),
  }
}

function asObject(v: unknown): Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? v as Record<string, unknown>
    : {}
}

function statsOps(core: SdkCore) {
  return {
    /** CPU and memory figures of the listed guests that exist and are not off. */
    guest_inspect_stats: (userid_list: unknown) => Effect.flatMap(decodeUseridList(userid_list),
      (ids) => core.serial(Effect.gen(function* () {
        const s = yield* Ref.get(core.state)
        const out: Record<string, GuestStats> = {}
        for (const id of ids) {
          const g = s.guests.get(id)
          if (g === undefined) continue
          if ((yield* driverCall("monitor", core.driver.powerState(id))) === "off") continue
          const u = yield* driverCall("monitor", core.driver.usage(id))
          out[id] = { guest_cpus: g.vcpus, used_cpu_time_us: u.cpuTimeUs,
            elapsed_cpu_time_us: u.uptimeUs * g.vcpus, min_cpu_count: g.vcpus,
            max_cpu_limit: g.vcpus * cpuLimitPerVcpu,
            samples_cpu_in_use: Math.floor(u.cpuTimeUs / cpuSampleIntervalUs),
            samples_cpu_delay: 0, used_mem_kb: u.memKb, max_mem_kb: g.memoryMb * 1024,
            min_mem_kb: 0, shared_mem_kb: 0 }
        }
        return out
      }))),
    /** NIC counters of the listed guests that exist and are not off. */
    guest_inspect_vnics: (userid_list: unknown) => Effect.flatMap(decodeUseridList(userid_list),
      (ids) => core.serial(Effect.gen(function* () {
        const s = yield* Ref.get(core.state)
        const out: Record<string, VnicStats[]> = {}
        for (const id of ids) {
          const g = s.guests.get(id)
          if (g === undefined) continue
          if ((yield* driverCall("monitor", core.driver.powerState(id))) === "off") continue
          const counters = yield* driverCall("monitor",
            core.driver.nicCounters(id, g.nics.map((n) => n.vdev)))
          out[id] = counters.map((c) => ({
            vswitch_name: g.nics.find((n) => n.vdev === c.vdev)?.vswitch ?? null,
            nic_vdev: c.vdev, nic_fr_rx: c.rxFrames, nic_fr_tx: c.txFrames,
            nic_fr_rx_dsc: c.rxDiscards, nic_fr_tx_dsc: c.txDiscards, nic_fr_rx_err: c.rxErrors,
            nic_fr_tx_err: c.txErrors, nic_rx: c.rxBytes, nic_tx: c.txBytes }))
        }
        return out
      }))),
  }
}

function hostOps(core: SdkCore) {
  return {
    /** Host resources: CPUs, memory, default disk pool, hypervisor. */
    host_get_info: () => core.serial(Effect.gen(function* () {
      const s = yield* Ref.get(core.state)
      const facts = yield* driverCall("guest", core.driver.hostFacts())
      let vcpusUsed = 0, memUsedMb = 0
      for (const g of s.guests.values()) {
        if (g.power === "off") continue
        vcpusUsed += g.vcpus
        memUsedMb += g.memoryMb
      }
      const pool = s.config.defaultDiskPool ?? s.config.host.diskPools[0]?.name
      const disk = pool === undefined || !s.poolUsedMb.has(pool)
        ? { disk_total: 0, disk_used: 0, disk_available: 0 } : poolInfo(s, pool)
      return { vcpus: s.config.host.vcpus, vcpus_used: vcpusUsed,
        memory_mb: s.config.host.ramMb, memory_mb_used: memUsedMb, ...disk,
        hypervisor_type: facts.hypervisorType, hypervisor_version: facts.hypervisorVersion,
        hypervisor_hostname: facts.hostname, zvm_host: s.config.host.name,
        cpu_info: { architecture: facts.architecture, host_cpus: facts.cpus } }
    })),
    /** Usage of one disk pool (default: the configured pool), GB. */
    host_diskpool_get_info: (disk_pool?: unknown): Op<DiskPoolInfo> => Effect.flatMap(
      decodeInput(Schema.Struct({ disk_pool: Schema.optionalKey(DiskPoolName) }),
        disk_pool === undefined ? {} : { disk_pool }),
      (r) => read(core, "guest", (s) => {
        const named = r.disk_pool ?? s.config.defaultDiskPool
        if (named === undefined) {
          return Result.fail(invalid("disk_pool", "a disk pool: none is configured by default"))
        }
        const pool = normalisePoolName(named)
        return s.poolUsedMb.has(pool) ? Result.succeed(poolInfo(s, pool))
          : Result.fail(new NotFound({ resource: "disk pool", id: pool }))
      })),
  }
}

function imageOps(core: SdkCore) {
  return {
    /** Imports an image from an http, https or file URL into the repository. */
    image_import: (input: unknown) => Effect.flatMap(
      decodeInput(images.ImageImportRequest, input),
      (r) => core.serial(Effect.gen(function* () {
        const url = yield* fromOutcome("image",
          images.planImageImport(yield* Ref.get(core.state), r), reasons.imageExists)
        const stored = yield* driverCall("image", core.driver.importImage(r.image_name, url))
        const step = images.commitImageImport(yield* Ref.get(core.state), r, url, stored)
        if (Result.isFailure(step)) {
          yield* Effect.ignore(core.driver.deleteImage(r.image_name))
          return yield* fromOutcome("image", step, reasons.imageMd5)
        }
        yield* Ref.set(core.state, step.success.state)
      }))),
    /** Image info: one image, or all. */
    image_query: (imagename?: unknown) => Effect.flatMap(
      decodeInput(Schema.Struct({ imagename: Schema.optionalKey(images.ImageName) }),
        imagename === undefined || imagename === null ? {} : { imagename }),
      (r) => read(core, "image", (s) => images.imageQuery(s, r.imagename))),
    /** Deletes an image from the repository. */
    image_delete: (image_name: unknown) => Effect.flatMap(
      decodeInput(Schema.Struct({ image_name: images.ImageName }), { image_name }),
      (r) => mutate(core, "image", (s) => images.imageDelete(s, r.image_name))),
    /** The image's root disk size, `N:CYL` or `N:BLK`. */
    image_get_root_disk_size: (image_name: unknown) => Effect.flatMap(
      decodeInput(Schema.Struct({ image_name: images.ImageName }), { image_name }),
      (r) => read(core, "image", (s) => Result.map(images.findImage(s, r.image_name),
        (i) => i.rootDiskSize))),
    /** Copies an image to a `file://` URL inside the image root. */
    image_export: (input: unknown) => Effect.flatMap(
      decodeInput(images.ImageExportRequest, input),
      (r) => core.serial(Effect.gen(function* () {
        const state = yield* Ref.get(core.state)
        const plan = yield* fromOutcome("image", images.planImageExport(state, r))
        const path = yield* driverCall("image", core.driver.exportImage(r.image_name, plan.dest))
        return { image_name: plan.image.name, image_path: path,
          os_version: plan.image.osVersion, md5sum: plan.image.md5sum }
      }))),
    /** Writes an image onto a guest's boot disk (or `vdev`). */
    guest_deploy: (input: unknown) => Effect.flatMap(
      decodeInput(images.GuestDeployRequest, input),
      (r) => mutate(core, "guest", (s) => images.guestDeploy(s, r))),
    /** Captures a guest's root disk (or all disks) as a new image. */
    guest_capture: (input: unknown) => Effect.flatMap(
      decodeInput(images.GuestCaptureRequest, input),
      (r) => core.serial(Effect.gen(function* () {
        const plan = yield* fromOutcome("guest", images.planCapture(yield* Ref.get(core.state), r))
        const stored = yield* driverCall("guest",
          core.driver.captureImage(r.userid.toUpperCase(), plan.vdevs, r.image_name))
        const step = images.commitCapture(yield* Ref.get(core.state), r, plan, stored)
        yield* Ref.set(core.state, step.state)
      }))),
  }
}

function networkOps(core: SdkCore) {
  const step = <S extends Schema.Top & { readonly DecodingServices: never }, A>(
    schema: S,
    f: (s: SdkState, r: S["Type"]) => Result.Result<Step<A>, CorralError>,
    rs?: number,
  ) =>
    (input: unknown) => Effect.flatMap(decodeInput(schema, input),
      (r) => mutate(core, "network", (s) => f(s, r), rs))
  return {
    /** Creates a NIC (NICDEF); returns its vdev. */
    guest_create_nic: step(nics.NicCreateRequest, nics.guestCreateNic, reasons.nicCreate),
    /** Deletes a NIC. */
    guest_delete_nic: step(nics.NicDeleteRequest, nics.guestDeleteNic, reasons.nicDelete),
    /** Couples a NIC to a vswitch the user is granted on. */
    guest_nic_couple_to_vswitch: step(nics.NicCoupleRequest, nics.guestNicCouple,
      reasons.nicCouple),
    /** Uncouples a NIC. */
    guest_nic_uncouple_from_vswitch: step(nics.NicUncoupleRequest, nics.guestNicUncouple,
      reasons.nicUncouple),
    /** NICs with IP configuration; returns the networks with their vdevs. */
    guest_create_network_interface: step(nics.NetworkInterfaceRequest,
      nics.guestCreateNetworkInterface, reasons.nicCreate),
    /** `{vdev: vswitch}` for a guest's NICs. */
    guest_get_nic_vswitch_info: (userid: unknown) => Effect.flatMap(decodeUserid(userid),
      (id) => read(core, "network", (s) => nics.guestNicVswitchInfo(s, id))),
    /** NIC rows matching the given filters. */
    guests_get_nic_info: (input: unknown = {}) => Effect.flatMap(
      decodeInput(nics.NicInfoRequest, input),
      (r) => read(core, "network", (s) => Result.succeed(nics.guestsNicInfo(s, r)))),
    /** Vswitch names. */
    vswitch_get_list: () => read(core, "network", (s) => Result.succeed(vsw.vswitchList(s))),
    /** Creates a vswitch. */
    vswitch_create: step(vsw.VswitchCreateRequest, vsw.vswitchCreate, reasons.vswitchSet),
    /** Deletes a vswitch that has no coupled NICs. */
    vswitch_delete: step(Schema.Struct({ name: vsw.VswitchName,
      persist: Schema.optionalKey(Schema.Boolean) }), (s, r) => vsw.vswitchDelete(s, r.name),
      reasons.vswitchSet),
    /** Changes a vswitch's attributes, grants and revokes. */
    vswitch_set: step(vsw.VswitchSetRequest, vsw.vswitchSet, reasons.vswitchSet),
    /** Grants a user on a vswitch. */
    vswitch_grant_user: step(vsw.VswitchUserRequest,
      (s, r) => vsw.vswitchGrantUser(s, r.vswitch_name, r.userid), reasons.vswitchSet),
    /** Revokes a user from a vswitch. */
    vswitch_revoke_user: step(vsw.VswitchUserRequest,
      (s, r) => vsw.vswitchRevokeUser(s, r.vswitch_name, r.userid), reasons.vswitchSet),
    /** Sets the VLAN id a granted user uses on a VLAN-aware vswitch. */
    vswitch_set_vlan_id_for_user: step(vsw.VswitchVlanRequest,
      (s, r) => vsw.vswitchSetVlanIdForUser(s, r.vswitch_name, r.userid, r.vlan_id),
      reasons.vswitchSet),
    /** Attaches an FC volume to a guest. */
    volume_attach: (input: unknown) => Effect.flatMap(decodeInput(volumes.VolumeRequest, input),
      (r) => mutate(core, "volume", (s) => volumes.volumeAttach(s, r), reasons.volumeAttached)),
    /** Detaches an FC volume from a guest. */
    volume_detach: (input: unknown) => Effect.flatMap(decodeInput(volumes.VolumeRequest, input),
      (r) => mutate(core, "volume", (s) => volumes.volumeDetach(s, r),
        reasons.volumeNotAttached)),
  }
}

/** Every connector operation, by its seed name. */
export type SdkApi = ReturnType<typeof guestOps> & ReturnType<typeof guestReadOps> &
  ReturnType<typeof statsOps> & ReturnType<typeof hostOps> &
  ReturnType<typeof imageOps> & ReturnType<typeof networkOps> & {
    /** A snapshot of the SDK state (for inspection and the simulator). */
    readonly snapshot: () => Effect.Effect<SdkState>
  }

/** Builds the SDK for one host over the `Driver` in context. */
export function makeSdk(config: SdkConfig): Effect.Effect<SdkApi, never, Driver> {
  return Effect.map(makeSdkCore(config), (core) => ({
    ...guestOps(core), ...guestReadOps(core), ...statsOps(core), ...hostOps(core),
    ...imageOps(core), ...networkOps(core),
    snapshot: () => Ref.get(core.state),
  }))
}
