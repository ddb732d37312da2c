/**
 * Replicas (seed `vm-replica-api.txt`), admin-only as in the seed's system:
 * `GET /vm/{hostname_or_uuid}/replica`, `GET|POST|PUT|DELETE /vm/{…}/replica/{repname}`,
 * `PUT …/failover`, `PUT …/reinit`. Status codes follow the replication core: 406 exists,
 * 409 conflict or capacity, 423 locked, 428 reinit/first sync required.
 *
 * The replica machine is given the cluster as facts (VMs are the servers; zpools are disk pools)
 * and returns reservations as effects: the façade books a reservation as a cluster instance
 * `replica:<vm>/<repname>` on the target, so the slave's vCPU/RAM count like any server's.
 * Sync transfer is simulated: a create with `enabled` runs its first sync cycle at once.
 */
import type { FastifyReply, FastifyRequest } from "fastify"
import { Result } from "effect"
import { createServer, deleteServer, findServer, usageAt } from "../../../core/cluster/state.ts"
import { freeRamMbOf, freeVcpusOf } from "../../../core/cluster/scan.ts"
import type { ClusterState } from "../../../core/cluster/types.ts"
import { type CorralError, err, ok, type Outcome } from "../../../core/errors.ts"
import {
  createReplica, deleteReplica, failoverReplica, type ReplicaWorld, reinitReplica, resolveVm,
  type Transition, updateReplica,
} from "../../../core/replication/machine.ts"
import type { ReplicaEffect } from "../../../core/replication/model.ts"
import { acknowledgeSync, startSync } from "../../../core/replication/sync.ts"
import { listReplicas, replicaView, showReplica } from "../../../core/replication/views.ts"
import type { Applied, Operations } from "../engine.ts"
import type { JournalEntry } from "../journal.ts"
import type { RouteGroup } from "../server.ts"
import type { World } from "../world.ts"
import { adminScope, paramsOf, sendRead, submit } from "./common.ts"

/** The cluster as facts the replica machine reads. */
export function replicaWorldOf(world: World): ReplicaWorld {
  const cluster = world.cluster
  const vms = [...world.servers.values()].map((meta) => {
    const record = findServer(cluster, meta.id)
    if (record === undefined) throw new Error(`server ${meta.id} has no cluster record`)
    return {
      uuid: meta.id, hostname: meta.name, host: record.host, status: "running" as const,
      vcpus: record.vcpus, ramMb: record.ramMb, pendingTaskCount: 0,
      diskIds: record.disks.map((_, i) => `disk${i}`),
    }
  })
  const hosts = cluster.inventory.hosts.map((h) => {
    const usage = usageAt(cluster, h.index)
    return {
      name: h.name, status: h.status, zpools: h.diskPools.map((p) => p.name),
      freeVcpus: freeVcpusOf(h, usage), freeRamMb: freeRamMbOf(h, usage),
      vcpuCapacity: h.vcpuCapacity, ramCapacityMb: h.ramCapacityMb,
    }
  })
  return { vms, hosts }
}

const reservationId = (vmUuid: string, name: string) => `replica:${vmUuid}/${name}`

/** Applies a transition's reserve/release effects to the cluster (others are driver work). */
function bookEffects(
  cluster: ClusterState,
  vmUuid: string,
  name: string,
  effects: ReadonlyArray<ReplicaEffect>,
): Outcome<ClusterState, CorralError> {
  let state = cluster
  const id = reservationId(vmUuid, name)
  for (const effect of effects) {
    if (effect.kind === "reserve") {
      const placed = createServer(state, { kind: "server", uuid: id, vcpus: effect.vcpus,
        ramMb: effect.ramMb, disks: [], groups: [] }, effect.host)
      if (Result.isFailure(placed)) return err(placed.failure)
      state = placed.success.state
    } else if (effect.kind === "release") {
      const removed = deleteServer(state, id)
      if (Result.isFailure(removed)) throw new Error(`release of unbooked reservation ${id}`)
      state = removed.success.state
    }
  }
  return ok(state)
}

function commit(world: World, e: JournalEntry, t: Outcome<Transition>, status: number)
  : Outcome<Applied<World>, CorralError> {
  if (Result.isFailure(t)) return err(t.failure)
  const { state, replica, effects } = t.success
  const vm = resolveVm(replicaWorldOf(world), e.params["hostname_or_uuid"]!)
  if (Result.isFailure(vm)) throw new Error("a transition succeeded on an unknown VM")
  const cluster = bookEffects(world.cluster, vm.success.uuid, e.params["repname"]!, effects)
  if (Result.isFailure(cluster)) return err(cluster.failure)
  return ok({
    world: { ...world, cluster: cluster.success, replication: state },
    reply: replica === null ? { status } : { status, body: { replica: replicaView(replica) } },
  })
}

function createOp(world: World, e: JournalEntry): Outcome<Applied<World>, CorralError> {
  const facts = replicaWorldOf(world)
  const vm = e.params["hostname_or_uuid"]!
  const repname = e.params["repname"]!
  const nowS = Math.floor(e.atMs / 1000)
  const created = createReplica(world.replication, facts, vm, repname, bodyOrEmpty(e.body), nowS)
  if (Result.isFailure(created) || created.success.replica?.syncStatus !== "enabled") {
    return commit(world, e, created, 201)
  }
  // The initial sync: snapshot, transfer (simulated as instant) and acknowledgement.
  const started = startSync(created.success.state, facts, vm, repname, nowS)
  if (Result.isFailure(started)) throw new Error(`first sync refused: ${started.failure.message}`)
  const acked = acknowledgeSync(started.success.state, facts, vm, repname,
    { generation: started.success.cycle.generation, bytesSent: 0, atS: nowS })
  if (Result.isFailure(acked)) throw new Error(`first sync ack refused: ${acked.failure.message}`)
  return commit(world, e, ok({ ...created.success, state: acked.success.state,
    replica: acked.success.replica }), 201)
}

/** The journalled operations of this group. */
export const replicaOperations: Operations<World> = {
  "replica.create": createOp,
  "replica.update": (world, e) => commit(world, e, updateReplica(world.replication,
    replicaWorldOf(world), e.params["hostname_or_uuid"]!, e.params["repname"]!, bodyOrEmpty(e.body),
    Math.floor(e.atMs / 1000)), 200),
  "replica.delete": (world, e) => commit(world, e, deleteReplica(world.replication,
    replicaWorldOf(world), e.params["hostname_or_uuid"]!, e.params["repname"]!), 200),
  "replica.failover": (world, e) => commit(world, e, failoverReplica(world.replication,
    replicaWorldOf(world), e.params["hostname_or_uuid"]!, e.params["repname"]!,
    bodyOrEmpty(e.body)),
    200),
  "replica.reinit": (world, e) => commit(world, e, reinitReplica(world.replication,
    replicaWorldOf(world), e.params["hostname_or_uuid"]!, e.params["repname"]!,
    Math.floor(e.atMs / 1000)), 200),
}

/** Route group for replicas. */
export const replicaRoutes: RouteGroup<World> = ({ app, engine }) => {
  const change = (op: string) => async (request: FastifyRequest, reply: FastifyReply) => {
    const p = adminScope(request, reply)
    if (p === null) return reply
    const { hostname_or_uuid, repname } = paramsOf(request)
    return submit(engine, reply, { op, tenant: p.tenant,
      params: { hostname_or_uuid: hostname_or_uuid!, repname: repname! }, body: request.body })
  }
  app.get("/vm/:hostname_or_uuid/replica", async (request, reply) => {
    if (adminScope(request, reply) === null) return reply
    const world = engine.world()
    const query = request.query as Record<string, string | undefined>
    const full = query["full"] === undefined ? bodyOrEmpty(request.body)
      : { full: query["full"] === "true" }
    const listed = listReplicas(world.replication, replicaWorldOf(world),
      paramsOf(request)["hostname_or_uuid"]!, full)
    return sendRead(reply, Result.map(listed, (replicas) => ({ replicas })))
  })
  app.get("/vm/:hostname_or_uuid/replica/:repname", async (request, reply) => {
    if (adminScope(request, reply) === null) return reply
    const world = engine.world()
    const { hostname_or_uuid, repname } = paramsOf(request)
    const shown = showReplica(world.replication, replicaWorldOf(world), hostname_or_uuid!, repname!)
    return sendRead(reply, Result.map(shown, (replica) => ({ replica })))
  })
  app.post("/vm/:hostname_or_uuid/replica/:repname", change("replica.create"))
  app.put("/vm/:hostname_or_uuid/replica/:repname", change("replica.update"))
  app.delete("/vm/:hostname_or_uuid/replica/:repname", change("replica.delete"))
  app.put("/vm/:hostname_or_uuid/replica/:repname/failover", change("replica.failover"))
  app.put("/vm/:hostname_or_uuid/replica/:repname/reinit", change("replica.reinit"))
}

/** An absent body is `{}` (every field optional); `null` or any other value is decoded as is. */
function bodyOrEmpty(body: unknown): unknown {
  return body === undefined ? {} : body
}
