/**
 * The in-memory driver: the driver port implemented as data, in virtual time.
 *
 * Time is Effect's Clock: run with `virtualClock(...)` provided and every sleep of the SDK
 * (softstop polling) advances the virtual time instantly; the driver reads the same clock, so a
 * guest OS that needs 30 s to shut down is off after 30 virtual seconds. CPU time accrues while a
 * guest runs at `cpuLoad` × vCPUs; NIC counters grow with uptime. `failNext` injects one failure
 * of an operation (for rollback tests and the simulator's fault injection).
 */
import { createHash } from "node:crypto"
import { type Clock, Duration, Effect, Layer } from "effect"
import { Conflict, NotFound } from "../../core/errors.ts"
import {
  Driver, DriverFailure, type DriverError, type DriverShape, type GuestDefinition,
  type NicCounters, type PmemVolume,
} from "../../core/driver/port.ts"
import type { PowerState } from "../../core/lifecycle/power.ts"

/** A clock whose sleeps advance its time at once. `advance` moves it by hand. */
export interface VirtualClock extends Clock.Clock {
  readonly advance: (ms: number) => void
  readonly nowMs: () => number
}

/** A virtual clock starting at `startMs` (default 0). */
export function virtualClock(startMs = 0): VirtualClock {
  let now = startMs
  const nanos = () => BigInt(now) * 1_000_000n
  return {
    currentTimeMillisUnsafe: () => now,
    currentTimeMillis: Effect.sync(() => now),
    currentTimeNanosUnsafe: nanos,
    currentTimeNanos: Effect.sync(nanos),
    monotonicTimeNanosUnsafe: nanos,
    monotonicTimeNanos: Effect.sync(nanos),
    sleep: (d) => Effect.sync(() => { now += Duration.toMillis(d) }),
    advance: (ms) => {
      if (!(ms >= 0)) throw new Error(`virtual clock cannot go back (${ms} ms)`)
      now += ms
    },
    nowMs: () => now,
  }
}

/** How simulated guests behave. */
export interface MemoryDriverOptions {
  readonly hostname?: string
  /** The simulated host's architecture (default `s390x`, a z/VM host). */
  readonly architecture?: string
  readonly cpus?: number
  readonly memoryMb?: number
  /** Seconds a guest OS takes to shut down after the signal (default 10). */
  readonly shutdownDelayS?: number
  /** Userids whose OS ignores the shutdown signal (softstop then logs them off hard). */
  readonly ignoresShutdown?: ReadonlyArray<string>
  /** Fraction of each vCPU a running guest uses (default 0.5). */
  readonly cpuLoad?: number
  /** Frames a NIC receives per second of uptime (default 100; it sends half as many). */
  readonly nicFramesPerS?: number
  /** Bytes behind the URLs an import may fetch. */
  readonly files?: ReadonlyMap<string, Uint8Array>
}

interface SimGuest {
  readonly def: GuestDefinition
  power: PowerState
  startedAtMs: number
  cpuUsBefore: number
  runningSinceMs: number
  shutdownAtMs: number | undefined
  readonly disks: Map<string, { sizeBytes: number; bytes: Uint8Array }>
  readonly pmem: Map<string, PmemVolume>
  readonly console: string[]
}

/** Most console lines kept per guest. */
export const consoleLinesMax = 1_000

/** The memory driver's extra controls, beside the port. */
export interface MemoryDriver extends DriverShape {
  /** Makes the next call of `operation` (for `userid`, or any) fail with a DriverFailure. */
  readonly failNext: (operation: string, userid?: string) => void
  /** Userids the driver holds. */
  readonly userids: () => ReadonlyArray<string>
  /** Stored image bytes by name. */
  readonly imageBytes: (name: string) => Uint8Array | undefined
}

function md5(bytes: Uint8Array): string {
  return createHash("md5").update(bytes).digest("hex")
}

/** The memory driver's shared state and helpers. */
function makeSim(options: MemoryDriverOptions) {
  const guests = new Map<string, SimGuest>()
  const images = new Map<string, Uint8Array>()
  const exported = new Map<string, Uint8Array>()
  const faults: Array<{ operation: string; userid: string | undefined }> = []
  const load = options.cpuLoad ?? 0.5
  const delayMs = (options.shutdownDelayS ?? 10) * 1000
  const now = Effect.clockWith((c) => c.currentTimeMillis)

  const fault = (operation: string, userid?: string): Effect.Effect<void, DriverFailure> => {
    const k = faults.findIndex((f) => f.operation === operation &&
      (f.userid === undefined || f.userid === userid))
    if (k < 0) return Effect.void
    faults.splice(k, 1)
    return Effect.fail(new DriverFailure({ operation, ...(userid === undefined ? {} : { userid }),
      message: `injected failure of ${operation}` }))
  }
  const log = (g: SimGuest, at: number, line: string) => {
    g.console.push(`[${(at / 1000).toFixed(3)}] ${line}`)
    if (g.console.length > consoleLinesMax) g.console.shift()
  }
  /** The guest, with a pending shutdown completed if its time has come. */
  const guest = (operation: string, userid: string): Effect.Effect<SimGuest, DriverError> =>
    Effect.gen(function* () {
      yield* fault(operation, userid)
      const g = guests.get(userid)
      if (g === undefined) {
        return yield* Effect.fail(new NotFound({ resource: "guest", id: userid }))
      }
      const t = yield* now
      if (g.shutdownAtMs !== undefined && t >= g.shutdownAtMs && g.power !== "off") {
        powerOff(g, g.shutdownAtMs)
        log(g, g.shutdownAtMs, "guest OS shut down; user logged off")
      }
      return g
    })
  const cpuUs = (g: SimGuest, t: number) => g.cpuUsBefore +
    (g.power === "on" ? Math.floor((t - g.runningSinceMs) * 1000 * load * g.def.vcpus) : 0)
  const freezeCpu = (g: SimGuest, t: number) => {
    g.cpuUsBefore = cpuUs(g, t)
    g.runningSinceMs = t
  }
  const powerOff = (g: SimGuest, t: number) => {
    freezeCpu(g, t)
    g.power = "off"
    g.shutdownAtMs = undefined
  }
  const running = (g: SimGuest, op: string, states: ReadonlyArray<PowerState>) =>
    states.includes(g.power) ? Effect.void : Effect.fail(new Conflict({
      message: `${op}: guest ${g.def.userid} is ${g.power}` }))
  const transition = (op: string, states: ReadonlyArray<PowerState>,
    f: (g: SimGuest, t: number) => void) => (userid: string) =>
    Effect.gen(function* () {
      const g = yield* guest(op, userid)
      yield* running(g, op, states)
      const t = yield* now
      f(g, t)
      log(g, t, op)
    })
  return { guests, images, exported, faults, options, load, delayMs, now, fault, log, guest,
    cpuUs, freezeCpu, powerOff, running, transition }
}

type Sim = ReturnType<typeof makeSim>

/** Definition and power: the state machine of a simulated guest. */
function powerMethods(sim: Sim): Pick<DriverShape,
  "define" | "undefine" | "powerState" | "start" | "stop" | "signalShutdown" | "pause" |
  "unpause" | "reset" | "reboot"> {
  const { guests, options, delayMs, fault, guest, freezeCpu, powerOff, transition } = sim
  return {
    define: (def) => Effect.gen(function* () {
      yield* fault("define", def.userid)
      if (guests.has(def.userid)) {
        return yield* Effect.fail(new Conflict({ message: `guest ${def.userid} is defined` }))
      }
      guests.set(def.userid, { def, power: "off", startedAtMs: 0, cpuUsBefore: 0,
        runningSinceMs: 0, shutdownAtMs: undefined, disks: new Map(), pmem: new Map(),
        console: [] })
    }),
    undefine: (userid) => Effect.map(guest("undefine", userid), () => { guests.delete(userid) }),
    powerState: (userid) => Effect.map(guest("powerState", userid), (g) => g.power),
    start: transition("start", ["off"], (g, t) => {
      g.power = "on"; g.startedAtMs = t; g.runningSinceMs = t
    }),
    stop: transition("stop", ["on", "paused"], (g, t) => powerOff(g, t)),
    signalShutdown: transition("signalShutdown", ["on", "paused"], (g, t) => {
      if (!(options.ignoresShutdown ?? []).includes(g.def.userid) && g.power === "on") {
        g.shutdownAtMs = t + delayMs
      }
    }),
    pause: transition("pause", ["on"], (g, t) => { freezeCpu(g, t); g.power = "paused" }),
    unpause: transition("unpause", ["paused"], (g, t) => { g.power = "on"; g.runningSinceMs = t }),
    reset: transition("reset", ["on"], (g, t) => { g.startedAtMs = t; g.shutdownAtMs = undefined }),
    reboot: transition("reboot", ["on"], (g, t) => {
      g.startedAtMs = t; g.shutdownAtMs = undefined
    }),
  }
}

/** Usage, console, PCI and NIC figures, from virtual time. */
function monitorMethods(sim: Sim): Pick<DriverShape,
  "usage" | "consoleOutput" | "pciFunctions" | "nicCounters"> {
  const { options, load, now, guest, cpuUs } = sim
  return {
    usage: (userid) => Effect.gen(function* () {
      const g = yield* guest("usage", userid)
      const t = yield* now
      const up = g.power === "off" ? 0 : (t - g.startedAtMs) * 1000
      return { cpuTimeUs: cpuUs(g, t), uptimeUs: up,
        memKb: g.power === "off" ? 0 : Math.floor(g.def.memoryMb * 1024 * load) }
    }),
    consoleOutput: (userid) => Effect.map(guest("consoleOutput", userid),
      (g) => g.console.join("\n")),
    pciFunctions: (userid) => Effect.map(guest("pciFunctions", userid), () => []),
    nicCounters: (userid, vdevs) => Effect.gen(function* () {
      const g = yield* guest("nicCounters", userid)
      const upS = g.power === "off" ? 0 : ((yield* now) - g.startedAtMs) / 1000
      const rx = Math.floor(upS * (options.nicFramesPerS ?? 100))
      return vdevs.map((vdev): NicCounters => ({ vdev, rxFrames: rx, txFrames: Math.floor(rx / 2),
        rxDiscards: 0, txDiscards: 0, rxErrors: 0, txErrors: 0, rxBytes: rx * 1500,
        txBytes: Math.floor(rx / 2) * 1500 }))
    }),
  }
}

/** Minidisks and pmem volumes as records. */
function storageMethods(sim: Sim): Pick<DriverShape,
  "createDisk" | "deleteDisk" | "addPmem" | "removePmem"> {
  const { guest } = sim
  return {
    createDisk: (userid, disk) => Effect.gen(function* () {
      const g = yield* guest("createDisk", userid)
      if (g.disks.has(disk.vdev)) {
        return yield* Effect.fail(new Conflict({ message: `disk ${disk.vdev} exists` }))
      }
      g.disks.set(disk.vdev, { sizeBytes: disk.sizeBytes, bytes: new Uint8Array(0) })
    }),
    deleteDisk: (userid, vdev) => Effect.gen(function* () {
      const g = yield* guest("deleteDisk", userid)
      if (!g.disks.delete(vdev)) {
        return yield* Effect.fail(new NotFound({ resource: `disk of ${userid}`, id: vdev }))
      }
    }),
    addPmem: (userid, volume) => Effect.map(guest("addPmem", userid),
      (g) => { g.pmem.set(volume.name, volume) }),
    removePmem: (userid, name) => Effect.gen(function* () {
      const g = yield* guest("removePmem", userid)
      if (!g.pmem.delete(name)) {
        return yield* Effect.fail(new NotFound({ resource: `pmem volume of ${userid}`, id: name }))
      }
    }),
  }
}

/** The image store: bytes by name, fetched from `options.files`. */
function imageMethods(sim: Sim): Pick<DriverShape,
  "importImage" | "exportImage" | "deleteImage" | "deployImage" | "captureImage"> {
  const { images, exported, options, fault, guest } = sim
  return {
    importImage: (name, url) => Effect.gen(function* () {
      yield* fault("importImage")
      const bytes = options.files?.get(url)
      if (bytes === undefined) {
        return yield* Effect.fail(new DriverFailure({ operation: "importImage",
          message: `Import image from ${url} failed: no such file` }))
      }
      images.set(name, bytes)
      return { sizeBytes: bytes.length, md5sum: md5(bytes) }
    }),
    exportImage: (name, destUrl) => Effect.gen(function* () {
      yield* fault("exportImage")
      const bytes = images.get(name)
      if (bytes === undefined) {
        return yield* Effect.fail(new NotFound({ resource: "image", id: name }))
      }
      const path = destUrl.replace(/^file:\/\//, "")
      exported.set(path, bytes)
      return path
    }),
    deleteImage: (name) => Effect.sync(() => { images.delete(name) }),
    deployImage: (userid, vdev, name) => Effect.gen(function* () {
      const g = yield* guest("deployImage", userid)
      const disk = g.disks.get(vdev)
      const bytes = images.get(name)
      if (disk === undefined || bytes === undefined) {
        const id = `${vdev}/${name}`
        return yield* Effect.fail(new NotFound({ resource: "disk or image", id }))
      }
      g.disks.set(vdev, { ...disk, bytes })
    }),
    captureImage: (userid, vdevs, name) => Effect.gen(function* () {
      const g = yield* guest("captureImage", userid)
      const parts = vdevs.map((v) => g.disks.get(v)?.bytes ?? new Uint8Array(0))
      const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
      let at = 0
      for (const p of parts) { bytes.set(p, at); at += p.length }
      images.set(name, bytes)
      return { sizeBytes: bytes.length, md5sum: md5(bytes) }
    }),
  }
}

/** Builds a memory driver. All of its time comes from the Clock in context. */
export function makeMemoryDriver(options: MemoryDriverOptions = {}): MemoryDriver {
  const sim = makeSim(options)
  const { guests, images, faults } = sim
  const driver: MemoryDriver = {
    ...powerMethods(sim), ...monitorMethods(sim), ...storageMethods(sim), ...imageMethods(sim),
    hostFacts: () => Effect.succeed({ hypervisorType: "corral-sim", hypervisorVersion: "1",
      hostname: options.hostname ?? "sim", architecture: options.architecture ?? "s390x",
      cpus: options.cpus ?? 16,
      memoryMb: options.memoryMb ?? 65536 }),
    failNext: (operation, userid) => { faults.push({ operation, userid }) },
    userids: () => [...guests.keys()].sort(),
    imageBytes: (name) => images.get(name),
  }
  return driver
}

/** A layer providing the memory driver as the `Driver` service. */
export function layerSim(driver: MemoryDriver = makeMemoryDriver()): Layer.Layer<Driver> {
  return Layer.succeed(Driver, driver)
}
