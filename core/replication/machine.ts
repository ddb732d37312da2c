/**
 * The replica state machine: create, update, delete, failover, reinit. One function per
 * transition; each resolves the VM and the replica, asks the transition table, validates, and
 * returns the new state with the effects the caller must apply (reservations, releases, driver
 * commands). On any error the given state is returned unchanged (it is never mutated).
 */
import { Result } from "effect"
import { decode } from "../decode.ts"
import {
  AlreadyExists, Conflict, type CorralError, err, InsufficientCapacity, type InputIssue,
  invalid, invalidAll, Locked, NotFound, ok, type Outcome, PreconditionRequired,
} from "../errors.ts"
import {
  CreateBody, FailoverBody, type HostFacts, type Replica, type ReplicaEffect, replicaKey,
  type ReplicationState, UpdateBody, type VmFacts,
} from "./model.ts"
import { checkTransition, phaseOf } from "./table.ts"

/** What the caller knows about the cluster, passed in as values. */
export interface ReplicaWorld {
  readonly vms: ReadonlyArray<VmFacts>
  readonly hosts: ReadonlyArray<HostFacts>
}

/** A transition's result: the new state, the replica after it (null once deleted), effects. */
export interface Transition {
  readonly state: ReplicationState
  readonly replica: Replica | null
  readonly effects: ReadonlyArray<ReplicaEffect>
}

const repnamePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,23}$/

/** Finds a VM by hostname or uuid (the seed's `hostname_or_uuid`). */
export function resolveVm(world: ReplicaWorld, hostnameOrUuid: string): Outcome<VmFacts> {
  const vm = world.vms.find((v) => v.uuid === hostnameOrUuid || v.hostname === hostnameOrUuid)
  return vm === undefined ? err(new NotFound({ resource: "VM", id: hostnameOrUuid })) : ok(vm)
}

/** Finds a VM's replica by name; NotFound names both. */
export function resolveReplica(
  state: ReplicationState, world: ReplicaWorld, hostnameOrUuid: string, repname: string,
): Outcome<{ vm: VmFacts; replica: Replica }> {
  const vm = resolveVm(world, hostnameOrUuid)
  if (Result.isFailure(vm)) return err(vm.failure)
  const replica = state.replicas[replicaKey(vm.success.uuid, repname)]
  if (replica === undefined) {
    return err(new NotFound({ resource: "VM replica", id: `${vm.success.hostname}/${repname}` }))
  }
  return ok({ vm: vm.success, replica })
}

function hostOf(world: ReplicaWorld, name: string): HostFacts | undefined {
  return world.hosts.find((h) => h.name === name)
}

/** Capacity check for one slave (same vCPU and RAM as the master) on `host`. */
export function checkCapacity(
  host: HostFacts, vcpus: number, ramMb: number,
): InsufficientCapacity | null {
  if (host.freeVcpus < vcpus) {
    return new InsufficientCapacity({ resource: "vcpus", requested: vcpus,
      free: host.freeVcpus, capacity: host.vcpuCapacity, host: host.name })
  }
  if (host.freeRamMb < ramMb) {
    return new InsufficientCapacity({ resource: "ramMb", requested: ramMb,
      free: host.freeRamMb, capacity: host.ramCapacityMb, host: host.name })
  }
  return null
}

function withReplica(state: ReplicationState, replica: Replica): ReplicationState {
  return { replicas: { ...state.replicas, [replicaKey(replica.vmUuid, replica.name)]: replica } }
}

function without(state: ReplicationState, replica: Replica): ReplicationState {
  const replicas = { ...state.replicas }
  delete replicas[replicaKey(replica.vmUuid, replica.name)]
  return { replicas }
}

function targetIssues(vm: VmFacts, body: CreateBody, node: HostFacts | undefined): InputIssue[] {
  const issues: InputIssue[] = []
  if (node === undefined) return [{ path: "node", message: "an existing compute node" }]
  if (node.name === vm.host) {
    issues.push({ path: "node", message: `a compute node other than the master's (${vm.host})` })
  } else if (node.status !== "up") {
    issues.push({ path: "node",
      message: `a compute node that is up (${node.name} is ${node.status})` })
  }
  if (body.root_zpool !== undefined && !node.zpools.includes(body.root_zpool)) {
    issues.push({ path: "root_zpool",
      message: `a zpool on ${node.name} (${node.zpools.join(", ")})` })
  }
  for (const [diskId, zpool] of Object.entries(body.disk_zpools)) {
    if (!vm.diskIds.includes(diskId)) {
      issues.push({ path: `disk_zpools.${diskId}`,
        message: `a disk id of the VM (${vm.diskIds.join(", ")})` })
    } else if (!node.zpools.includes(zpool)) {
      issues.push({ path: `disk_zpools.${diskId}`, message: `a zpool on ${node.name}` })
    }
  }
  return issues
}

function createChecks(
  state: ReplicationState, vm: VmFacts, repname: string,
): CorralError | null {
  if (!repnamePattern.test(repname)) {
    return invalid("repname",
      "1-24 letters, digits, '_', '.' or '-', starting with a letter or digit")
  }
  if (state.replicas[replicaKey(vm.uuid, repname)] !== undefined) {
    return new AlreadyExists({ resource: "VM replica", id: `${vm.hostname}/${repname}` })
  }
  const other = Object.values(state.replicas).find((r) => r.vmUuid === vm.uuid)
  if (other !== undefined) {
    return new Conflict({ message: `VM ${vm.hostname} already has replica ${other.name}; ` +
      "one slave per master is supported" })
  }
  if (vm.pendingTaskCount > 0) {
    return new Conflict({ message: `VM ${vm.hostname} has ${vm.pendingTaskCount} pending task(s)` })
  }
  if (vm.status !== "running" && vm.status !== "stopped") {
    return new Locked({
      message: `VM ${vm.hostname} is ${vm.status}; it must be running or stopped` })
  }
  return null
}

/**
 * POST /vm/(hostname_or_uuid)/replica/(repname): creates the slave and its service on `node`.
 * Reserves the master's vCPU/RAM on the target when `reserve_resources` (the default).
 */
export function createReplica(
  state: ReplicationState, world: ReplicaWorld, hostnameOrUuid: string, repname: string,
  body: unknown, nowS: number,
): Outcome<Transition> {
  const decoded = decode(CreateBody, body)
  if (Result.isFailure(decoded)) return err(decoded.failure)
  const b = decoded.success
  const vmFound = resolveVm(world, hostnameOrUuid)
  if (Result.isFailure(vmFound)) return err(vmFound.failure)
  const vm = vmFound.success
  const refused = createChecks(state, vm, repname)
  if (refused !== null) return err(refused)
  const node = hostOf(world, b.node)
  const issues = targetIssues(vm, b, node)
  if (issues.length > 0 || node === undefined) return err(invalidAll(issues))
  if (b.reserve_resources) {
    const short = checkCapacity(node, vm.vcpus, vm.ramMb)
    if (short !== null) return err(short)
  }
  const replica: Replica = {
    vmUuid: vm.uuid, vmHostname: vm.hostname, name: repname,
    config: { node: node.name, rootZpool: b.root_zpool ?? null, diskZpools: b.disk_zpools,
      reserveResources: b.reserve_resources, sleepTimeS: b.sleep_time, enabled: b.enabled,
      bwlimitBytesPerS: b.bwlimit },
    masterHost: vm.host, slaveHost: node.name,
    syncStatus: b.enabled ? "enabled" : "paused", reinitRequired: false,
    lastSyncS: null, ackedGeneration: 0, commonGeneration: 0, nextGeneration: 1, inFlight: null,
    bytesSent: 0, reservedOn: b.reserve_resources ? node.name : null,
    vcpus: vm.vcpus, ramMb: vm.ramMb, createdAtS: nowS, enabledSinceS: b.enabled ? nowS : null,
    slaveDivergent: false,
  }
  const effects: ReplicaEffect[] = []
  if (b.reserve_resources) {
    effects.push({ kind: "reserve", host: node.name, vcpus: vm.vcpus, ramMb: vm.ramMb })
  }
  effects.push({ kind: "createSlave", host: node.name, rootZpool: replica.config.rootZpool,
    diskZpools: b.disk_zpools })
  effects.push({ kind: b.enabled ? "startService" : "pauseService", host: node.name })
  return ok({ state: withReplica(state, replica), replica, effects })
}

function reservationChange(
  replica: Replica, world: ReplicaWorld, reserve: boolean,
): Outcome<{ reservedOn: string | null; effects: ReplicaEffect[] }> {
  const amount = { vcpus: replica.vcpus, ramMb: replica.ramMb }
  if (reserve && replica.reservedOn === null) {
    const host = hostOf(world, replica.slaveHost)
    if (host === undefined) {
      return err(new NotFound({ resource: "compute node", id: replica.slaveHost }))
    }
    const short = checkCapacity(host, replica.vcpus, replica.ramMb)
    if (short !== null) return err(short)
    return ok({ reservedOn: host.name, effects: [{ kind: "reserve", host: host.name, ...amount }] })
  }
  if (!reserve && replica.reservedOn !== null) {
    return ok({ reservedOn: null,
      effects: [{ kind: "release", host: replica.reservedOn, ...amount }] })
  }
  return ok({ reservedOn: replica.reservedOn, effects: [] })
}

/** PUT /vm/(hostname_or_uuid)/replica/(repname): changes the service's parameters. */
export function updateReplica(
  state: ReplicationState, world: ReplicaWorld, hostnameOrUuid: string, repname: string,
  body: unknown, nowS: number,
): Outcome<Transition> {
  const decoded = decode(UpdateBody, body)
  if (Result.isFailure(decoded)) return err(decoded.failure)
  const found = resolveReplica(state, world, hostnameOrUuid, repname)
  if (Result.isFailure(found)) return err(found.failure)
  const r = found.success.replica
  const refused = checkTransition(r, "update")
  if (refused !== null) return err(refused)
  const b = decoded.success
  const reserve = b.reserve_resources ?? r.config.reserveResources
  const reservation = reservationChange(r, world, reserve)
  if (Result.isFailure(reservation)) return err(reservation.failure)
  const enabled = b.enabled ?? r.config.enabled
  const effects = [...reservation.success.effects]
  if (enabled !== r.config.enabled) {
    effects.push({ kind: enabled ? "startService" : "pauseService", host: r.slaveHost })
  }
  const replica: Replica = {
    ...r,
    config: { ...r.config, reserveResources: reserve, enabled,
      sleepTimeS: b.sleep_time ?? r.config.sleepTimeS,
      bwlimitBytesPerS: b.bwlimit === undefined ? r.config.bwlimitBytesPerS : b.bwlimit },
    syncStatus: enabled ? "enabled" : "paused",
    reservedOn: reservation.success.reservedOn,
    enabledSinceS: enabled ? (r.config.enabled ? r.enabledSinceS : nowS) : null,
  }
  return ok({ state: withReplica(state, replica), replica, effects })
}

/** DELETE /vm/(hostname_or_uuid)/replica/(repname): destroys the slave, releases its share. */
export function deleteReplica(
  state: ReplicationState, world: ReplicaWorld, hostnameOrUuid: string, repname: string,
): Outcome<Transition> {
  const found = resolveReplica(state, world, hostnameOrUuid, repname)
  if (Result.isFailure(found)) return err(found.failure)
  const r = found.success.replica
  const refused = checkTransition(r, "delete")
  if (refused !== null) return err(refused)
  const effects: ReplicaEffect[] = []
  if (r.reservedOn !== null) {
    effects.push({ kind: "release", host: r.reservedOn, vcpus: r.vcpus, ramMb: r.ramMb })
  }
  if (r.syncStatus !== "disabled") effects.push({ kind: "removeService", host: r.slaveHost })
  effects.push({ kind: "destroySlave", host: r.slaveHost })
  return ok({ state: without(state, r), replica: null, effects })
}

function failoverChecks(
  vm: VmFacts, r: Replica, force: boolean, target: HostFacts | undefined,
): CorralError | null {
  const refused = checkTransition(r, "failover")
  if (refused !== null) return refused
  if (r.ackedGeneration === 0) {
    return new PreconditionRequired({ message: `replica ${r.name} of ${vm.hostname} has not ` +
      "completed its first sync; there is nothing to fail over to" })
  }
  if (r.slaveDivergent) {
    return new PreconditionRequired({ message: `replica ${r.name} of ${vm.hostname}: the slave ` +
      "(the old master) has not completed its first sync since reinit" })
  }
  if (vm.pendingTaskCount > 0 && !force) {
    return new Conflict({ message: `VM ${vm.hostname} has ${vm.pendingTaskCount} pending ` +
      "task(s); use force to fail over anyway" })
  }
  if (target === undefined || target.status !== "up") {
    return new Locked({ message: `target node ${r.slaveHost} is not up` })
  }
  if (r.reservedOn === null) return checkCapacity(target, r.vcpus, r.ramMb)
  return null
}

/**
 * PUT …/failover: promotes the slave to master and stops (and fences) the old master. Works when
 * the master's host is down. `force` fails over despite pending tasks, which are dropped.
 * Afterwards `reinit_required` is set and the service is absent until reinit.
 */
export function failoverReplica(
  state: ReplicationState, world: ReplicaWorld, hostnameOrUuid: string, repname: string,
  body: unknown,
): Outcome<Transition> {
  const decoded = decode(FailoverBody, body)
  if (Result.isFailure(decoded)) return err(decoded.failure)
  const found = resolveReplica(state, world, hostnameOrUuid, repname)
  if (Result.isFailure(found)) return err(found.failure)
  const { vm, replica: r } = found.success
  const target = hostOf(world, r.slaveHost)
  const refused = failoverChecks(vm, r, decoded.success.force, target)
  if (refused !== null) return err(refused)
  const amount = { vcpus: r.vcpus, ramMb: r.ramMb }
  const effects: ReplicaEffect[] = []
  if (vm.pendingTaskCount > 0) effects.push({ kind: "dropTasks", count: vm.pendingTaskCount })
  if (r.reservedOn === null) effects.push({ kind: "reserve", host: r.slaveHost, ...amount })
  effects.push({ kind: "removeService", host: r.slaveHost })
  if (hostOf(world, r.masterHost)?.status === "up") {
    effects.push({ kind: "stopVm", host: r.masterHost })
  }
  effects.push({ kind: "fence", host: r.masterHost })
  effects.push({ kind: "promote", host: r.slaveHost })
  // The target's share now backs the master; the old master's share becomes the slave's
  // reservation, or is released when the replica does not reserve.
  if (!r.config.reserveResources) effects.push({ kind: "release", host: r.masterHost, ...amount })
  const replica: Replica = {
    ...r, masterHost: r.slaveHost, slaveHost: r.masterHost, syncStatus: "disabled",
    reinitRequired: true, inFlight: null, commonGeneration: r.ackedGeneration,
    reservedOn: r.config.reserveResources ? r.masterHost : null, enabledSinceS: null,
  }
  if (phaseOf(replica) !== "failedOver") throw new Error("failover must end in failedOver")
  return ok({ state: withReplica(state, replica), replica, effects })
}

/**
 * PUT …/reinit: degrades the old master to slave and restarts replication in the reverse
 * direction. The next cycle ships the blocks changed on either side since `commonGeneration`.
 */
export function reinitReplica(
  state: ReplicationState, world: ReplicaWorld, hostnameOrUuid: string, repname: string,
  nowS: number,
): Outcome<Transition> {
  const found = resolveReplica(state, world, hostnameOrUuid, repname)
  if (Result.isFailure(found)) return err(found.failure)
  const r = found.success.replica
  const refused = checkTransition(r, "reinit")
  if (refused !== null) return err(refused)
  if (hostOf(world, r.slaveHost)?.status !== "up") {
    return err(new Locked({ message: `old master node ${r.slaveHost} is not up` }))
  }
  if (r.config.reserveResources !== (r.reservedOn === r.slaveHost)) {
    throw new Error(`replica ${r.name}: reservation does not follow reserve_resources`)
  }
  const enabled = r.config.enabled
  const replica: Replica = {
    ...r, reinitRequired: false, syncStatus: enabled ? "enabled" : "paused",
    enabledSinceS: enabled ? nowS : null, slaveDivergent: true,
  }
  const effects: ReplicaEffect[] = [
    { kind: "degrade", host: r.slaveHost, fromGeneration: r.commonGeneration },
    { kind: enabled ? "startService" : "pauseService", host: r.slaveHost },
  ]
  return ok({ state: withReplica(state, replica), replica, effects })
}
