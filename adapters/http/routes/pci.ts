/**
 * PCI (seed `pci-api.txt`): `GET /v2/{tenant_id}/os-pci`, `/os-pci/detail`, `/os-pci/{id}`
 * (admin-only: the PCI inventory is the operator's), the server's `os-pci:pci_devices` and the
 * hypervisor's `pci_stats`. Views are the PCI core's own; `?host=` filters the lists.
 */
import { Result } from "effect"
import type { FastifyReply } from "fastify"
import { invalid, type NotFound } from "../../../core/errors.ts"
import type { Host } from "../../../core/inventory/inventory.ts"
import {
  hypervisorPciStats, pciDetail, pciList, pciShow, type PciState, serverPciDevices,
} from "../../../core/pci/index.ts"
import { type RouteGroup, sendFault } from "../server.ts"
import type { ServerMeta, World } from "../world.ts"
import { adminScope, paramsOf, sendRead } from "./common.ts"

/** The server view's `os-pci:pci_devices`. */
export function serverPciExtra(world: World, meta: ServerMeta): Record<string, unknown> {
  return serverPciDevices(world.cluster.pci, meta.id)
}

/** The hypervisor view's `pci_stats`. */
export function hypervisorPciExtra(world: World, host: Host): Record<string, unknown> {
  const stats = hypervisorPciStats(world.cluster.pci, host.name)
  if (Result.isFailure(stats)) throw new Error(`host ${host.name} missing from the PCI state`)
  return stats.success
}

/** Most list renderings cached per PCI state (one per host filter, plus the whole fleet). */
export const listCacheEntriesMax = 4_096

const listCache = new WeakMap<PciState, Map<string, string>>()

/**
 * A list view rendered once per PCI state: the state is immutable, so its JSON is too. The
 * cache hangs off the state object and goes with it; a failure (unknown host) is not cached.
 */
function cachedList(state: PciState, key: string,
  render: () => Result.Result<unknown, NotFound>): Result.Result<string, NotFound> {
  let byKey = listCache.get(state)
  if (byKey === undefined) {
    byKey = new Map()
    listCache.set(state, byKey)
  }
  const hit = byKey.get(key)
  if (hit !== undefined) return Result.succeed(hit)
  const rendered = render()
  if (Result.isFailure(rendered)) return Result.fail(rendered.failure)
  const text = JSON.stringify(rendered.success)
  if (byKey.size < listCacheEntriesMax) byKey.set(key, text)
  return Result.succeed(text)
}

function sendList(reply: FastifyReply, listed: Result.Result<string, NotFound>): FastifyReply {
  if (Result.isFailure(listed)) return sendFault(reply, listed.failure)
  return reply.code(200).type("application/json; charset=utf-8").send(listed.success)
}

function filterOf(query: unknown): { host?: string } {
  const host = (query as Record<string, unknown> | undefined)?.["host"]
  return typeof host === "string" ? { host } : {}
}

/** Route group for the `os-pci` resources. */
export const pciRoutes: RouteGroup<World> = ({ app, engine }) => {
  app.get("/v2/:tenant_id/os-pci", async (request, reply) => {
    if (adminScope(request, reply) === null) return reply
    const filter = filterOf(request.query)
    const state = engine.world().cluster.pci
    return sendList(reply, cachedList(state, `list:${filter.host ?? ""}`,
      () => pciList(state, filter)))
  })
  app.get("/v2/:tenant_id/os-pci/detail", async (request, reply) => {
    if (adminScope(request, reply) === null) return reply
    const filter = filterOf(request.query)
    const state = engine.world().cluster.pci
    return sendList(reply, cachedList(state, `detail:${filter.host ?? ""}`,
      () => pciDetail(state, filter)))
  })
  app.get("/v2/:tenant_id/os-pci/:pci_device_id", async (request, reply) => {
    if (adminScope(request, reply) === null) return reply
    const text = paramsOf(request)["pci_device_id"]!
    if (!/^[1-9][0-9]{0,9}$/.test(text)) {
      return sendRead(reply, Result.fail(invalid("pci_device_id", "a positive integer device id")))
    }
    return sendRead(reply, pciShow(engine.world().cluster.pci, Number(text)))
  })
}
