/**
 * The driver port: the one service through which Corral touches a hypervisor or a host.
 *
 * The SDK (`core/sdk`) decides; a driver does. Implementations: the in-memory simulator driver
 * (`adapters/sim/memory-driver.ts`, virtual time), the QEMU driver (`adapters/qemu`, one real
 * `qemu-system-x86_64` process per guest over QMP). Every method is an Effect whose expected
 * errors are `NotFound` (the driver does not know the guest), `Conflict` (the hypervisor refuses
 * in this state, e.g. QEMU 7.2 cannot hot-unplug an NVDIMM) or `DriverFailure` (the hypervisor
 * or host failed; the connector reports these as overallRC 300).
 */
import { Context, type Effect, Schema } from "effect"
import type { Conflict, NotFound } from "../errors.ts"
import type { PowerState } from "../lifecycle/power.ts"

/** The hypervisor or host failed an operation it should have been able to do. */
export class DriverFailure extends Schema.TaggedError<DriverFailure>()("DriverFailure", {
  operation: Schema.String,
  userid: Schema.optionalKey(Schema.String),
  message: Schema.String,
}) {}

/** What a driver method may fail with. */
export type DriverError = NotFound | Conflict | DriverFailure

/** A guest as the driver must materialise it (the connector's user directory entry). */
export interface GuestDefinition {
  readonly userid: string
  readonly vcpus: number
  readonly memoryMb: number
}

/** A minidisk the driver backs (a file for QEMU, a record for the simulator). */
export interface DiskDefinition {
  readonly vdev: string
  readonly sizeBytes: number
}

/** A persistent-memory volume: an NVDIMM on QEMU, backed by a file that outlives restarts. */
export interface PmemVolume {
  readonly name: string
  readonly sizeMb: number
}

/** Usage figures a driver reads from the hypervisor for a guest. */
export interface GuestUsage {
  /** CPU time consumed since the guest was created, microseconds. */
  readonly cpuTimeUs: number
  /** Wall time the guest has been running since its last start, microseconds (0 when off). */
  readonly uptimeUs: number
  /** Memory the guest currently uses, KiB. */
  readonly memKb: number
}

/** A PCI function as the hypervisor shows it to the guest (QEMU's `query-pci`). */
export interface GuestPciFunction {
  readonly bus: number
  readonly slot: number
  readonly function: number
  readonly vendorId: string
  readonly deviceId: string
  readonly classId: string
  readonly description: string
}

/** Frame counters of one guest NIC (the connector's `guest_inspect_vnics` fields). */
export interface NicCounters {
  readonly vdev: string
  readonly rxFrames: number
  readonly txFrames: number
  readonly rxDiscards: number
  readonly txDiscards: number
  readonly rxErrors: number
  readonly txErrors: number
  readonly rxBytes: number
  readonly txBytes: number
}

/** What an image import or capture produced in the driver's image store. */
export interface StoredImage {
  readonly sizeBytes: number
  readonly md5sum: string
}

/** The driver's view of its host, for `host_get_info`. */
export interface HostFacts {
  readonly hypervisorType: string
  readonly hypervisorVersion: string
  readonly hostname: string
  /** The host's CPU architecture (`s390x`, `x86_64`…). */
  readonly architecture: string
  readonly cpus: number
  readonly memoryMb: number
}

/** The port's shape. Every method that names a userid fails with NotFound for an unknown one. */
export interface DriverShape {
  /** Defines a guest (powered off). Conflict if the userid is already defined. */
  readonly define: (guest: GuestDefinition) => Effect.Effect<void, DriverError>
  /** Removes a guest, ending it first if it runs; its disks and volumes go with it. */
  readonly undefine: (userid: string) => Effect.Effect<void, DriverError>
  /** The guest's power state as the hypervisor reports it. */
  readonly powerState: (userid: string) => Effect.Effect<PowerState, DriverError>
  /** Powers on a guest that is off. */
  readonly start: (userid: string) => Effect.Effect<void, DriverError>
  /** Hard power-off (logoff, or the QEMU process ended). */
  readonly stop: (userid: string) => Effect.Effect<void, DriverError>
  /** Asks the guest OS to shut down (SIGNAL SHUTDOWN, QMP `system_powerdown`); returns at once. */
  readonly signalShutdown: (userid: string) => Effect.Effect<void, DriverError>
  /** Suspends a running guest's CPUs. */
  readonly pause: (userid: string) => Effect.Effect<void, DriverError>
  /** Resumes a paused guest. */
  readonly unpause: (userid: string) => Effect.Effect<void, DriverError>
  /** Hard reset of a running guest; it comes back running. */
  readonly reset: (userid: string) => Effect.Effect<void, DriverError>
  /** Orderly reboot of a running guest; it comes back running. */
  readonly reboot: (userid: string) => Effect.Effect<void, DriverError>
  /** CPU time and memory use. */
  readonly usage: (userid: string) => Effect.Effect<GuestUsage, DriverError>
  /** The guest's console log (the spool of its virtual console). */
  readonly consoleOutput: (userid: string) => Effect.Effect<string, DriverError>
  /** PCI functions the guest sees; empty for a guest that is off. */
  readonly pciFunctions: (userid: string) => Effect.Effect<ReadonlyArray<GuestPciFunction>,
    DriverError>
  /** Frame counters of the guest's NICs at `vdevs` (zero for NICs the hypervisor lacks). */
  readonly nicCounters: (userid: string, vdevs: ReadonlyArray<string>) =>
    Effect.Effect<ReadonlyArray<NicCounters>, DriverError>
  /** Creates a minidisk. Conflict if the vdev exists. */
  readonly createDisk: (userid: string, disk: DiskDefinition) => Effect.Effect<void, DriverError>
  /** Deletes a minidisk. NotFound if the vdev does not exist. */
  readonly deleteDisk: (userid: string, vdev: string) => Effect.Effect<void, DriverError>
  /** Adds a pmem volume (cold at next start, hot-added now if running). */
  readonly addPmem: (userid: string, volume: PmemVolume) => Effect.Effect<void, DriverError>
  /** Removes a pmem volume and its backing; Conflict where the hypervisor cannot hot-unplug. */
  readonly removePmem: (userid: string, name: string) => Effect.Effect<void, DriverError>
  /** Fetches an image from `url` into the image store under `imageName`. */
  readonly importImage: (imageName: string, url: string) => Effect.Effect<StoredImage, DriverError>
  /** Copies a stored image to `destUrl`, returning the path written. */
  readonly exportImage: (imageName: string, destUrl: string) => Effect.Effect<string, DriverError>
  /** Removes a stored image. */
  readonly deleteImage: (imageName: string) => Effect.Effect<void, DriverError>
  /** Writes a stored image onto a guest's disk. */
  readonly deployImage: (userid: string, vdev: string, imageName: string) =>
    Effect.Effect<void, DriverError>
  /** Copies guest disks (in order, concatenated) into a new stored image. */
  readonly captureImage: (userid: string, vdevs: ReadonlyArray<string>, imageName: string) =>
    Effect.Effect<StoredImage, DriverError>
  /** Facts about the host the driver runs guests on. */
  readonly hostFacts: () => Effect.Effect<HostFacts, DriverError>
}

/** The driver service. Provide it with a layer: `layerSim(...)`, `layerQemu(...)`. */
export class Driver extends Context.Service<Driver, DriverShape>()("corral/Driver") {}
