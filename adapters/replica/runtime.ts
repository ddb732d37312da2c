/**
 * The replica runtime behind `corral replica`: the core state machine applied to file-backed
 * images under one directory. State (hosts, VMs and replicas) is one JSON file written
 * atomically; each host is a sub-directory holding its images; the effects the core returns are
 * applied here (reservations to the hosts' free counts, slaves created and destroyed, fence,
 * promote, degrade), and `syncNow` runs one real cycle through a replica agent.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { Result } from "effect"
import { Conflict, type CorralError, err, invalid, ok, type Outcome } from "../../core/errors.ts"
import { type BlockKernels } from "../../core/kernels/index.ts"
import {
  abortSync, acknowledgeSync, emptyReplicationState, type HostFacts, type ReplicaEffect,
  type ReplicationState, resolveVm, startSync, type VmFacts,
} from "../../core/replication/index.ts"
import { recoverImage } from "./agent.ts"
import {
  createMasterImage, createSlaveImage, degradeImage, destroyImage, fenceImage, promoteImage,
  readMeta, writeFileAtomic,
} from "./images.ts"
import { type SyncResult, syncOnce } from "./sender.ts"

/** The state file's content. */
export interface RuntimeState {
  readonly version: 1
  readonly hosts: HostFacts[]
  readonly vms: VmFacts[]
  readonly replication: ReplicationState
}

/** Most hosts and VMs one state directory holds. */
export const hostCountMax = 256
export const vmCountMax = 1024

const stateFile = "replicas.json"

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

/** Where to reach the slave's agent for one cycle. */
export type AgentPort = (slaveDir: string) => Promise<{ port: number; stop: () => Promise<void> }>

/**
 * One real sync cycle: the core starts it, the sender ships it to the agent, and only the
 * agent's ACK makes the core record the generation and `last_sync` (at `nowS()` then). A failed
 * transfer aborts the cycle: nothing is acknowledged, and the error is returned as a Conflict.
 */
export async function syncNow(
  dir: string, state: RuntimeState, vmRef: string, repname: string, nowS: () => number,
  kernels: BlockKernels, agentFor: AgentPort,
): Promise<{ state: RuntimeState; outcome: Outcome<SyncResult, CorralError> }> {
  const world = { vms: state.vms, hosts: state.hosts }
  const started = startSync(state.replication, world, vmRef, repname, nowS())
  if (Result.isFailure(started)) return { state, outcome: err(started.failure) }
  const vm = resolveVm(world, vmRef)
  if (Result.isFailure(vm)) throw new Error("VM vanished during a sync")
  const { cycle } = started.success
  const agent = await agentFor(hostDir(dir, cycle.slaveHost))
  try {
    const result = await syncOnce({ masterDir: hostDir(dir, cycle.masterHost),
      imageId: vm.success.uuid, port: agent.port, generation: cycle.generation,
      fromGeneration: cycle.fromGeneration, includeSlaveChanges: cycle.includeSlaveChanges,
      bwlimitBytesPerS: cycle.bwlimitBytesPerS, kernels })
    const acked = acknowledgeSync(started.success.state, world, vmRef, repname,
      { generation: result.generation, bytesSent: result.payloadBytes, atS: nowS() })
    if (Result.isFailure(acked)) throw new Error(`ACK not recorded: ${acked.failure.message}`)
    return { state: { ...state, replication: acked.success.state }, outcome: ok(result) }
  } catch (e) {
    const aborted = abortSync(started.success.state, world, vmRef, repname)
    if (Result.isFailure(aborted)) throw new Error(aborted.failure.message)
    const message = e instanceof Error ? e.message : String(e)
    return { state: { ...state, replication: aborted.success.state },
      outcome: err(new Conflict({ message: `sync failed, nothing acknowledged: ${message}` })) }
  } finally {
    await agent.stop()
  }
}
