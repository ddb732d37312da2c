/**
 * The SDK's state for one host: guests (the user directory), the image repository, vswitches,
 * disk-pool usage and attached FC volumes. Immutable: every operation returns a new state and a
 * list of driver commands (effects as data); the old state is untouched, so an error leaves it
 * as it was.
 */
import type { Host } from "../inventory/inventory.ts"
import type { PowerState } from "../lifecycle/power.ts"
import type { DiskDefinition, GuestDefinition, PmemVolume } from "../driver/port.ts"

/** Bounds on the SDK's state and inputs. */
export const sdkLimits = {
  guestsMax: 10_000,
  disksPerGuestMax: 64,
  nicsPerGuestMax: 64,
  imagesMax: 10_000,
  vswitchesMax: 1_024,
  grantsPerVswitchMax: 10_000,
  statsUseridsMax: 10_000,
  volumesMax: 100_000,
} as const

/** Static configuration of an SDK instance (the connector's configuration file). */
export interface SdkConfig {
  /** The host the SDK manages: its disk pools and vswitches come from the inventory. */
  readonly host: Host
  /** The pool a disk without `disk_pool` comes from (`[zvm] disk_pool`), if any. */
  readonly defaultDiskPool?: string
  /** The profile a guest without `user_profile` gets (`[zvm] user_profile`). */
  readonly defaultUserProfile: string
  /** The directory `file://` image URLs must stay inside. */
  readonly imageRoot: string
  /** The vdev of a guest's first (root) disk (`[zvm] user_root_vdev`, default 0100). */
  readonly rootVdev: string
  /** The first NIC vdev (`[zvm] default_nic_vdev`, default 1000); each NIC takes three. */
  readonly firstNicVdev: string
}

/** Defaults of `SdkConfig` (all but `host`). */
export const defaultSdkConfig = {
  defaultUserProfile: "OSDFLT",
  imageRoot: "/var/lib/zvmsdk/images",
  rootVdev: "0100",
  firstNicVdev: "1000",
} as const

/** A minidisk of a guest. */
export interface Disk {
  readonly vdev: string
  readonly pool: string
  /** The size as requested (`1g`, `512M`, `2000`). */
  readonly size: string
  readonly sizeBytes: number
  /** What the disk takes from its pool, MB (rounded up). */
  readonly sizeMb: number
  readonly format?: string
  readonly isBootDisk: boolean
  readonly image?: string
  readonly mntdir?: string
}

/** A NIC in the user directory (a NICDEF). */
export interface Nic {
  readonly vdev: string
  readonly nicId?: string
  readonly macAddr?: string
  readonly vswitch?: string
  readonly comments?: string
}

/** A network interface configured by `guest_create_network_interface`. */
export interface GuestNetwork {
  readonly nicVdev: string
  readonly ipAddr?: string
  readonly dnsAddr?: ReadonlyArray<string>
  readonly gatewayAddr?: string
  readonly cidr?: string
}

/** A guest: its directory entry and what Corral last knew of its power state. */
export interface Guest {
  readonly userid: string
  readonly vcpus: number
  readonly memoryMb: number
  readonly userProfile: string
  readonly disks: ReadonlyArray<Disk>
  readonly nics: ReadonlyArray<Nic>
  readonly power: PowerState
  /** The vdev the guest IPLs from (its boot disk), if any. */
  readonly ipl?: string
  readonly osVersion?: string
  readonly networks: ReadonlyArray<GuestNetwork>
  /** Scripts punched by `guest_config_minidisks`, for the guest to run at next boot. */
  readonly minidiskConfig: ReadonlyArray<{ vdev: string; format: string; mntdir: string }>
}

/** An image in the repository. */
export interface Image {
  readonly name: string
  readonly url: string
  readonly osVersion: string
  readonly md5sum: string
  readonly sizeBytes: number
  readonly diskType: "ECKD" | "FBA"
  /** Root disk size in the connector's form, `1100:CYL` or `2097152:BLK`. */
  readonly rootDiskSize: string
  readonly comments?: string
}

/** A user's grant on a vswitch, with the VLAN ids it may use. */
export interface Grant {
  readonly userid: string
  readonly vlanIds?: string
}

/** A virtual switch. */
export interface Vswitch {
  readonly name: string
  readonly rdev: string
  readonly controller: string
  readonly connection: string
  readonly networkType: "IP" | "ETHERNET"
  readonly router?: string
  readonly vid: "UNAWARE" | "AWARE" | number
  readonly portType: "ACCESS" | "TRUNK"
  readonly gvrp: "GVRP" | "NOGVRP"
  readonly queueMemMb: number
  readonly nativeVid: number | null
  readonly persist: boolean
  readonly grants: ReadonlyArray<Grant>
  /** Other attributes set with `vswitch_set` (key as given, value as given). */
  readonly settings: Readonly<Record<string, string>>
}

/** An FC volume attached to a guest. */
export interface VolumeAttachment {
  readonly lun: string
  readonly userid: string
  readonly osType: string
  readonly size?: string
  readonly alias?: string
  readonly fcps: ReadonlyArray<string>
  readonly wwpns: ReadonlyArray<string>
  readonly dedicate: ReadonlyArray<string>
}

/** The whole SDK state. */
export interface SdkState {
  readonly config: SdkConfig
  readonly guests: ReadonlyMap<string, Guest>
  readonly images: ReadonlyMap<string, Image>
  readonly vswitches: ReadonlyMap<string, Vswitch>
  /** MB taken from each disk pool, by pool name. */
  readonly poolUsedMb: ReadonlyMap<string, number>
  /** Attached volumes, by LUN. */
  readonly volumes: ReadonlyMap<string, VolumeAttachment>
}

/** A command for the driver: the effect of an operation, as data. */
export type DriverCommand =
  | { readonly kind: "define"; readonly guest: GuestDefinition }
  | { readonly kind: "undefine"; readonly userid: string }
  | { readonly kind: "createDisk"; readonly userid: string; readonly disk: DiskDefinition }
  | { readonly kind: "deleteDisk"; readonly userid: string; readonly vdev: string }
  | { readonly kind: "addPmem"; readonly userid: string; readonly volume: PmemVolume }
  | { readonly kind: "deployImage"; readonly userid: string; readonly vdev: string;
      readonly imageName: string }
  | { readonly kind: "deleteImage"; readonly imageName: string }

/** An accepted operation: the new state, the output for the caller, and the driver commands. */
export interface Step<A> {
  readonly state: SdkState
  readonly output: A
  readonly commands: ReadonlyArray<DriverCommand>
}

/** Builds the empty state of a host: its vswitches from the inventory, no guests or images. */
export function initialState(config: SdkConfig): SdkState {
  const vswitches = new Map<string, Vswitch>()
  for (const v of config.host.vswitches) {
    vswitches.set(v.name.toUpperCase(), {
      name: v.name.toUpperCase(), rdev: "NONE", controller: "*", connection: "CONNECT",
      networkType: "ETHERNET", vid: v.vlanAware ? "AWARE" : "UNAWARE", portType: "ACCESS",
      gvrp: "GVRP", queueMemMb: 8, nativeVid: v.vlanAware ? 1 : null, persist: true,
      grants: [], settings: {},
    })
  }
  return {
    config,
    guests: new Map(),
    images: new Map(),
    vswitches,
    poolUsedMb: new Map(config.host.diskPools.map((p) => [p.name, 0])),
    volumes: new Map(),
  }
}

export { withEntry, withoutEntry } from "../readonly-map.ts"

/** The canonical (upper-case) form of a userid or vswitch name. */
export function canonical(name: string): string {
  return name.toUpperCase()
}

/** A vdev as four upper-case hex digits. */
export function canonicalVdev(vdev: string): string {
  return vdev.toUpperCase().padStart(4, "0")
}
