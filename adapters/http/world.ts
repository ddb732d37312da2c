/**
 * The HTTP server's world: the core states it serves, plus what only the façade knows (which
 * tenant owns which server, the flavors it offers). Immutable; operations return a new world.
 *
 * The world starts from a scenario file's fleet (`core/scenario/fleet.ts` `expandFleet`), its
 * flavors and PCI aliases. Everything after that comes from journalled operations.
 */
import { join } from "node:path"
import { HashMap, Result, Schema } from "effect"
import { createCluster } from "../../core/cluster/state.ts"
import type { ClusterState } from "../../core/cluster/types.ts"
import { decode, parseJson } from "../../core/decode.ts"
import type { BadRequest } from "../../core/errors.ts"
import { emptyReplicationState, type ReplicationState } from "../../core/replication/model.ts"
import { expandFleet } from "../../core/scenario/fleet.ts"
import { Flavor, PciAlias } from "../../core/scenario/schema.ts"
import type { Inventory } from "../../core/inventory/inventory.ts"
import { decodePciAliases, type PciAliases } from "../../core/pci/index.ts"
import type { VclusterRecord } from "../../core/vcluster/index.ts"

/** The repository's default scenario file (`corral serve` without `--scenario`). */
export const defaultScenarioPath = join(import.meta.dirname, "..", "..", "scenarios",
  "default.json")

/** The parts of a scenario file the server uses (other sections are ignored). */
export const ServeScenario = Schema.Struct({
  fleet: Schema.Unknown,
  flavors: Schema.Record(Schema.String, Flavor),
  pciAliases: Schema.optionalKey(Schema.Record(Schema.String, PciAlias)),
})

/** What the server offers: its inventory, flavors and PCI aliases. */
export interface Offer {
  readonly inventory: Inventory
  readonly flavors: Readonly<Record<string, Flavor>>
  readonly pciAliases: Readonly<Record<string, PciAlias>>
  /** The aliases as the PCI core resolves them in requests. */
  readonly pciAliasTable: PciAliases
}

/** A server as the façade knows it, beside the cluster's record of what it holds. */
export interface ServerMeta {
  readonly id: string
  readonly name: string
  readonly tenant: string
  readonly flavor: string
  readonly createdAtMs: number
}

/**
 * The whole state the HTTP server serves. The cluster state holds the PCI and pmem states too
 * (`cluster.pci`, `cluster.pmem`): servers claim devices and volumes through it.
 */
export interface World {
  readonly offer: Offer
  readonly cluster: ClusterState
  readonly servers: ReadonlyMap<string, ServerMeta>
  readonly replication: ReplicationState
  readonly vclusters: HashMap.HashMap<string, VclusterRecord>
}

/** Decodes a scenario document into the server's offer (every problem with its path). */
export function offerOf(input: unknown): Result.Result<Offer, BadRequest> {
  const decoded = decode(ServeScenario, input, { allowExcess: true })
  if (Result.isFailure(decoded)) return Result.fail(decoded.failure)
  const inventory = expandFleet(decoded.success.fleet, "fleet")
  if (Result.isFailure(inventory)) return Result.fail(inventory.failure)
  const pciAliases = decoded.success.pciAliases ?? {}
  const table = decodePciAliases(Object.fromEntries(Object.entries(pciAliases)
    .map(([name, alias]) => [name, [alias]])))
  if (Result.isFailure(table)) return Result.fail(table.failure)
  return Result.succeed({
    inventory: inventory.success,
    flavors: decoded.success.flavors,
    pciAliases,
    pciAliasTable: table.success,
  })
}

/** Parses a scenario file's text into an offer. */
export function parseOffer(text: string): Result.Result<Offer, BadRequest> {
  const json = parseJson(text, "scenario")
  return Result.isFailure(json) ? Result.fail(json.failure) : offerOf(json.success)
}

/** The world before any operation. */
export function initialWorld(offer: Offer): World {
  return {
    offer,
    cluster: createCluster(offer.inventory),
    servers: new Map(),
    replication: emptyReplicationState,
    vclusters: HashMap.empty(),
  }
}

export { withEntry, withoutEntry } from "../../core/readonly-map.ts"
