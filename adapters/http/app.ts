/**
 * Assembles the HTTP server: the world from a scenario, the operations of every route group,
 * the journal replayed, and the Fastify app. `corral serve` and the tests both start here.
 */
import type { FastifyInstance } from "fastify"
import type { ServerConfig } from "./config.ts"
import { type Engine, type Operations, type Sources, startEngine, systemSources } from "./engine.ts"
import { openJournal } from "./journal.ts"
import type { LineOutput } from "./log.ts"
import type { ReadCache } from "./read-cache.ts"
import { type Connector, connectorOperations, connectorRoutes, makeConnector } from
  "./routes/connector.ts"
import { hypervisorPciExtra, pciRoutes, serverPciExtra } from "./routes/pci.ts"
import {
  hypervisorPmemExtra, pmemOperations, pmemRoutes, serverPmemExtra,
} from "./routes/pmem.ts"
import { replicaOperations, replicaRoutes } from "./routes/replicas.ts"
import { serverOperations, serverRoutes } from "./routes/servers.ts"
import { vclusterOperations, vclusterRoutes } from "./routes/vclusters.ts"
import { buildServer, type RouteGroup } from "./server.ts"
import type { Offer } from "../offer.ts"
import { initialWorld, type World } from "./world.ts"

/** Every journalled operation the server knows, by name (connector ones act on `connector`). */
export function operationsOf(connector: Connector): Operations<World> {
  return {
    ...serverOperations,
    ...replicaOperations,
    ...pmemOperations,
    ...vclusterOperations,
    ...connectorOperations(connector),
  }
}

/** Every route group, in registration order. */
export function routeGroupsOf(connector: Connector): ReadonlyArray<RouteGroup<World>> {
  return [
    serverRoutes([serverPciExtra, serverPmemExtra], [hypervisorPciExtra, hypervisorPmemExtra]),
    pciRoutes,
    pmemRoutes,
    replicaRoutes,
    vclusterRoutes,
    connectorRoutes(connector),
  ]
}

/** What `startApp` needs. */
export interface AppOptions {
  readonly config: ServerConfig
  readonly offer: Offer
  /** The journal file; null keeps state in memory only (tests, benchmarks). */
  readonly journalPath: string | null
  readonly sources?: Sources
  readonly logger?: boolean
  /** Where log lines go (default: stdout, written on the thread pool). */
  readonly logOutput?: LineOutput
  /** The read cache in front of the framework (adapters/http/read-cache.ts; default on). */
  readonly readCache?: boolean
}

/** A ready app (not listening) and its engine. */
export interface App {
  readonly app: FastifyInstance
  readonly engine: Engine<World>
  /** The read cache (null when off); it answers only requests that come through a socket. */
  readonly readCache: ReadCache | null
  /** Entries replayed from the journal on start, and torn bytes dropped. */
  readonly replayed: number
  readonly tornBytes: number
}

/** Replays the journal (if any) and builds the server. Closing the app closes the journal. */
export function startApp(options: AppOptions): App {
  const journal = options.journalPath === null ? null : openJournal(options.journalPath)
  const connector = makeConnector()
  const engine = startEngine(initialWorld(options.offer), operationsOf(connector), journal,
    options.sources ?? systemSources)
  const { app, readCache } = buildServer({
    config: options.config,
    engine,
    routes: routeGroupsOf(connector),
    logger: options.logger ?? false,
    ...(options.logOutput === undefined ? {} : { logOutput: options.logOutput }),
    ...(options.readCache === undefined ? {} : { readCache: options.readCache }),
  })
  app.addHook("onClose", async () => engine.close())
  return {
    app,
    engine,
    readCache,
    replayed: journal?.entries.length ?? 0,
    tornBytes: journal?.tornBytes ?? 0,
  }
}
