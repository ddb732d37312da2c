/**
 * The QEMU driver: each guest is a real `qemu-system-x86_64` process (KVM when `/dev/kvm` is
 * usable, TCG otherwise) with no OS and no display, controlled over QMP on a unix socket.
 *
 * Power: start spawns QEMU stopped (`-S`), connects QMP and `cont`s; stop is QMP `quit` (then
 * SIGKILL if the process lingers); softstop's signal is `system_powerdown`; pause/unpause are
 * `stop`/`cont`; reset and reboot are `system_reset`. The power state is read from QEMU itself
 * (`query-status`); no process means off. Pmem volumes are NVDIMMs backed by files in the
 * guest's directory (`memory-backend-file` + `nvdimm`): cold-plugged at start, hot-added while
 * running; QEMU 7.2 cannot hot-unplug them, so removing one from a running guest is a Conflict.
 * A backing file outlives restarts. Minidisks are sparse files (not attached to the VM: guests
 * boot no OS). Every process started is tracked and killed by `close()` and at process exit.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { createHash } from "node:crypto"
import { accessSync, constants, createReadStream, createWriteStream, existsSync } from "node:fs"
import { copyFile, mkdir, open, readFile, rm, stat, truncate, writeFile } from "node:fs/promises"
import { cpus, hostname, machine, totalmem } from "node:os"
import { dirname, join } from "node:path"
import { pipeline } from "node:stream/promises"
import { Effect, Layer } from "effect"
import { Conflict, NotFound } from "../../core/errors.ts"
import {
  Driver, DriverFailure, type DriverError, type DriverShape, type GuestDefinition,
  type GuestPciFunction, type PmemVolume,
} from "../../core/driver/port.ts"
import type { PowerState } from "../../core/lifecycle/power.ts"
import { QmpClient, QmpError } from "./qmp.ts"

/** Options of the QEMU driver. */
export interface QemuDriverOptions {
  /** Directory for guests' sockets, disks, pmem backing files and the image store. */
  readonly workDir: string
  readonly binary?: string
  /** `auto` (default) uses KVM when /dev/kvm is readable and writable. */
  readonly accel?: "auto" | "kvm" | "tcg"
  /** Room above guest RAM for hot-added NVDIMMs, MB (default 1024). */
  readonly pmemRoomMb?: number
}

/** Bounds of the driver. */
export const qemuLimits = {
  quitWaitMs: 5_000,
  pmemPerGuestMax: 8,
  consoleBytesMax: 64 * 1024,
} as const

const live = new Set<ChildProcess>()
let exitHookInstalled = false
function track(proc: ChildProcess): void {
  live.add(proc)
  proc.once("exit", () => live.delete(proc))
  if (!exitHookInstalled) {
    exitHookInstalled = true
    process.once("exit", () => { for (const p of live) p.kill("SIGKILL") })
  }
}

/** QEMU processes started by any QEMU driver in this process and still running. */
export function liveQemuProcesses(): number {
  return live.size
}

/** Whether KVM can be used by this process. */
export function kvmUsable(): boolean {
  try {
    accessSync("/dev/kvm", constants.R_OK | constants.W_OK)
    return true
  } catch {
    return false
  }
}

interface Pmem { readonly volume: PmemVolume; readonly path: string; plugged: boolean }
interface QemuGuest {
  readonly def: GuestDefinition
  readonly dir: string
  proc: ChildProcess | undefined
  qmp: QmpClient | undefined
  startedAtMs: number
  cpuUsBefore: number
  lastCpuUs: number
  readonly pmem: Map<string, Pmem>
  readonly disks: Map<string, string>
}

const pmemName = /^[A-Za-z0-9_-]{1,32}$/
const clockTicksPerS = 100

/** The QEMU driver plus `close()`, which ends every guest it started. */
export interface QemuDriver extends DriverShape {
  readonly close: () => Promise<void>
  /** The path of a guest's pmem backing file (for tests and tools). */
  readonly pmemPath: (userid: string, name: string) => string
  /** The QEMU process id of a running guest. */
  readonly pid: (userid: string) => number | undefined
  /** QEMU's `query-memory-devices` for a running guest (NVDIMMs and DIMMs plugged). */
  readonly memoryDevices: (userid: string) => Promise<ReadonlyArray<{ type: string; id: string;
    sizeBytes: number }>>
}

/** What spawning a guest needs to know. */
interface Runtime {
  readonly binary: string
  readonly accel: string
  readonly pmemRoomMb: number
}

/** CPU time of the guest's QEMU processes so far (utime + stime of the live one), µs. */
const readCpuUs = async (g: QemuGuest): Promise<number> => {
  if (g.proc?.pid === undefined) return g.cpuUsBefore
  try {
    const stat = await readFile(`/proc/${g.proc.pid}/stat`, "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    const ticks = Number(fields[11]) + Number(fields[12])
    g.lastCpuUs = Math.round(ticks * 1_000_000 / clockTicksPerS)
  } catch { /* the process just ended: keep the last sample */ }
  return g.cpuUsBefore + g.lastCpuUs
}

/** Command-line arguments that cold-plug a pmem volume as an NVDIMM. */
const pmemArgs = (p: Pmem) => [
  "-object", `memory-backend-file,id=mem-${p.volume.name},share=on,mem-path=${p.path},` +
    `size=${p.volume.sizeMb}M`,
  "-device", `nvdimm,id=nv-${p.volume.name},memdev=mem-${p.volume.name}`,
]
/** Creates a volume's backing file at its size unless it exists (its data is kept). */
const ensureBacking = async (p: Pmem) => {
  if (existsSync(p.path)) return
  await writeFile(p.path, "")
  await truncate(p.path, p.volume.sizeMb * 1024 * 1024)
}

/** Starts QEMU stopped, connects QMP, cold-plugs the NVDIMMs, then lets the CPUs run. */
const spawnGuest = async (rt: Runtime, g: QemuGuest): Promise<void> => {
  const socket = join(g.dir, "qmp.sock")
  await rm(socket, { force: true })
  for (const p of g.pmem.values()) await ensureBacking(p)
  const memMb = g.def.memoryMb
  const args = [
    "-machine", `pc,nvdimm=on,accel=${rt.accel}`, "-nodefaults", "-display", "none", "-S",
    "-m", `${memMb}M,slots=${qemuLimits.pmemPerGuestMax},maxmem=${memMb +
      rt.pmemRoomMb}M`,
    "-smp", String(g.def.vcpus), "-name", g.def.userid,
    "-qmp", `unix:${socket},server=on,wait=off`,
    "-chardev", `file,id=console,path=${join(g.dir, "console.log")}`,
    "-serial", "chardev:console",
    ...[...g.pmem.values()].flatMap(pmemArgs),
  ]
  const proc = spawn(rt.binary, args, { stdio: ["ignore", "ignore", "pipe"] })
  track(proc)
  let stderr = ""
  proc.stderr?.on("data", (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4096) })
  g.proc = proc
  g.lastCpuUs = 0
  proc.once("exit", () => {
    g.cpuUsBefore += g.lastCpuUs
    g.lastCpuUs = 0
    g.qmp?.close()
    if (g.proc === proc) { g.proc = undefined; g.qmp = undefined }
  })
  const exited = new Promise<never>((_, reject) => proc.once("exit", (code) =>
    reject(new Error(`QEMU exited (${code}) during start: ${stderr.trim()}`))))
  exited.catch(() => undefined)
  try {
    g.qmp = await Promise.race([QmpClient.connect(socket), exited])
    await g.qmp.execute("cont")
    for (const p of g.pmem.values()) p.plugged = true
    g.startedAtMs = Date.now()
  } catch (e) {
    proc.kill("SIGKILL")
    throw e
  }
}

/** Ends the guest's QEMU: QMP quit, SIGKILL after `quitWaitMs`. */
const quit = async (g: QemuGuest): Promise<void> => {
  const proc = g.proc
  if (proc === undefined) return
  await readCpuUs(g)
  const gone = new Promise<void>((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) resolve()
    else proc.once("exit", () => resolve())
  })
  g.qmp?.execute("quit").catch(() => undefined)
  const timer = setTimeout(() => proc.kill("SIGKILL"), qemuLimits.quitWaitMs)
  await gone
  clearTimeout(timer)
  for (const p of g.pmem.values()) p.plugged = false
}

/** The power state from QMP `query-status` (no process: off). */
const status = async (g: QemuGuest): Promise<PowerState> => {
  if (g.proc === undefined || g.qmp === undefined) return "off"
  try {
    const s = await g.qmp.execute("query-status") as { status: string }
    if (s.status === "shutdown") return "off"
    return s.status === "paused" || s.status === "prelaunch" || s.status === "suspended"
      ? "paused" : "on"
  } catch (e) {
    if (g.proc === undefined) return "off"
    throw e
  }
}

/** Hot-adds a volume to a running guest: memory backend object, then the nvdimm device. */
const hotAdd = async (g: QemuGuest, p: Pmem) => {
  await ensureBacking(p)
  await g.qmp!.execute("object-add", { "qom-type": "memory-backend-file",
    id: `mem-${p.volume.name}`, "mem-path": p.path, size: p.volume.sizeMb * 1024 * 1024,
    share: true })
  await g.qmp!.execute("device_add", { driver: "nvdimm", id: `nv-${p.volume.name}`,
    memdev: `mem-${p.volume.name}` })
  p.plugged = true
}


/** The QEMU driver's shared state and helpers. */
function makeContext(options: QemuDriverOptions) {
  const binary = options.binary ?? "qemu-system-x86_64"
  const accel = (options.accel ?? "auto") === "auto" ? (kvmUsable() ? "kvm" : "tcg")
    : options.accel!
  const guests = new Map<string, QemuGuest>()
  const imagesDir = join(options.workDir, "images")

  const attempt = <A>(operation: string, userid: string | undefined, f: () => Promise<A>) =>
    Effect.tryPromise({ try: f, catch: (e) => new DriverFailure({ operation,
      ...(userid === undefined ? {} : { userid }),
      message: e instanceof Error ? e.message : String(e) }) })
  const find = (userid: string): Effect.Effect<QemuGuest, NotFound> => {
    const g = guests.get(userid)
    return g === undefined ? Effect.fail(new NotFound({ resource: "guest", id: userid }))
      : Effect.succeed(g)
  }
  const needRunning = (g: QemuGuest, op: string) => g.proc === undefined
    ? Effect.fail(new Conflict({ message: `${op}: guest ${g.def.userid} is off` }))
    : Effect.succeed(g.qmp!)
  const qmp = (g: QemuGuest, op: string, command: string, args?: Record<string, unknown>) =>
    Effect.flatMap(needRunning(g, op), (client) => attempt(op, g.def.userid,
      () => client.execute(command, args)))

  const md5File = async (path: string) => {
    const hash = createHash("md5")
    await pipeline(createReadStream(path), hash)
    return hash.digest("hex")
  }
  const imagePath = (name: string) => join(imagesDir, `${encodeURIComponent(name)}.img`)
  const stored = async (path: string) => ({ sizeBytes: (await stat(path)).size,
    md5sum: await md5File(path) })
  const urlPath = (url: string) => decodeURIComponent(url.replace(/^file:\/\//, ""))
  return { options, binary, accel, guests, imagesDir, attempt, find, needRunning, qmp, md5File,
    imagePath, stored, urlPath }
}

type Context = ReturnType<typeof makeContext>

/** Definition and power over QMP. */
function powerMethods(c: Context): Pick<QemuDriver,
  "define" | "undefine" | "powerState" | "start" | "stop" | "signalShutdown" | "pause" |
  "unpause" | "reset" | "reboot"> {
  const { options, binary, accel, guests, attempt, find, needRunning, qmp } = c
  const rt: Runtime = { binary, accel, pmemRoomMb: options.pmemRoomMb ?? 1024 }
  return {
    define: (def) => Effect.gen(function* () {
      if (guests.has(def.userid)) {
        return yield* Effect.fail(new Conflict({ message: `guest ${def.userid} is defined` }))
      }
      const dir = join(options.workDir, "guests", def.userid)
      yield* attempt("define", def.userid, () => mkdir(dir, { recursive: true }))
      guests.set(def.userid, { def, dir, proc: undefined, qmp: undefined, startedAtMs: 0,
        cpuUsBefore: 0, lastCpuUs: 0, pmem: new Map(), disks: new Map() })
    }),
    undefine: (userid) => Effect.gen(function* () {
      const g = yield* find(userid)
      yield* attempt("undefine", userid, async () => {
        await quit(g)
        await rm(g.dir, { recursive: true, force: true })
      })
      guests.delete(userid)
    }),
    powerState: (userid) => Effect.flatMap(find(userid),
      (g) => attempt("powerState", userid, () => status(g))),
    start: (userid) => Effect.flatMap(find(userid), (g): Effect.Effect<void, DriverError> =>
      g.proc !== undefined
      ? Effect.fail(new Conflict({ message: `start: guest ${userid} is running` }))
      : attempt("start", userid, () => spawnGuest(rt, g))),
    stop: (userid) => Effect.flatMap(find(userid), (g) => Effect.flatMap(needRunning(g, "stop"),
      () => attempt("stop", userid, () => quit(g)))),
    signalShutdown: (userid) => Effect.flatMap(find(userid),
      (g) => Effect.asVoid(qmp(g, "signalShutdown", "system_powerdown"))),
    pause: (userid) => Effect.flatMap(find(userid), (g) => Effect.asVoid(qmp(g, "pause", "stop"))),
    unpause: (userid) => Effect.flatMap(find(userid),
      (g) => Effect.asVoid(qmp(g, "unpause", "cont"))),
    reset: (userid) => Effect.flatMap(find(userid),
      (g) => Effect.asVoid(qmp(g, "reset", "system_reset"))),
    reboot: (userid) => Effect.flatMap(find(userid),
      (g) => Effect.asVoid(qmp(g, "reboot", "system_reset"))),
  }
}

/** Usage from /proc, console file, PCI from QMP, host facts. */
function monitorMethods(c: Context): Pick<QemuDriver,
  "usage" | "consoleOutput" | "pciFunctions" | "nicCounters" | "hostFacts"> {
  const { binary, accel, attempt, find, qmp } = c
  return {
    usage: (userid) => Effect.flatMap(find(userid), (g) => attempt("usage", userid, async () => {
      const cpuTimeUs = await readCpuUs(g)
      if (g.proc?.pid === undefined) return { cpuTimeUs, uptimeUs: 0, memKb: 0 }
      const status = await readFile(`/proc/${g.proc.pid}/status`, "utf8").catch(() => "")
      const rss = /VmRSS:\s+(\d+)\s+kB/.exec(status)
      return { cpuTimeUs, uptimeUs: (Date.now() - g.startedAtMs) * 1000,
        memKb: rss === null ? 0 : Number(rss[1]) }
    })),
    consoleOutput: (userid) => Effect.flatMap(find(userid), (g) =>
      attempt("consoleOutput", userid, async () => {
        const text = await readFile(join(g.dir, "console.log"), "utf8").catch(() => "")
        return text.slice(-qemuLimits.consoleBytesMax)
      })),
    pciFunctions: (userid) => Effect.flatMap(find(userid), (g) => g.proc === undefined
      ? Effect.succeed([])
      : Effect.map(qmp(g, "pciFunctions", "query-pci"), (buses) => pciList(buses))),
    nicCounters: (userid, vdevs) => Effect.map(find(userid), () => vdevs.map((vdev) => ({
      vdev, rxFrames: 0, txFrames: 0, rxDiscards: 0, txDiscards: 0, rxErrors: 0, txErrors: 0,
      rxBytes: 0, txBytes: 0 }))),
    hostFacts: () => attempt("hostFacts", undefined, async () => ({
      hypervisorType: `qemu-${accel}`, hypervisorVersion: qemuVersion(binary),
      hostname: hostname(), architecture: machine(), cpus: cpus().length,
      memoryMb: Math.floor(totalmem() / 1024 / 1024) })),
  }
}

/** Minidisk files and NVDIMM pmem volumes. */
function storageMethods(c: Context): Pick<QemuDriver,
  "createDisk" | "deleteDisk" | "addPmem" | "removePmem"> {
  const { attempt, find } = c
  return {
    createDisk: (userid, disk) => Effect.flatMap(find(userid), (g): Effect.Effect<void,
      DriverError> => g.disks.has(disk.vdev)
      ? Effect.fail(new Conflict({ message: `disk ${disk.vdev} exists` }))
      : attempt("createDisk", userid, async () => {
        const path = join(g.dir, `disk-${disk.vdev}.img`)
        await writeFile(path, "")
        await truncate(path, disk.sizeBytes)
        g.disks.set(disk.vdev, path)
      })),
    deleteDisk: (userid, vdev) => Effect.flatMap(find(userid), (g): Effect.Effect<void,
      DriverError> => {
      const path = g.disks.get(vdev)
      if (path === undefined) {
        return Effect.fail(new NotFound({ resource: `disk of ${userid}`, id: vdev }))
      }
      return attempt("deleteDisk", userid, async () => {
        await rm(path, { force: true })
        g.disks.delete(vdev)
      })
    }),
    addPmem: (userid, volume) => Effect.flatMap(find(userid), (g): Effect.Effect<void,
      DriverError> => {
      if (!pmemName.test(volume.name)) {
        return Effect.fail(new DriverFailure({ operation: "addPmem", userid,
          message: `pmem name ${volume.name}: 1-32 letters, digits, _ or -` }))
      }
      if (g.pmem.has(volume.name) || g.pmem.size >= qemuLimits.pmemPerGuestMax) {
        return Effect.fail(new Conflict({ message: `pmem volume ${volume.name} exists on ` +
          `${userid}, or it has ${qemuLimits.pmemPerGuestMax} already` }))
      }
      const p: Pmem = { volume, path: join(g.dir, `pmem-${volume.name}.img`), plugged: false }
      return attempt("addPmem", userid, async () => {
        if (g.proc !== undefined) await hotAdd(g, p)
        else await ensureBacking(p)
        g.pmem.set(volume.name, p)
      })
    }),
    removePmem: (userid, name) => Effect.flatMap(find(userid), (g): Effect.Effect<void,
      DriverError> => {
      const p = g.pmem.get(name)
      if (p === undefined) {
        return Effect.fail(new NotFound({ resource: `pmem volume of ${userid}`, id: name }))
      }
      if (p.plugged) {
        return Effect.fail(new Conflict({ message: `pmem volume ${name} is plugged into the ` +
          `running guest ${userid}; QEMU cannot hot-unplug an NVDIMM: stop the guest first.` }))
      }
      return attempt("removePmem", userid, async () => {
        await rm(p.path, { force: true })
        g.pmem.delete(name)
      })
    }),
  }
}

/** The image store: files under workDir/images. */
function imageMethods(c: Context): Pick<QemuDriver,
  "importImage" | "exportImage" | "deleteImage" | "deployImage" | "captureImage"> {
  const { imagesDir, attempt, find, imagePath, stored, urlPath } = c
  return {
    importImage: (name, url) => attempt("importImage", undefined, async () => {
      await mkdir(imagesDir, { recursive: true })
      const dest = imagePath(name)
      if (url.startsWith("file://")) await copyFile(urlPath(url), dest)
      else {
        const response = await fetch(url)
        if (!response.ok || response.body === null) {
          throw new Error(`GET ${url}: ${response.status}`)
        }
        await pipeline(response.body, createWriteStream(dest))
      }
      return stored(dest)
    }),
    exportImage: (name, destUrl) => attempt("exportImage", undefined, async () => {
      const dest = urlPath(destUrl)
      await mkdir(dirname(dest), { recursive: true })
      await copyFile(imagePath(name), dest)
      return dest
    }),
    deleteImage: (name) => attempt("deleteImage", undefined,
      () => rm(imagePath(name), { force: true })),
    deployImage: (userid, vdev, name) => Effect.flatMap(find(userid), (g) =>
      attempt("deployImage", userid, async () => {
        const disk = g.disks.get(vdev)
        if (disk === undefined) throw new Error(`no disk ${vdev}`)
        const size = (await stat(disk)).size
        await copyFile(imagePath(name), disk)
        await truncate(disk, size)
      })),
    captureImage: (userid, vdevs, name) => Effect.flatMap(find(userid), (g) =>
      attempt("captureImage", userid, async () => {
        await mkdir(imagesDir, { recursive: true })
        const dest = imagePath(name)
        await writeFile(dest, "")
        for (const vdev of vdevs) {
          const disk = g.disks.get(vdev)
          if (disk === undefined) throw new Error(`no disk ${vdev}`)
          await pipeline(createReadStream(disk), createWriteStream(dest, { flags: "a" }))
        }
        return stored(dest)
      })),
  }
}

/** Closing and test hooks. */
function extraMethods(c: Context): Pick<QemuDriver,
  "close" | "pmemPath" | "pid" | "memoryDevices"> {
  const { options, guests } = c
  return {
    close: async () => {
      for (const g of guests.values()) await quit(g).catch(() => g.proc?.kill("SIGKILL"))
    },
    pmemPath: (userid, name) => join(options.workDir, "guests", userid, `pmem-${name}.img`),
    pid: (userid) => guests.get(userid)?.proc?.pid,
    memoryDevices: async (userid) => {
      const client = guests.get(userid)?.qmp
      if (client === undefined) throw new Error(`guest ${userid} is not running`)
      const list = await client.execute("query-memory-devices") as Array<{ type: string;
        data: { id?: string; size: number } }>
      return list.map((d) => ({ type: d.type, id: d.data.id ?? "", sizeBytes: d.data.size }))
    },
  }
}

/** Builds a QEMU driver over `options.workDir`. */
export function makeQemuDriver(options: QemuDriverOptions): QemuDriver {
  const c = makeContext(options)
  return { ...powerMethods(c), ...monitorMethods(c), ...storageMethods(c), ...imageMethods(c),
    ...extraMethods(c) }
}

let versionCache: string | undefined
function qemuVersion(binary: string): string {
  versionCache ??= /version (\S+)/.exec(execFileSync(binary, ["--version"], { encoding: "utf8" }))
    ?.[1] ?? "unknown"
  return versionCache
}

interface QmpPciDevice {
  bus: number; slot: number; function: number
  class_info: { class: number; desc?: string }
  id: { vendor: number; device: number }
}

function pciList(buses: unknown): GuestPciFunction[] {
  const hex = (n: number, w: number) => n.toString(16).padStart(w, "0")
  return (buses as Array<{ devices: QmpPciDevice[] }>).flatMap((b) => b.devices.map((d) => ({
    bus: d.bus, slot: d.slot, function: d.function, vendorId: hex(d.id.vendor, 4),
    deviceId: hex(d.id.device, 4), classId: hex(d.class_info.class, 4),
    description: d.class_info.desc ?? "" })))
}

/** Writes `bytes` at `offset` of a pmem backing file (what a guest's store would do). */
export async function writeBacking(path: string, offset: number, bytes: Uint8Array): Promise<void> {
  const f = await open(path, "r+")
  try { await f.write(bytes, 0, bytes.length, offset) } finally { await f.close() }
}

/** A scoped layer providing a QEMU driver as the `Driver`; its guests end with the scope. */
export function layerQemu(options: QemuDriverOptions): Layer.Layer<Driver> {
  return Layer.effect(Driver, Effect.acquireRelease(
    Effect.sync(() => makeQemuDriver(options)),
    (d) => Effect.promise(() => d.close())))
}

export { QmpError }
