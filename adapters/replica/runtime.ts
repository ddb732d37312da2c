/**
 * The replica runtime behind `corral replica`: the core state machine applied to file-backed
 * images under one directory. State (hosts, VMs and replicas) is one JSON file written
 * atomically; each host is a sub-directory holding its images; the effects the core returns are
 * applied here (reservations to the hosts' free counts, slaves created and destroyed, fence,
 * promote, degrade), and `syncNow` runs one real cycle through a replica agent.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Result } from "effect"
import { Conflict, type CorralError, err, invalid, ok, type Outcome } from "../../core/errors.ts"
import { type BlockKernels } from "../../core/kernels/index.ts"
import {
  abortSync, acknowledgeSync, emptyReplicationState, type HostFacts, type ReplicaEffect,
  replicaKey, type ReplicationState, resolveVm, startSync, type SyncCycle, type VmFacts,
} from "../../core/replication/index.ts"
import { recoverImage } from "./agent.ts"
import {
  createMasterImage, createSlaveImage, degradeImage, destroyImage, fenceImage, promoteImage,
  readMeta, writeFileAtomic,
} from "./images.ts"
import { settleCycle, type SyncResult, syncOnce } from "./sender.ts"
import type { ThrottleClock } from "./throttle.ts"

/** The process running a replica's cycle in flight (a cycle whose owner is gone is stale). */
export interface CycleOwner {
  readonly pid: number
  readonly generation: number
}

/** The state file's content. */
export interface RuntimeState {
  readonly version: 1
  readonly hosts: HostFacts[]
  readonly vms: VmFacts[]
  readonly replication: ReplicationState
  /** Owners of the cycles in flight, keyed like `replication.replicas`. */
  readonly cycles?: Readonly<Record<string, CycleOwner>>
}

/** Most hosts and VMs one state directory holds. */
export const hostCountMax = 256
export const vmCountMax = 1024

const stateFile = "replicas.json"
const lockFile = "replicas.lock"
/** Longest wait for another process's hold on the state file. */
export const lockWaitMsMax = 10_000
const lockPollMs = 5

/** A host's directory. */
export function hostDir(dir: string, host: string): string {
  return join(dir, "hosts", host)
}

/** Loads the state in `dir` (an empty one when the directory has none yet). */
export function loadState(dir: string): RuntimeState {
  const path = join(dir, stateFile)
  if (!existsSync(path)) {
    return { version: 1, hosts: [], vms: [], replication: emptyReplicationState }
  }
  const state = JSON.parse(readFileSync(path, "utf8")) as RuntimeState
  if (state.version !== 1) {
    throw new Error(`${path}: unknown state version ${String(state.version)}`)
  }
  return state
}

/** Saves the state atomically (temporary file, fsync, rename, fsync of the directory). */
export function saveState(dir: string, state: RuntimeState): void {
  mkdirSync(dir, { recursive: true })
  writeFileAtomic(join(dir, stateFile), JSON.stringify(state, null, 2) + "\n")
}

/** Adds a host, or updates its status, capacity and zpools. */
export function putHost(dir: string, state: RuntimeState, host: HostFacts): RuntimeState {
  const others = state.hosts.filter((h) => h.name !== host.name)
  if (others.length >= hostCountMax) throw new Error(`more than ${hostCountMax} hosts`)
  mkdirSync(hostDir(dir, host.name), { recursive: true })
  return { ...state, hosts: [...others, host].sort((a, b) => a.name.localeCompare(b.name)) }
}

/** Adds a VM with a sparse master image of `sizeBytes` on its host, taking its vCPU/RAM there. */
export function addVm(
  dir: string, state: RuntimeState, vm: VmFacts, sizeBytes: number,
): Outcome<RuntimeState> {
  const host = state.hosts.find((h) => h.name === vm.host)
  if (host === undefined) return err(invalid("host", "a host added with host-add"))
  if (state.vms.some((v) => v.uuid === vm.uuid || v.hostname === vm.hostname)) {
    return err(invalid("hostname", "a hostname and uuid not used by another VM"))
  }
  if (state.vms.length >= vmCountMax) return err(invalid("hostname", `at most ${vmCountMax} VMs`))
  if (host.freeVcpus < vm.vcpus || host.freeRamMb < vm.ramMb) {
    return err(invalid("host", `a host with ${vm.vcpus} vCPUs and ${vm.ramMb} MB RAM free`))
  }
  createMasterImage(hostDir(dir, vm.host), vm.uuid, sizeBytes)
  const hosts = state.hosts.map((h) => h.name !== host.name ? h
    : { ...h, freeVcpus: h.freeVcpus - vm.vcpus, freeRamMb: h.freeRamMb - vm.ramMb })
  return ok({ ...state, hosts, vms: [...state.vms, vm] })
}

function imageSize(dir: string, vm: VmFacts): number {
  const meta = readMeta(hostDir(dir, vm.host), vm.uuid)
  if (meta === null) throw new Error(`VM ${vm.hostname}: no image on ${vm.host}`)
  return meta.sizeBytes
}

/** Applies a transition's effects for `vm` to the files and the facts; returns the new state. */
export function applyEffects(
  dir: string, state: RuntimeState, vmUuid: string, effects: ReadonlyArray<ReplicaEffect>,
): RuntimeState {
  let hosts = state.hosts
  let vms = state.vms
  const vm = () => vms.find((v) => v.uuid === vmUuid)!
  const setVm = (patch: Partial<VmFacts>) => {
    vms = vms.map((v) => v.uuid === vmUuid ? { ...v, ...patch } : v)
  }
  for (const e of effects) {
    switch (e.kind) {
      case "reserve": case "release": {
        const sign = e.kind === "reserve" ? -1 : 1
        hosts = hosts.map((h) => h.name !== e.host ? h : { ...h,
          freeVcpus: h.freeVcpus + sign * e.vcpus, freeRamMb: h.freeRamMb + sign * e.ramMb })
        break
      }
      case "createSlave":
        createSlaveImage(hostDir(dir, e.host), vmUuid, imageSize(dir, vm()))
        break
      case "destroySlave": destroyImage(hostDir(dir, e.host), vmUuid); break
      case "dropTasks": setVm({ pendingTaskCount: 0 }); break
      case "stopVm": setVm({ status: "stopped" }); break
      case "fence": fenceImage(hostDir(dir, e.host), vmUuid); break
      case "promote":
        recoverImage(hostDir(dir, e.host), vmUuid)
        promoteImage(hostDir(dir, e.host), vmUuid)
        setVm({ host: e.host, status: "running" })
        break
      case "degrade": degradeImage(hostDir(dir, e.host), vmUuid, e.fromGeneration); break
      case "startService": case "pauseService": case "removeService": break
    }
  }
  return { ...state, hosts, vms }
}

/** Whether process `pid` exists (a pid we may not signal exists too). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as { code?: string }).code === "EPERM"
  }
}

function sleepSyncMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}

/**
 * Runs `f` on the latest state while holding `DIR/replicas.lock` (created exclusively, holding
 * the pid; a lock whose process is gone is taken over), and saves what it returns when that
 * differs. Hold times are a load and a save: transfers run outside the lock.
 */
export function updateState<A>(dir: string, f: (state: RuntimeState) => {
  readonly state: RuntimeState; readonly value: A }): A {
  mkdirSync(dir, { recursive: true })
  const path = join(dir, lockFile)
  const deadline = Date.now() + lockWaitMsMax
  for (;;) {
    try {
      writeFileSync(path, String(process.pid), { flag: "wx" })
      break
    } catch (e) {
      if ((e as { code?: string }).code !== "EEXIST") throw e
      const holder = Number(readFileSync(path, "utf8") || "0")
      if (holder > 0 && !processAlive(holder)) { rmSync(path, { force: true }); continue }
      if (Date.now() > deadline) throw new Error(`${path}: held by process ${holder}`)
      sleepSyncMs(lockPollMs)
    }
  }
  try {
    const before = loadState(dir)
    const { state, value } = f(before)
    if (state !== before) saveState(dir, state)
    return value
  } finally {
    rmSync(path, { force: true })
  }
}

/**
 * Master-crash recovery, on the state: every cycle in flight whose owner process is gone (killed,
 * or its host rebooted) is aborted — nothing new is acknowledged, `nextGeneration` stays past it
 * so no generation number is reused, and the next cycle resumes from the last acknowledged one.
 * The files converge by themselves: the sender's durable pending record makes it re-ship what
 * the dead cycle may have left on either side.
 */
export function recoverStaleCycles(
  state: RuntimeState, alive: (pid: number) => boolean = processAlive,
): { state: RuntimeState; recovered: ReadonlyArray<string> } {
  let replication = state.replication
  const cycles = { ...state.cycles }
  const recovered: string[] = []
  for (const [key, replica] of Object.entries(state.replication.replicas)) {
    const owner = cycles[key]
    if (replica.inFlight === null) { delete cycles[key]; continue }
    if (owner !== undefined && alive(owner.pid)) continue
    const world = { vms: state.vms, hosts: state.hosts }
    const aborted = abortSync(replication, world, replica.vmUuid, replica.name)
    if (Result.isFailure(aborted)) throw new Error(`recovery of ${key}: ${aborted.failure.message}`)
    replication = aborted.success.state
    delete cycles[key]
    recovered.push(key)
  }
  if (recovered.length === 0) return { state, recovered }
  return { state: { ...state, replication, cycles }, recovered }
}

/** Where to reach the slave's agent for one cycle. */
export type AgentPort = (slaveDir: string) => Promise<{ port: number; stop: () => Promise<void> }>

/** What a real cycle needs besides the replica: kernels, the agent, clocks. */
export interface SyncOptions {
  readonly kernels: BlockKernels
  readonly agentFor: AgentPort
  /** The caller's clock in seconds (`last_sync` is recorded with it). */
  readonly nowS: () => number
  /** The token bucket's clock (tests inject one to observe `bwlimit` without waiting). */
  readonly throttleClock?: ThrottleClock
  /**
   * Whether the scan may use (and, after it, start) the process's scan worker (default true; a
   * one-shot command says false: the worker would only be started after its only scan).
   */
  readonly scanWorker?: boolean
}

/** The outcome of `syncNow`, and the replica's key. */
export interface SyncNowResult {
  readonly key: string
  readonly outcome: Outcome<SyncResult, CorralError>
}

function withoutCycle(state: RuntimeState, key: string): RuntimeState {
  const cycles = { ...state.cycles }
  delete cycles[key]
  return { ...state, cycles }
}

/**
 * One real sync cycle: the core starts it on the latest state (after recovering cycles left by
 * dead processes), and the started cycle is saved durably with this process as its owner before
 * any byte moves; the sender ships it to the agent; only the agent's ACK makes the core record
 * the generation and `last_sync` (at `nowS()` then), again on the latest state. A failed
 * transfer aborts the cycle: nothing is acknowledged, and the error is a Conflict.
 */
export async function syncNow(
  dir: string, vmRef: string, repname: string, opts: SyncOptions,
): Promise<SyncNowResult> {
  type Started = Outcome<{ key: string; uuid: string; cycle: SyncCycle }, CorralError>
  const started = updateState<Started>(dir, (loaded) => {
    const state = recoverStaleCycles(loaded).state
    const world = { vms: state.vms, hosts: state.hosts }
    const vm = resolveVm(world, vmRef)
    if (Result.isFailure(vm)) return { state, value: err(vm.failure) }
    const cycle = startSync(state.replication, world, vmRef, repname, opts.nowS())
    if (Result.isFailure(cycle)) return { state, value: err(cycle.failure) }
    const key = replicaKey(vm.success.uuid, repname)
    const owner: CycleOwner = { pid: process.pid, generation: cycle.success.cycle.generation }
    return { state: { ...state, replication: cycle.success.state,
      cycles: { ...state.cycles, [key]: owner } },
    value: ok({ key, uuid: vm.success.uuid, cycle: cycle.success.cycle }) }
  })
  if (Result.isFailure(started)) {
    return { key: replicaKey(vmRef, repname), outcome: err(started.failure) }
  }
  const { key, uuid, cycle } = started.success
  let shipped: Outcome<SyncResult, CorralError>
  try {
    const agent = await opts.agentFor(hostDir(dir, cycle.slaveHost))
    try {
      const masterDir = hostDir(dir, cycle.masterHost)
      const result = await syncOnce({ masterDir, imageId: uuid,
        port: agent.port, generation: cycle.generation, fromGeneration: cycle.fromGeneration,
        includeSlaveChanges: cycle.includeSlaveChanges,
        bwlimitBytesPerS: cycle.bwlimitBytesPerS, kernels: opts.kernels,
        ...opts.throttleClock === undefined ? {} : { clock: opts.throttleClock },
        ...opts.scanWorker === undefined ? {} : { scanWorker: opts.scanWorker } })
      // The master's files at the acknowledged generation before the state says so (failover,
      // reinit and delete change those files).
      await settleCycle(masterDir, uuid)
      shipped = ok(result)
    } finally {
      await agent.stop()
    }
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e)
    shipped = err(new Conflict({ message: `sync failed, nothing acknowledged: ${message}` }))
  }
  const outcome = updateState<Outcome<SyncResult, CorralError>>(dir,
    (state) => finishCycle(state, key, uuid, repname, shipped, opts.nowS()))
  return { key, outcome }
}

function finishCycle(
  state: RuntimeState, key: string, uuid: string, repname: string,
  shipped: Outcome<SyncResult, CorralError>, nowS: number,
): { state: RuntimeState; value: Outcome<SyncResult, CorralError> } {
  const world = { vms: state.vms, hosts: state.hosts }
  if (Result.isSuccess(shipped)) {
    const r = shipped.success
    const acked = acknowledgeSync(state.replication, world, uuid, repname,
      { generation: r.generation, bytesSent: r.payloadBytes, atS: nowS })
    if (Result.isFailure(acked)) {
      // Deleted, failed over or recovered meanwhile: the slave holds it, the core does not.
      return { state: withoutCycle(state, key), value: err(acked.failure) }
    }
    return { state: withoutCycle({ ...state, replication: acked.success.state }, key),
      value: shipped }
  }
  const aborted = abortSync(state.replication, world, uuid, repname)
  const replication = Result.isSuccess(aborted) ? aborted.success.state : state.replication
  return { state: withoutCycle({ ...state, replication }, key), value: shipped }
}
