/**
 * The z/VM cloud connector (seed `zvm-cloud-connector-api.txt`) as REST resources in the
 * connector's style: one route per SDK operation, results in the connector's envelope
 * (`overallRC`, `rc`, `rs`, `modID`, `errmsg`, `output`). Admin-only: the connector is the
 * hypervisor operator's API (a compute driver calls it on the tenants' behalf).
 *
 * The SDK runs over the in-memory driver in virtual time, synchronously. Its state lives in the
 * SDK (a Ref) and the driver, not in the world: a mutating call is journalled after it succeeds
 * and replayed by calling the SDK again, the virtual clock set to the journalled time first.
 */
import type { FastifyReply, FastifyRequest } from "fastify"
import { Cause, Clock, Effect, Exit, Result } from "effect"
import { decodeInventory, type Host } from "../../../core/inventory/inventory.ts"
import { invalid, ok } from "../../../core/errors.ts"
import { makeSdk, type SdkApi } from "../../../core/sdk/api.ts"
import { connectorFailure, connectorSuccess, type SdkFailure } from "../../../core/sdk/connector.ts"
import { defaultSdkConfig } from "../../../core/sdk/state.ts"
import {
  layerSim, makeMemoryDriver, virtualClock, type VirtualClock,
} from "../../sim/memory-driver.ts"
import type { Operations } from "../engine.ts"
import type { JournalEntry } from "../journal.ts"
import { type RouteGroup, sendOutcome } from "../server.ts"
import type { World } from "../world.ts"
import { adminScope, paramsOf } from "./common.ts"

/** The z/VM host the connector manages when none is configured. */
export const defaultZvmHost = {
  name: "zvm1", vcpus: 32, ramMb: 131_072,
  diskPools: [{ name: "ECKD:POOL1", sizeMb: 1_048_576 }, { name: "FBA:FBA1", sizeMb: 262_144 }],
  vswitches: [{ name: "VSW1" }, { name: "VSW2", vlanAware: true }],
}

/** One SDK over the memory driver, run synchronously in virtual time. */
export interface Connector {
  readonly sdk: SdkApi
  readonly clock: VirtualClock
  /** Runs an SDK call at `atMs` (the clock moves forward to it first, never back). */
  readonly run: <A>(call: Effect.Effect<A, SdkFailure>, atMs?: number) =>
    Result.Result<A, SdkFailure>
}

/** Builds the connector for `hostSpec` (an inventory host document). */
export function makeConnector(hostSpec: unknown = defaultZvmHost, startMs = 0): Connector {
  const inventory = decodeInventory({ hosts: [hostSpec] })
  if (Result.isFailure(inventory)) throw new Error(`z/VM host: ${inventory.failure.message}`)
  const host: Host = inventory.success.hosts[0]!
  const clock = virtualClock(startMs)
  const driver = makeMemoryDriver({ hostname: host.name, cpus: host.vcpus, memoryMb: host.ramMb })
  const exit = Effect.runSyncExit(makeSdk({ ...defaultSdkConfig, host,
    defaultDiskPool: host.diskPools[0]?.name }).pipe(Effect.provide(layerSim(driver)),
    Effect.provideService(Clock.Clock, clock)))
  if (!Exit.isSuccess(exit)) throw new Error(`makeSdk: ${Cause.pretty(exit.cause)}`)
  const sdk = exit.value
  return {
    sdk, clock,
    run: (call, atMs) => {
      if (atMs !== undefined && atMs > clock.nowMs()) clock.advance(atMs - clock.nowMs())
      const done = Effect.runSyncExit(call.pipe(Effect.provideService(Clock.Clock, clock)))
      if (Exit.isSuccess(done)) return Result.succeed(done.value)
      const failure = done.cause.reasons.find((r) => r._tag === "Fail")
      if (failure === undefined || failure._tag !== "Fail") {
        throw new Error(`connector defect: ${Cause.pretty(done.cause)}`)
      }
      return Result.fail(failure.error)
    },
  }
}

/** The inputs of a connector call: path params, query, body. */
interface CallInput {
  readonly params: Readonly<Record<string, string>>
  readonly query: Readonly<Record<string, string>>
  readonly body: unknown
}

/** The object under `key` of an envelope body (`{"guest": {...}}`), or a BadRequest. */
function inner(body: unknown, key: string): Result.Result<Record<string, unknown>, SdkFailure> {
  const value = typeof body === "object" && body !== null && !Array.isArray(body)
    ? (body as Record<string, unknown>)[key] : undefined
  if (typeof value !== "object" || value === null || Array.isArray(value) ||
    Object.keys(body as object).length !== 1) {
    return Result.fail(connectorFailure("sdk", invalid(key, `a body {"${key}": {...}}`)))
  }
  return Result.succeed(value as Record<string, unknown>)
}

type Call = (sdk: SdkApi, input: CallInput) => Result.Result<Effect.Effect<unknown, SdkFailure>,
  SdkFailure>

const withUserid = (key: string, f: (sdk: SdkApi, args: Record<string, unknown>) =>
  Effect.Effect<unknown, SdkFailure>): Call => (sdk, { params, body }) =>
  Result.map(inner(body, key), (b) => f(sdk, { ...b, userid: params["userid"] }))

const plain = (f: (sdk: SdkApi, input: CallInput) => Effect.Effect<unknown, SdkFailure>): Call =>
  (sdk, input) => Result.succeed(f(sdk, input))

const powerActions = ["start", "stop", "softstop", "reboot", "reset", "pause", "unpause"] as const

/** `POST /guests/{userid}/action`: `{"action": "stop", "timeout": 300, "poll_interval": 10}`. */
const guestAction: Call = (sdk, { params, body }) => {
  const b = typeof body === "object" && body !== null && !Array.isArray(body)
    ? body as Record<string, unknown> : {}
  const { action, ...rest } = b
  const userid = params["userid"]
  if (typeof action !== "string") {
    return Result.fail(connectorFailure("sdk", invalid("action", "an action name: " +
      [...powerActions, "deploy", "capture", "config_minidisks"].join(", "))))
  }
  if ((powerActions as ReadonlyArray<string>).includes(action)) {
    const stopLike = action === "stop" || action === "softstop"
    if (!stopLike && Object.keys(rest).length > 0) {
      return Result.fail(connectorFailure("sdk", invalid(Object.keys(rest)[0]!,
        `no other field for ${action}`)))
    }
    const op = sdk[`guest_${action}` as "guest_stop"]
    return Result.succeed(op(userid, rest))
  }
  if (action === "deploy") return Result.succeed(sdk.guest_deploy({ ...rest, userid }))
  if (action === "capture") return Result.succeed(sdk.guest_capture({ ...rest, userid }))
  if (action === "config_minidisks") {
    return Result.succeed(sdk.guest_config_minidisks({ ...rest, userid }))
  }
  return Result.fail(connectorFailure("sdk", invalid("action", "an action name: " +
    [...powerActions, "deploy", "capture", "config_minidisks"].join(", "))))
}

/** One route per SDK operation: method, path, whether it changes state, and the call. */
export const connectorTable: ReadonlyArray<{
  readonly method: "GET" | "POST" | "PUT" | "DELETE"
  readonly path: string
  readonly name: string
  readonly mutates: boolean
  readonly status?: number
  readonly call: Call
}> = [
  { method: "GET", path: "/guests", name: "guest_list", mutates: false,
    call: plain((sdk) => sdk.guest_list()) },
  { method: "POST", path: "/guests", name: "guest_create", mutates: true, status: 201,
    call: (sdk, { body }) => Result.map(inner(body, "guest"), (g) => sdk.guest_create(g)) },
  { method: "GET", path: "/guests/stats", name: "guest_inspect_stats", mutates: false,
    call: plain((sdk, { query }) => sdk.guest_inspect_stats((query["userid"] ?? "").split(","))) },
  { method: "GET", path: "/guests/vnicsinfo", name: "guest_inspect_vnics", mutates: false,
    call: plain((sdk, { query }) => sdk.guest_inspect_vnics((query["userid"] ?? "").split(","))) },
  { method: "GET", path: "/guests/nics", name: "guests_get_nic_info", mutates: false,
    call: plain((sdk, { query }) => sdk.guests_get_nic_info({ ...query })) },
  { method: "GET", path: "/guests/:userid", name: "guest_get_definition_info", mutates: false,
    call: plain((sdk, { params, query }) => sdk.guest_get_definition_info(params["userid"],
      { ...query })) },
  { method: "DELETE", path: "/guests/:userid", name: "guest_delete", mutates: true,
    call: plain((sdk, { params }) => sdk.guest_delete(params["userid"])) },
  { method: "GET", path: "/guests/:userid/info", name: "guest_get_info", mutates: false,
    call: plain((sdk, { params }) => sdk.guest_get_info(params["userid"])) },
  { method: "GET", path: "/guests/:userid/power_state", name: "guest_get_power_state",
    mutates: true, call: plain((sdk, { params }) => sdk.guest_get_power_state(params["userid"])) },
  { method: "GET", path: "/guests/:userid/console_output", name: "guest_get_console_output",
    mutates: false, call: plain((sdk, { params }) =>
      sdk.guest_get_console_output(params["userid"])) },
  { method: "POST", path: "/guests/:userid/action", name: "guest_action", mutates: true,
    call: guestAction },
  { method: "GET", path: "/guests/:userid/nic", name: "guest_get_nic_vswitch_info",
    mutates: false, call: plain((sdk, { params }) =>
      sdk.guest_get_nic_vswitch_info(params["userid"])) },
  { method: "POST", path: "/guests/:userid/nic", name: "guest_create_nic", mutates: true,
    status: 201, call: withUserid("nic", (sdk, a) => sdk.guest_create_nic(a)) },
  { method: "DELETE", path: "/guests/:userid/nic/:vdev", name: "guest_delete_nic",
    mutates: true, call: plain((sdk, { params, query }) => sdk.guest_delete_nic({
      userid: params["userid"], vdev: params["vdev"],
      ...(query["active"] === undefined ? {} : { active: query["active"] === "true" }) })) },
  { method: "PUT", path: "/guests/:userid/nic/:vdev", name: "guest_nic_couple", mutates: true,
    call: (sdk, { params, body }) => Result.map(inner(body, "info"), (i) => {
      const { couple, vswitch, ...rest } = i
      const base = { ...rest, userid: params["userid"], nic_vdev: params["vdev"] }
      return couple === false ? sdk.guest_nic_uncouple_from_vswitch(base)
        : sdk.guest_nic_couple_to_vswitch({ ...base, vswitch_name: vswitch })
    }) },
  { method: "POST", path: "/guests/:userid/interface", name: "guest_create_network_interface",
    mutates: true, status: 201,
    call: withUserid("interface", (sdk, a) => sdk.guest_create_network_interface(a)) },
  { method: "POST", path: "/guests/:userid/disks", name: "guest_create_disks", mutates: true,
    status: 201, call: withUserid("disk_info", (sdk, a) => sdk.guest_create_disks(a)) },
  { method: "DELETE", path: "/guests/:userid/disks", name: "guest_delete_disks", mutates: true,
    call: withUserid("vdev_info", (sdk, a) => sdk.guest_delete_disks(a)) },
  { method: "GET", path: "/host", name: "host_get_info", mutates: false,
    call: plain((sdk) => sdk.host_get_info()) },
  { method: "GET", path: "/host/diskpool", name: "host_diskpool_get_info", mutates: false,
    call: plain((sdk, { query }) => sdk.host_diskpool_get_info(query["poolname"])) },
  { method: "GET", path: "/images", name: "image_query", mutates: false,
    call: plain((sdk, { query }) => sdk.image_query(query["imagename"])) },
  { method: "POST", path: "/images", name: "image_import", mutates: true, status: 201,
    call: (sdk, { body }) => Result.map(inner(body, "image"), (i) => sdk.image_import(i)) },
  { method: "DELETE", path: "/images/:name", name: "image_delete", mutates: true,
    call: plain((sdk, { params }) => sdk.image_delete(params["name"])) },
  { method: "GET", path: "/images/:name/root_disk_size", name: "image_get_root_disk_size",
    mutates: false,
    call: plain((sdk, { params }) => sdk.image_get_root_disk_size(params["name"])) },
  { method: "PUT", path: "/images/:name", name: "image_export", mutates: true,
    call: (sdk, { params, body }) => Result.map(inner(body, "location"),
      (l) => sdk.image_export({ ...l, image_name: params["name"] })) },
  { method: "GET", path: "/vswitches", name: "vswitch_get_list", mutates: false,
    call: plain((sdk) => sdk.vswitch_get_list()) },
  { method: "POST", path: "/vswitches", name: "vswitch_create", mutates: true, status: 201,
    call: (sdk, { body }) => Result.map(inner(body, "vswitch"), (v) => sdk.vswitch_create(v)) },
  { method: "PUT", path: "/vswitches/:name", name: "vswitch_set", mutates: true,
    call: (sdk, { params, body }) => Result.map(inner(body, "vswitch"),
      (v) => sdk.vswitch_set({ ...v, vswitch_name: params["name"] })) },
  { method: "DELETE", path: "/vswitches/:name", name: "vswitch_delete", mutates: true,
    call: plain((sdk, { params }) => sdk.vswitch_delete({ name: params["name"] })) },
  { method: "PUT", path: "/vswitches/:name/users/:userid", name: "vswitch_grant_user",
    mutates: true, call: (sdk, { params, body }) => Result.succeed(
      typeof body === "object" && body !== null && "vlan_id" in body
        ? sdk.vswitch_set_vlan_id_for_user({ vswitch_name: params["name"],
          userid: params["userid"], vlan_id: (body as Record<string, unknown>)["vlan_id"] })
        : sdk.vswitch_grant_user({ vswitch_name: params["name"], userid: params["userid"] })) },
  { method: "DELETE", path: "/vswitches/:name/users/:userid", name: "vswitch_revoke_user",
    mutates: true, call: plain((sdk, { params }) => sdk.vswitch_revoke_user({
      vswitch_name: params["name"], userid: params["userid"] })) },
  { method: "POST", path: "/volumes", name: "volume_attach", mutates: true,
    call: (sdk, { body }) => Result.map(inner(body, "info"), (i) => sdk.volume_attach(i)) },
  { method: "DELETE", path: "/volumes", name: "volume_detach", mutates: true,
    call: (sdk, { body }) => Result.map(inner(body, "info"), (i) => sdk.volume_detach(i)) },
]

function runCall(connector: Connector, name: string, input: CallInput, atMs?: number)
  : Result.Result<unknown, SdkFailure> {
  const route = connectorTable.find((r) => r.name === name)
  if (route === undefined) throw new Error(`unknown connector operation ${name}`)
  const call = route.call(connector.sdk, input)
  if (Result.isFailure(call)) return call
  return connector.run(call.success, atMs)
}

/** The journalled connector operations (they act on `connector`, not on the world). */
export function connectorOperations(connector: Connector): Operations<World> {
  const ops: Record<string, Operations<World>[string]> = {}
  for (const route of connectorTable.filter((r) => r.mutates)) {
    ops[`connector.${route.name}`] = (world, e: JournalEntry) => {
      const input = e.body as CallInput
      const done = runCall(connector, route.name, input, e.atMs)
      if (Result.isFailure(done)) return Result.fail(done.failure)
      return ok({ world, reply: { status: route.status ?? 200,
        body: connectorSuccess(done.success ?? "") } })
    }
  }
  return ops
}

/** Route group for the connector. */
export function connectorRoutes(connector: Connector): RouteGroup<World> {
  return ({ app, engine }) => {
    for (const route of connectorTable) {
      app.route({ method: route.method, url: route.path,
        handler: async (request: FastifyRequest, reply: FastifyReply) => {
          const p = adminScope(request, reply)
          if (p === null) return reply
          const input: CallInput = { params: paramsOf(request),
            query: { ...(request.query as Record<string, string>) },
            body: request.body === undefined ? null : request.body }
          if (route.mutates) {
            const outcome = await engine.apply({ op: `connector.${route.name}`,
              tenant: p.tenant, params: {}, body: input, idsCount: 0 })
            return sendOutcome(reply, outcome)
          }
          const done = runCall(connector, route.name, input)
          return sendOutcome(reply, Result.map(done, (output) =>
            ({ status: 200, body: connectorSuccess(output ?? "") })))
        } })
    }
  }
}
