/**
 * PCI (seed `pci-api.txt`): `GET /v2/{tenant_id}/os-pci`, `/os-pci/detail`, `/os-pci/{id}`
 * (admin-only: the PCI inventory is the operator's), the server's `os-pci:pci_devices` and the
 * hypervisor's `pci_stats`. Views are the PCI core's own; `?host=` filters the lists. The lists
 * are rendered once per PCI state (adapters/http/rendered.ts: bytes, gzip, ETag) and are
 * cacheable reads (adapters/http/read-cache.ts).
 */
import { Result } from "effect"
import type { FastifyRequest } from "fastify"
import { invalid } from "../../../core/errors.ts"
import type { Host } from "../../../core/inventory/inventory.ts"
import {
  hypervisorPciStats, pciDetail, pciList, pciShow, serverPciDevices,
} from "../../../core/pci/index.ts"
import type { Engine } from "../engine.ts"
import type { CachedRead } from "../read-cache.ts"
import { renderedOf } from "../rendered.ts"
import type { RouteGroup } from "../server.ts"
import type { ServerMeta, World } from "../world.ts"
import { adminRefusal, adminScope, paramsOf, sendRead, serveRead } from "./common.ts"

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

function filterOf(query: unknown): { host?: string } {
  const host = (query as Record<string, unknown> | undefined)?.["host"]
  return typeof host === "string" ? { host } : {}
}

/** An `os-pci` list (`?host=` filtered) for admins, rendered once per PCI state. */
function listRead(engine: Engine<World>, request: FastifyRequest,
  view: "os-pci" | "os-pci/detail"): CachedRead {
  const tenantId = paramsOf(request)["tenant_id"]
  const filter = filterOf(request.query)
  const key = `${view}:${filter.host ?? ""}`
  const list = view === "os-pci" ? pciList : pciDetail
  return {
    refusal: (principal) => adminRefusal(principal, tenantId),
    rendering: () => {
      const state = engine.world().cluster.pci
      return renderedOf(state, key, () => list(state, filter))
    },
  }
}

/** Route group for the `os-pci` resources. */
export const pciRoutes: RouteGroup<World> = ({ app, engine, readCache }) => {
  // The two lists are synchronous handlers that send and return nothing: no promise, no
  // thenable reply for the framework to settle on the hottest read routes.
  app.get("/v2/:tenant_id/os-pci", (request, reply) => {
    serveRead(request, reply, listRead(engine, request, "os-pci"), readCache)
  })
  app.get("/v2/:tenant_id/os-pci/detail", (request, reply) => {
    serveRead(request, reply, listRead(engine, request, "os-pci/detail"), readCache)
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
