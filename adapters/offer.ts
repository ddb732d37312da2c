/**
 * What a deployment offers, read from a scenario file: its fleet (expanded into an inventory by
 * `core/scenario/fleet.ts` `expandFleet`), its flavors and its PCI aliases. The HTTP server
 * (`corral serve`) starts its world from one, and the CLI's scripted requests (`corral apply`,
 * the inventory commands) run against one; neither owns it, so it lives here.
 */
import { join } from "node:path"
import { Result, Schema } from "effect"
import { decode, parseJson } from "../core/decode.ts"
import type { BadRequest } from "../core/errors.ts"
import type { Inventory } from "../core/inventory/inventory.ts"
import { decodePciAliases, type PciAliases } from "../core/pci/index.ts"
import { expandFleet } from "../core/scenario/fleet.ts"
import { Flavor, PciAlias } from "../core/scenario/schema.ts"

/** The repository's default scenario file (`corral serve` without `--scenario`). */
export const defaultScenarioPath = join(import.meta.dirname, "..", "scenarios", "default.json")

/** The parts of a scenario file an offer uses (other sections are ignored). */
export const OfferScenario = Schema.Struct({
  fleet: Schema.Unknown,
  flavors: Schema.Record(Schema.String, Flavor),
  pciAliases: Schema.optionalKey(Schema.Record(Schema.String, PciAlias)),
})

/** What a deployment offers: its inventory, flavors and PCI aliases. */
export interface Offer {
  readonly inventory: Inventory
  readonly flavors: Readonly<Record<string, Flavor>>
  readonly pciAliases: Readonly<Record<string, PciAlias>>
  /** The aliases as the PCI core resolves them in requests. */
  readonly pciAliasTable: PciAliases
}

/** Decodes a scenario document into an offer (every problem with its path). */
export function offerOf(input: unknown): Result.Result<Offer, BadRequest> {
  const decoded = decode(OfferScenario, input, { allowExcess: true })
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
