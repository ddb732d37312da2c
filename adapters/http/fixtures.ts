/**
 * Fixtures the HTTP tests and the `http` benchmark share: the default scenario's offer and a
 * configuration with two member tenants and one admin.
 */
import { readFileSync } from "node:fs"
import { Result } from "effect"
import { decodeConfig, type ServerConfig } from "./config.ts"
import { defaultScenarioPath, type Offer, parseOffer } from "../offer.ts"

/** Tokens of the fixture configuration. */
export const tokens = {
  acme: "acme-member-token",
  globex: "globex-member-token",
  admin: "ops-admin-token",
} as const

/** The fixture configuration (optionally with another body limit). */
export function fixtureConfig(bodyLimitBytes?: number): ServerConfig {
  const decoded = decodeConfig({
    tokens: [
      { token: tokens.acme, tenant: "acme", role: "member" },
      { token: tokens.globex, tenant: "globex", role: "member" },
      { token: tokens.admin, tenant: "ops", role: "admin" },
    ],
    ...(bodyLimitBytes === undefined ? {} : { bodyLimitBytes }),
  })
  if (Result.isFailure(decoded)) throw new Error(decoded.failure.message)
  return decoded.success
}

export { defaultScenarioPath }

let cached: Offer | undefined

/** The default scenario's offer (parsed once). */
export function defaultOffer(): Offer {
  if (cached !== undefined) return cached
  const offer = parseOffer(readFileSync(defaultScenarioPath, "utf8"))
  if (Result.isFailure(offer)) throw new Error(offer.failure.message)
  cached = offer.success
  return cached
}
