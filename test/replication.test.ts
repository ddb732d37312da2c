import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { httpStatus, type Outcome } from "../core/errors.ts"
import {
  abortSync, acknowledgeSync, changedBytes, createReplica, deleteReplica, emptyReplicationState,
  failoverReplica, listReplicas, nextSyncDueS, phaseOf, reinitReplica, replicaOperations,
  type ReplicaOperation, replicaPhases, type ReplicaWorld, type ReplicationState, rpoS,
  showReplica, startSync, transferTimeS, transitionTable, updateReplica,
} from "../core/replication/index.ts"
import { inPhase, must, node, only, synced, world } from "./replication-fixture.ts"

function apply(op: ReplicaOperation, s: ReplicationState, w: ReplicaWorld): Outcome<unknown> {
  const flight = only(s).inFlight
  switch (op) {
    case "show": return showReplica(s, w, "web1", "r1")
    case "update": return updateReplica(s, w, "web1", "r1", { sleep_time: 30 }, 50)
    case "delete": return deleteReplica(s, w, "web1", "r1")
    case "failover": return failoverReplica(s, w, "web1", "r1", {})
    case "reinit": return reinitReplica(s, w, "web1", "r1", 50)
    case "syncStart": return startSync(s, w, "web1", "r1", 50)
    case "syncAck": return acknowledgeSync(s, w, "web1", "r1",
      { generation: flight?.generation ?? 99, bytesSent: 10, atS: 60 })
    case "syncAbort": return abortSync(s, w, "web1", "r1")
  }
}

describe("transition table: every (phase, operation) pair", () => {
  const cases = replicaPhases.flatMap((phase) =>
    replicaOperations.map((op) => [phase, op] as const))
  it.each(cases)("%s × %s", (phase, op) => {
    const w = world()
    const s = inPhase(phase, w)
    expect(phaseOf(only(s))).toBe(phase)
    const before = structuredClone(s)
    const verdict = transitionTable[phase][op]
    const out = apply(op, s, w)
    if (verdict.allowed) {
      if (Result.isFailure(out)) throw new Error(out.failure.message)
    } else {
      if (Result.isSuccess(out)) throw new Error("expected a refusal")
      expect(out.failure._tag).toBe(verdict.error)
      expect(httpStatus(out.failure)).toBe(verdict.error === "Conflict" ? 409 : 428)
    }
    expect(s).toEqual(before)
  })
})

describe("create", () => {
  it("applies the seed's defaults, reserves the master's vCPU/RAM and starts the service", () => {
    const t = must(createReplica(emptyReplicationState, world(), "web1", "r1", { node: "h2" }, 5))
    const r = t.replica!
    expect(r.config).toEqual({ node: "h2", rootZpool: null, diskZpools: {}, reserveResources: true,
      sleepTimeS: 60, enabled: true, bwlimitBytesPerS: null })
    expect([r.syncStatus, r.reinitRequired, r.lastSyncS, r.ackedGeneration])
      .toEqual(["enabled", false, null, 0])
    expect(t.effects).toEqual([
      { kind: "reserve", host: "h2", vcpus: 4, ramMb: 8192 },
      { kind: "createSlave", host: "h2", rootZpool: null, diskZpools: {} },
      { kind: "startService", host: "h2" },
    ])
  })

  it("reserves nothing with reserve_resources false, and pauses with enabled false", () => {
    const t = must(createReplica(emptyReplicationState, world(), "u-1", "r1",
      { node: "h4", reserve_resources: false, enabled: false, bwlimit: 1000, sleep_time: 0 }, 5))
    expect(t.replica!.reservedOn).toBeNull()
    expect(t.replica!.syncStatus).toBe("paused")
    expect(t.effects.map((e) => e.kind)).toEqual(["createSlave", "pauseService"])
  })

  const refusals: Array<[string, ReplicationState, ReplicaWorld, string, object, string, number,
    string | RegExp]> = [
    ["replica exists", synced(), world(), "r1", { node: "h2" }, "AlreadyExists", 406, /exists/],
    ["another replica of the VM", synced(), world(), "r2", { node: "h2" }, "Conflict", 409,
      /one slave/],
    ["pending tasks", emptyReplicationState, world({ vm: { pendingTaskCount: 2 } }), "r1",
      { node: "h2" }, "Conflict", 409, /pending/],
    ["master neither running nor stopped", emptyReplicationState,
      world({ vm: { status: "stopping" } }), "r1", { node: "h2" }, "Locked", 423, /stopping/],
    ["target is the master's host", emptyReplicationState, world(), "r1", { node: "h1" },
      "BadRequest", 400, "node"],
    ["target is down", emptyReplicationState, world(), "r1", { node: "h3" }, "BadRequest", 400,
      "node"],
    ["unknown target", emptyReplicationState, world(), "r1", { node: "h9" }, "BadRequest", 400,
      "node"],
    ["missing root zpool", emptyReplicationState, world(), "r1", { node: "h2", root_zpool: "x" },
      "BadRequest", 400, "root_zpool"],
    ["disk zpool missing", emptyReplicationState, world(), "r1",
      { node: "h2", disk_zpools: { "1": "nope" } }, "BadRequest", 400, "disk_zpools.1"],
    ["unknown disk id", emptyReplicationState, world(), "r1",
      { node: "h2", disk_zpools: { "7": "data" } }, "BadRequest", 400, "disk_zpools.7"],
    ["sleep_time above a day", emptyReplicationState, world(), "r1",
      { node: "h2", sleep_time: 86401 }, "BadRequest", 400, "sleep_time"],
    ["bwlimit zero", emptyReplicationState, world(), "r1", { node: "h2", bwlimit: 0 },
      "BadRequest", 400, "bwlimit"],
    ["bwlimit above 2^31-1", emptyReplicationState, world(), "r1",
      { node: "h2", bwlimit: 2 ** 31 }, "BadRequest", 400, "bwlimit"],
    ["node missing", emptyReplicationState, world(), "r1", {}, "BadRequest", 400, "node"],
    ["unknown field", emptyReplicationState, world(), "r1", { node: "h2", nod: 1 },
      "BadRequest", 400, "nod"],
    ["bad repname", emptyReplicationState, world(), "-x", { node: "h2" }, "BadRequest", 400,
      "repname"],
    ["not enough vCPUs", emptyReplicationState, world(), "r1", { node: "h4" },
      "InsufficientCapacity", 409, /vcpus on h4: requested 4, free 2/],
    ["not enough RAM", emptyReplicationState,
      world({ hosts: [node("h1"), node("h2", { freeRamMb: 100 })] }), "r1", { node: "h2" },
      "InsufficientCapacity", 409, /ramMb on h2/],
  ]
  it.each(refusals)("refuses: %s", (_name, s, w, repname, body, tag, status, where) => {
    const before = structuredClone(s)
    const out = createReplica(s, w, "web1", repname, body, 0)
    if (Result.isSuccess(out)) throw new Error("expected a refusal")
    expect(out.failure._tag).toBe(tag)
    expect(httpStatus(out.failure)).toBe(status)
    if (typeof where === "string") {
      expect(out.failure._tag === "BadRequest" && out.failure.issues?.map((i) => i.path))
        .toContain(where)
    } else expect(out.failure.message).toMatch(where)
    expect(s).toEqual(before)
  })

  it("an unknown VM is NotFound", () => {
    const out = createReplica(emptyReplicationState, world(), "nope", "r1", { node: "h2" }, 0)
    expect(Result.isFailure(out) && out.failure._tag).toBe("NotFound")
  })
})

describe("update", () => {
  it("changes sleep_time and bwlimit; null bwlimit means unlimited", () => {
    const w = world()
    let s = must(updateReplica(synced(w), w, "web1", "r1", { sleep_time: 5, bwlimit: 100 }, 20))
      .state
    expect(only(s).config.bwlimitBytesPerS).toBe(100)
    s = must(updateReplica(s, w, "web1", "r1", { bwlimit: null }, 21)).state
    expect(only(s).config).toMatchObject({ sleepTimeS: 5, bwlimitBytesPerS: null })
  })

  it("pauses and restarts the service", () => {
    const w = world()
    const p = must(updateReplica(synced(w), w, "web1", "r1", { enabled: false }, 20))
    expect(p.effects).toEqual([{ kind: "pauseService", host: "h2" }])
    expect(only(p.state).syncStatus).toBe("paused")
    const e = must(updateReplica(p.state, w, "web1", "r1", { enabled: true }, 30))
    expect(e.effects).toEqual([{ kind: "startService", host: "h2" }])
    expect(only(e.state).enabledSinceS).toBe(30)
    expect(nextSyncDueS(only(e.state))).toBe(30)
  })

  it("reserve_resources false releases, true reserves again after a capacity check", () => {
    const w = world()
    const off = must(updateReplica(synced(w), w, "web1", "r1", { reserve_resources: false }, 20))
    expect(off.effects).toEqual([{ kind: "release", host: "h2", vcpus: 4, ramMb: 8192 }])
    const full = world({ hosts: [node("h1"), node("h2", { freeVcpus: 1 })] })
    const out = updateReplica(off.state, full, "web1", "r1", { reserve_resources: true }, 21)
    expect(Result.isFailure(out) && out.failure._tag).toBe("InsufficientCapacity")
    const on = must(updateReplica(off.state, w, "web1", "r1", { reserve_resources: true }, 21))
    expect(on.effects).toEqual([{ kind: "reserve", host: "h2", vcpus: 4, ramMb: 8192 }])
  })

  it("rejects a bad body with the field path", () => {
    const out = updateReplica(synced(), world(), "web1", "r1", { sleep_time: -1, node: "h2" }, 1)
    if (Result.isSuccess(out)) throw new Error("expected a refusal")
    expect(out.failure._tag === "BadRequest" && out.failure.issues!.map((i) => i.path).sort())
      .toEqual(["node", "sleep_time"])
  })
})

describe("failover and reinit", () => {
  it("promotes the slave, stops and fences the old master, requires reinit", () => {
    const t = must(failoverReplica(synced(), world(), "web1", "r1", {}))
    expect(t.effects.map((e) => `${e.kind}${"host" in e ? `:${e.host}` : ""}`))
      .toEqual(["removeService:h2", "stopVm:h1", "fence:h1", "promote:h2"])
    expect(t.replica).toMatchObject({ masterHost: "h2", slaveHost: "h1", syncStatus: "disabled",
      reinitRequired: true, commonGeneration: 1, reservedOn: "h1" })
  })

  it("works with the master's host down (fence, no stop)", () => {
    const w = world({ hosts: [node("h1", { status: "down" }), node("h2")] })
    const t = must(failoverReplica(synced(world()), w, "web1", "r1", {}))
    expect(t.effects.map((e) => e.kind)).toEqual(["removeService", "fence", "promote"])
  })

  it("refuses with pending tasks unless force, which drops them", () => {
    const w = world({ vm: { pendingTaskCount: 3 } })
    const s = synced(world())
    const out = failoverReplica(s, w, "web1", "r1", {})
    expect(Result.isFailure(out) && httpStatus(out.failure)).toBe(409)
    const t = must(failoverReplica(s, w, "web1", "r1", { force: true }))
    expect(t.effects[0]).toEqual({ kind: "dropTasks", count: 3 })
  })

  it("without reserve_resources it reserves at failover, or fails if the target lacks room", () => {
    const s = synced(world(), { node: "h2", reserve_resources: false })
    const t = must(failoverReplica(s, world(), "web1", "r1", {}))
    expect(t.effects).toContainEqual({ kind: "reserve", host: "h2", vcpus: 4, ramMb: 8192 })
    expect(t.effects).toContainEqual({ kind: "release", host: "h1", vcpus: 4, ramMb: 8192 })
    const small = world({ hosts: [node("h1"), node("h2", { freeRamMb: 10 })] })
    const out = failoverReplica(s, small, "web1", "r1", {})
    expect(Result.isFailure(out) && out.failure.message).toMatch(/Insufficient ramMb on h2/)
  })

  const refusals: Array<[string, ReplicationState, ReplicaWorld, string, number]> = [
    ["target down", synced(), world({ hosts: [node("h1"), node("h2", { status: "down" })] }),
      "Locked", 423],
    ["nothing synced yet", must(createReplica(emptyReplicationState, world(), "web1", "r1",
      { node: "h2" }, 0)).state, world(), "PreconditionRequired", 428],
    ["second failover", inPhase("failedOver"), world(), "PreconditionRequired", 428],
    ["reinit done, reverse sync not yet", must(reinitReplica(inPhase("failedOver"), world(),
      "web1", "r1", 100)).state, world(), "PreconditionRequired", 428],
  ]
  it.each(refusals)("refuses: %s", (_n, s, w, tag, status) => {
    const out = failoverReplica(s, w, "web1", "r1", {})
    if (Result.isSuccess(out)) throw new Error("expected a refusal")
    expect([out.failure._tag, httpStatus(out.failure)]).toEqual([tag, status])
  })

  it("reinit degrades the old master and syncs back from the common generation", () => {
    const w = world()
    const t = must(reinitReplica(inPhase("failedOver"), w, "web1", "r1", 100))
    expect(t.effects).toEqual([{ kind: "degrade", host: "h1", fromGeneration: 1 },
      { kind: "startService", host: "h1" }])
    const c = must(startSync(t.state, w, "web1", "r1", 100)).cycle
    expect(c).toMatchObject({ fromGeneration: 1, includeSlaveChanges: true, masterHost: "h2",
      slaveHost: "h1" })
  })

  it("reinit needs the old master's host up", () => {
    const w = world({ hosts: [node("h1", { status: "down" }), node("h2")] })
    const out = reinitReplica(inPhase("failedOver"), w, "web1", "r1", 100)
    expect(Result.isFailure(out) && out.failure._tag).toBe("Locked")
  })
})

describe("delete", () => {
  it("releases the reservation and destroys slave and service", () => {
    const t = must(deleteReplica(synced(), world(), "web1", "r1"))
    expect(t.state.replicas).toEqual({})
    expect(t.effects).toEqual([{ kind: "release", host: "h2", vcpus: 4, ramMb: 8192 },
      { kind: "removeService", host: "h2" }, { kind: "destroySlave", host: "h2" }])
  })
  it("an unknown replica is NotFound (404)", () => {
    const out = deleteReplica(synced(), world(), "web1", "zz")
    expect(Result.isFailure(out) && httpStatus(out.failure)).toBe(404)
  })
})

describe("sync cycle", () => {
  it("acknowledges only the in-flight generation and records last_sync and bytes", () => {
    const w = world()
    const st = must(startSync(synced(w), w, "web1", "r1", 70))
    expect(st.cycle).toMatchObject({ generation: 2, fromGeneration: 1 })
    const wrong = acknowledgeSync(st.state, w, "web1", "r1",
      { generation: 3, bytesSent: 1, atS: 71 })
    expect(Result.isFailure(wrong) && wrong.failure._tag).toBe("Conflict")
    const early = acknowledgeSync(st.state, w, "web1", "r1",
      { generation: 2, bytesSent: 1, atS: 1 })
    expect(Result.isFailure(early) && early.failure._tag).toBe("BadRequest")
    const r = must(acknowledgeSync(st.state, w, "web1", "r1",
      { generation: 2, bytesSent: 500, atS: 75 })).replica
    expect([r.ackedGeneration, r.lastSyncS, r.bytesSent, r.inFlight]).toEqual([2, 75, 4596, null])
    expect(rpoS(r, 100)).toBe(25)
    expect(nextSyncDueS(r)).toBe(135)
  })

  it("an aborted cycle keeps the acknowledged generation; the next uses a new number", () => {
    const w = world()
    const st = must(startSync(synced(w), w, "web1", "r1", 70))
    const ab = must(abortSync(st.state, w, "web1", "r1")).state
    expect(only(ab).ackedGeneration).toBe(1)
    expect(must(startSync(ab, w, "web1", "r1", 71)).cycle.generation).toBe(3)
  })

  const times: Array<[number, number | null, number]> = [
    [0, null, 0], [1000, null, 0], [1000, 100, 10], [4096, 1, 4096],
  ]
  it.each(times)("transfer of %d bytes at %s B/s takes %d s", (bytes, bw, s) => {
    expect(transferTimeS(bytes, bw)).toBe(s)
  })

  it("counts a partial final block", () => {
    expect(changedBytes([0, 2], 4096, 4096 * 2 + 100)).toBe(4196)
  })
})

describe("views", () => {
  it("lists names, or full objects, and shows one", () => {
    const s = synced()
    expect(must(listReplicas(s, world(), "web1"))).toEqual(["r1"])
    const full = must(listReplicas(s, world(), "web1", { full: true }))
    expect(full).toEqual([must(showReplica(s, world(), "web1", "r1"))])
    expect(must(showReplica(s, world(), "u-1", "r1"))).toMatchObject({
      repname: "r1", node: "h2", master_node: "h1", status: "enabled", reinit_required: false,
      last_sync: "1970-01-01T00:00:10.000Z", sleep_time: 60, bwlimit: null, last_generation: 1,
    })
  })
  it("rejects a bad list body", () => {
    const out = listReplicas(synced(), world(), "web1", { full: "yes" })
    expect(Result.isFailure(out) && out.failure._tag === "BadRequest" && out.failure.path)
      .toBe("full")
  })
})
