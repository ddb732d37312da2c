/**
 * `corral replica …`: the replica API (seed `vm-replica-api.txt`) over file-backed images and a
 * real replica agent. State lives in `--dir` (replicas.json, written atomically; one
 * sub-directory per host holding its images).
 */
import { spawn } from "node:child_process"
import { join } from "node:path"
import { parseArgs } from "node:util"
import { Result } from "effect"
import { type CorralError, faultBody, httpStatus } from "../../../core/errors.ts"
import { loadKernels } from "../../kernels.ts"
import {
  createReplica, deleteReplica, failoverReplica, listReplicas, reinitReplica, type Transition,
  showReplica, updateReplica, type VmStatus,
} from "../../../core/replication/index.ts"
import { startAgent } from "../../replica/agent.ts"
import {
  addVm, type AgentPort, applyEffects, hostDir, loadState, putHost, recoverStaleCycles,
  type RuntimeState, syncNow, updateState,
} from "../../replica/runtime.ts"
import { pollSDefault, realTimer, runScheduler } from "../../replica/scheduler.ts"
import type { CliCommand } from "../command.ts"

const usage = `usage: corral replica <subcommand> --dir DIR [options]

  host-add NAME [--vcpus N] [--ram-mb N] [--zpools a,b] [--status up|down|maintenance]
  vm-add HOSTNAME --host H --size-mb N [--vcpus N] [--ram-mb N] [--uuid U] [--disks 0,1]
  list VM [--full]                     GET    /vm/VM/replica
  show VM REPNAME                      GET    /vm/VM/replica/REPNAME
  create VM REPNAME --node H [--root-zpool Z] [--disk-zpool ID=ZPOOL]… [--reserve-resources B]
         [--sleep-time S] [--enabled B] [--bwlimit BYTES|null]   POST
  update VM REPNAME [--reserve-resources B] [--sleep-time S] [--enabled B] [--bwlimit N|null]
  delete VM REPNAME                    DELETE /vm/VM/replica/REPNAME
  failover VM REPNAME [--force]        PUT    /vm/VM/replica/REPNAME/failover
  reinit VM REPNAME                    PUT    /vm/VM/replica/REPNAME/reinit
  sync-now VM REPNAME [--agent-port P] one sync cycle (spawns the slave's agent unless a port
                                       of a running one is given)
  run [--cycles N] [--poll S] [--agent-port P]
                                       sync every enabled replica every sleep_time seconds at
                                       its bwlimit until SIGINT/SIGTERM (or N cycles); one JSON
                                       line per cycle; recovers cycles a dead process left
  agent --host H [--port P]            run the replica agent for host H's directory

VM is a hostname or uuid. --data '{"…": …}' gives a body in the seed's JSON instead of flags.
Errors print the API's fault body and exit 1; bad usage exits 2.`

const options = {
  dir: { type: "string" }, data: { type: "string" }, node: { type: "string" },
  "root-zpool": { type: "string" }, "disk-zpool": { type: "string", multiple: true },
  "reserve-resources": { type: "string" }, "sleep-time": { type: "string" },
  enabled: { type: "string" }, bwlimit: { type: "string" }, force: { type: "boolean" },
  full: { type: "boolean" }, "agent-port": { type: "string" }, host: { type: "string" },
  port: { type: "string" }, vcpus: { type: "string" }, "ram-mb": { type: "string" },
  zpools: { type: "string" }, status: { type: "string" }, "size-mb": { type: "string" },
  uuid: { type: "string" }, disks: { type: "string" }, cycles: { type: "string" },
  poll: { type: "string" },
} as const

type Values = {
  readonly [K in keyof typeof options]?: (typeof options)[K] extends { type: "boolean" } ? boolean
    : (typeof options)[K] extends { multiple: true } ? string[] : string
}

class UsageError extends Error {}

/** A flag's text as JSON where it parses (numbers, booleans, null), else as the string. */
function jsonish(text: string): unknown {
  try { return JSON.parse(text) as unknown } catch { return text }
}

function bodyOf(v: Values): Record<string, unknown> {
  const body: Record<string, unknown> = v.data === undefined ? {}
    : (jsonish(v.data) as Record<string, unknown>)
  if (typeof body !== "object" || body === null) throw new UsageError("--data: a JSON object")
  const flags: Array<[keyof Values, string]> = [["node", "node"], ["root-zpool", "root_zpool"],
    ["reserve-resources", "reserve_resources"], ["sleep-time", "sleep_time"],
    ["enabled", "enabled"], ["bwlimit", "bwlimit"]]
  for (const [flag, field] of flags) {
    const value = v[flag]
    if (typeof value === "string") body[field] = field === "node" || field === "root_zpool"
      ? value : jsonish(value)
  }
  for (const pair of v["disk-zpool"] ?? []) {
    const [diskId, zpool] = pair.split("=")
    if (diskId === undefined || zpool === undefined) throw new UsageError("--disk-zpool ID=ZPOOL")
    body.disk_zpools = { ...(body.disk_zpools as object | undefined), [diskId]: zpool }
  }
  if (v.force === true) body.force = true
  if (v.full === true) body.full = true
  return body
}

function intFlag(v: Values,
  name: "vcpus" | "ram-mb" | "size-mb" | "port" | "agent-port" | "cycles" | "poll",
  fallback?: number): number {
  const text = v[name]
  if (text === undefined) {
    if (fallback === undefined) throw new UsageError(`--${name} is required`)
    return fallback
  }
  const n = Number(text)
  if (!Number.isSafeInteger(n) || n < 0) throw new UsageError(`--${name}: a whole number`)
  return n
}

function fail(error: CorralError): number {
  console.error(JSON.stringify({ status: httpStatus(error), ...faultBody(error) }, null, 2))
  return 1
}

function print(value: unknown): number {
  console.log(JSON.stringify(value, null, 2))
  return 0
}

const nowS = () => Date.now() / 1000

/** An agent to talk to; `alive` says whether a spawned one still runs. */
type Agent = Awaited<ReturnType<AgentPort>> & { readonly alive: () => boolean }

/** Spawns the agent for `slaveDir` on an ephemeral port, or uses `--agent-port`. */
function agentPort(v: Values): (slaveDir: string) => Promise<Agent> {
  if (v["agent-port"] !== undefined) {
    const port = intFlag(v, "agent-port")
    return async () => ({ port, stop: async () => {}, alive: () => true })
  }
  return (slaveDir) => new Promise((resolve, reject) => {
    const main = join(import.meta.dirname, "..", "..", "replica", "agent-main.ts")
    const child = spawn(process.execPath, ["--import", "tsx", main, "--dir", slaveDir],
      { stdio: ["ignore", "pipe", "inherit"] })
    let out = ""
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString()
      const m = /listening (\d+)\s/.exec(out)
      if (m !== null) {
        resolve({ port: Number(m[1]), stop: () => new Promise((done) => {
          if (child.exitCode !== null) { done(); return }
          child.once("exit", () => done())
          child.kill("SIGTERM")
        }), alive: () => child.exitCode === null && child.signalCode === null })
      }
    })
    child.once("exit", (code) => reject(new Error(`replica agent exited with ${code}`)))
  })
}

/** Agents spawned on first use and kept for the whole run (one per slave directory; an agent
 * that died is spawned again at its next cycle). */
function keptAgents(spawnOne: (slaveDir: string) => Promise<Agent>): {
  agentFor: AgentPort; stopAll: () => Promise<void> } {
  const kept = new Map<string, Promise<Agent>>()
  const live = async (slaveDir: string): Promise<Agent> => {
    const old = await kept.get(slaveDir)?.catch(() => undefined)
    if (old !== undefined && old.alive()) return old
    const agent = spawnOne(slaveDir)
    kept.set(slaveDir, agent)
    return agent
  }
  return {
    agentFor: async (slaveDir) => {
      const a = await live(slaveDir)
      return { port: a.port, stop: async () => {} }
    },
    stopAll: async () => {
      const all = await Promise.allSettled(kept.values())
      await Promise.all(all.map((a) => a.status === "fulfilled" ? a.value.stop() : undefined))
    },
  }
}

/** `run`: the periodic scheduler until SIGINT/SIGTERM or `--cycles`. */
async function run(dir: string, v: Values): Promise<number> {
  const cycles = v.cycles === undefined ? undefined : intFlag(v, "cycles")
  const agents = keptAgents(agentPort(v))
  const stop = new AbortController()
  const onSignal = () => stop.abort()
  process.once("SIGINT", onSignal)
  process.once("SIGTERM", onSignal)
  try {
    const summary = await runScheduler(dir, { kernels: kernels(), agentFor: agents.agentFor,
      timer: realTimer, signal: stop.signal, pollS: intFlag(v, "poll", pollSDefault),
      ...cycles === undefined ? {} : { cycleCountMax: cycles },
      onCycle: (e) => console.log(JSON.stringify(e)) })
    console.log(JSON.stringify({ stopped: true, ...summary }))
    return 0
  } finally {
    process.off("SIGINT", onSignal)
    process.off("SIGTERM", onSignal)
    await agents.stopAll()
  }
}

type Save = (state: RuntimeState) => void

function transition(dir: string, state: RuntimeState, vmRef: string,
  o: Result.Result<Transition, CorralError>, save: Save): number {
  if (Result.isFailure(o)) return fail(o.failure)
  const vm = state.vms.find((x) => x.uuid === vmRef || x.hostname === vmRef)!
  const next = applyEffects(dir, { ...state, replication: o.success.state }, vm.uuid,
    o.success.effects)
  save(next)
  return print({ replica: o.success.replica === null ? null
    : Result.getOrThrow(showReplica(next.replication, next, vm.uuid, o.success.replica.name)),
  effects: o.success.effects })
}

function setup(sub: string, dir: string, state: RuntimeState, pos: string[], v: Values,
  save: Save): number {
  const name = pos[0]
  if (name === undefined) throw new UsageError(`${sub} needs a name`)
  if (sub === "host-add") {
    const status = v.status ?? "up"
    if (!["up", "down", "maintenance"].includes(status)) throw new UsageError("--status")
    const vcpus = intFlag(v, "vcpus", 32), ramMb = intFlag(v, "ram-mb", 65536)
    const old = state.hosts.find((h) => h.name === name)
    const next = putHost(dir, state, { name, status: status as "up",
      zpools: (v.zpools ?? "zones").split(","), vcpuCapacity: vcpus, ramCapacityMb: ramMb,
      freeVcpus: old === undefined ? vcpus : old.freeVcpus + vcpus - old.vcpuCapacity,
      freeRamMb: old === undefined ? ramMb : old.freeRamMb + ramMb - old.ramCapacityMb })
    save(next)
    return print(next.hosts.find((h) => h.name === name))
  }
  const host = v.host
  if (host === undefined) throw new UsageError("--host is required")
  const vm = { uuid: v.uuid ?? `vm-${name}`, hostname: name, host, status: "running" as VmStatus,
    vcpus: intFlag(v, "vcpus", 1), ramMb: intFlag(v, "ram-mb", 1024), pendingTaskCount: 0,
    diskIds: (v.disks ?? "0").split(",") }
  const added = addVm(dir, state, vm, intFlag(v, "size-mb") * 1024 * 1024)
  if (Result.isFailure(added)) return fail(added.failure)
  save(added.success)
  return print({ ...vm, image: join(hostDir(dir, host), `${vm.uuid}.img`) })
}

/** Subcommands that change the state: run under the state lock, on the latest state. */
const mutating = ["host-add", "vm-add", "create", "update", "delete", "failover", "reinit"]

async function dispatch(sub: string, dir: string, pos: string[], v: Values): Promise<number> {
  if (mutating.includes(sub)) {
    return updateState(dir, (loaded) => {
      let next = recoverStaleCycles(loaded).state
      const code = mutate(sub, dir, next, pos, v, (s) => { next = s })
      return { state: next, value: code }
    })
  }
  if (sub === "run") return run(dir, v)
  if (sub === "agent") {
    if (v.host === undefined) throw new UsageError("--host is required")
    const agent = await startAgent(hostDir(dir, v.host), kernels(), intFlag(v, "port", 0))
    console.log(`listening ${agent.port}`)
    await new Promise<void>((resolve) => process.once("SIGTERM", () => resolve()))
    await agent.close()
    return 0
  }
  const [vmRef, repname] = pos
  if (vmRef === undefined) throw new UsageError(`${sub} needs a VM`)
  const state = loadState(dir)
  if (sub === "list") {
    const r = listReplicas(state.replication, state, vmRef, bodyOf(v))
    return Result.isFailure(r) ? fail(r.failure) : print(r.success)
  }
  if (repname === undefined) throw new UsageError(`${sub} needs a VM and a replica name`)
  switch (sub) {
    case "show": {
      const r = showReplica(state.replication, state, vmRef, repname)
      return Result.isFailure(r) ? fail(r.failure) : print(r.success)
    }
    case "sync-now": {
      const r = await syncNow(dir, vmRef, repname,
        { kernels: kernels(), agentFor: agentPort(v), nowS, scanWorker: false })
      return Result.isFailure(r.outcome) ? fail(r.outcome.failure) : print(r.outcome.success)
    }
    default: throw new UsageError(`unknown subcommand '${sub}'`)
  }
}

function mutate(sub: string, dir: string, state: RuntimeState, pos: string[], v: Values,
  save: Save): number {
  if (sub === "host-add" || sub === "vm-add") return setup(sub, dir, state, pos, v, save)
  const [vmRef, repname] = pos
  if (vmRef === undefined || repname === undefined) {
    throw new UsageError(`${sub} needs a VM and a replica name`)
  }
  const s = state.replication, world = state
  const o = sub === "create" ? createReplica(s, world, vmRef, repname, bodyOf(v), nowS())
    : sub === "update" ? updateReplica(s, world, vmRef, repname, bodyOf(v), nowS())
    : sub === "delete" ? deleteReplica(s, world, vmRef, repname)
    : sub === "failover" ? failoverReplica(s, world, vmRef, repname, bodyOf(v))
    : reinitReplica(s, world, vmRef, repname, nowS())
  return transition(dir, state, vmRef, o, save)
}

function kernels() {
  const selection = loadKernels()
  if (Result.isFailure(selection)) throw new Error(selection.failure.message)
  return selection.success.kernels
}

/** `corral replica`: the replica API over file-backed images and a loopback agent. */
export const command: CliCommand = {
  summary: "VM replicas: create, sync, fail over and reinit over file images and a real agent",
  usage,
  run: async (args) => {
    try {
      const { values, positionals } = parseArgs({ args: [...args], options,
        allowPositionals: true })
      const [sub, ...pos] = positionals
      if (sub === undefined) throw new UsageError("a subcommand is required")
      if (values.dir === undefined) throw new UsageError("--dir is required")
      return await dispatch(sub, values.dir, pos, values)
    } catch (e) {
      if (e instanceof UsageError || (e instanceof Error && "code" in e
        && String(e.code).startsWith("ERR_PARSE_ARGS"))) {
        console.error(`corral replica: ${e.message}\n\n${usage}`)
        return 2
      }
      throw e
    }
  },
}
