/**
 * PCI (seed `pci-api.txt`): `GET /v2/{tenant_id}/os-pci`, `/os-pci/detail`, `/os-pci/{id}`
 * (admin-only: the PCI inventory is the operator's), the server's `os-pci:pci_devices` and the
 * hypervisor's `pci_stats`. Views are the PCI core's own; `?host=` filters the lists. The lists
 * are rendered once per PCI state (adapters/http/rendered.ts: bytes, gzip, ETag).
 */
import { Result } from "effect"
import type { FastifyReply, FastifyRequest } from "fastify"
import { invalid, type NotFound } from "../../../core/errors.ts"
import type { Host } from "../../../core/inventory/inventory.ts"
import {
  hypervisorPciStats, pciDetail, pciList, pciShow, serverPciDevices,
} from "../../../core/pci/index.ts"
import { type Rendered, renderedOf, sendRendered } from "../rendered.ts"
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

function sendList(request: FastifyRequest, reply: FastifyReply,
  listed: Result.Result<Rendered, NotFound>): void {
  if (Result.isFailure(listed)) sendFault(reply, listed.failure)
  else sendRendered(request, reply, listed.success)
}

function filterOf(query: unknown): { host?: string } {
  const host = (query as Record<string, unknown> | undefined)?.["host"]
  return typeof host === "string" ? { host } : {}
}

/** Route group for the `os-pci` resources. */
export const pciRoutes: RouteGroup<World> = ({ app, engine }) => {
  // The two lists are synchronous handlers that send and return nothing: no promise, no
  // thenable reply for the framework to settle on the hottest read routes.
  app.get("/v2/:tenant_id/os-pci", (request, reply) => {
    if (adminScope(request, reply) === null) return
    const filter = filterOf(request.query)
    const state = engine.world().cluster.pci
    sendList(request, reply, renderedOf(state, `os-pci:${filter.host ?? ""}`,
      () => pciList(state, filter)))
  })
  app.get("/v2/:tenant_id/os-pci/detail", (request, reply) => {
    if (adminScope(request, reply) === null) return
    const filter = filterOf(request.query)
    const state = engine.world().cluster.pci
    sendList(request, reply, renderedOf(state, `os-pci/detail:${filter.host ?? ""}`,
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
