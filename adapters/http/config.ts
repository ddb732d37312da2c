/**
 * The HTTP server's configuration file: who may call it (tokens mapped to a tenant and a role)
 * and its limits. Decoded with Effect Schema like every other Corral input, so a bad file is a
 * BadRequest naming the field at fault.
 *
 * Example:
 *   {"tokens": [{"token": "s3cret", "tenant": "acme", "role": "member"},
 *               {"token": "root", "tenant": "ops", "role": "admin"}],
 *    "bodyLimitBytes": 1048576}
 */
import { Effect, Result, Schema } from "effect"
import { decode, parseJson } from "../../core/decode.ts"
import { type BadRequest, invalid } from "../../core/errors.ts"

/** Default request-body limit: 1 MiB. */
export const bodyLimitBytesDefault = 1_048_576
/** Largest body limit a configuration may set: 64 MiB. */
export const bodyLimitBytesMax = 64 * 1_048_576
/** Most tokens one configuration may hold. */
export const tokensCountMax = 10_000

const withDefault = <S extends Schema.Top & { readonly DecodingServices: never }>(
  schema: S,
  value: S["Type"] & S["Encoded"],
) => schema.pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))

const TenantId = Schema.String.check(
  Schema.isPattern(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, {
    message: "a tenant id of 1-64 letters, digits, '_', '.' or '-'",
  }),
)

/** A caller's role: a member works inside its tenant; an admin also sees the fleet. */
export const Role = Schema.Literals(["member", "admin"])
export type Role = typeof Role.Type

/** One API token. */
export const TokenSpec = Schema.Struct({
  token: Schema.String.check(Schema.isMinLength(8), Schema.isMaxLength(256)),
  tenant: TenantId,
  role: withDefault(Role, "member"),
})
export type TokenSpec = typeof TokenSpec.Type

/** The configuration document. */
export const ServerConfig = Schema.Struct({
  tokens: Schema.Array(TokenSpec).check(Schema.isMaxLength(tokensCountMax)),
  bodyLimitBytes: withDefault(
    Schema.Int.check(Schema.isBetween({ minimum: 64, maximum: bodyLimitBytesMax })),
    bodyLimitBytesDefault,
  ),
})
export type ServerConfig = typeof ServerConfig.Type

/** Who is calling, resolved from `X-Auth-Token`. */
export interface Principal {
  readonly tenant: string
  readonly role: Role
}

/**
 * Decodes a configuration document (already parsed JSON). Tokens must be unique: the same
 * token mapped to two tenants would make every request ambiguous.
 */
export function decodeConfig(input: unknown): Result.Result<ServerConfig, BadRequest> {
  const decoded = decode(ServerConfig, input)
  if (Result.isFailure(decoded)) return decoded
  const seen = new Map<string, number>()
  for (const [i, t] of decoded.success.tokens.entries()) {
    const first = seen.get(t.token)
    if (first !== undefined) {
      return Result.fail(invalid(`tokens[${i}].token`,
        `a unique token; it repeats tokens[${first}]`))
    }
    seen.set(t.token, i)
  }
  return decoded
}

/** Parses and decodes a configuration file's text. */
export function parseConfig(text: string): Result.Result<ServerConfig, BadRequest> {
  const json = parseJson(text, "config")
  return Result.isFailure(json) ? Result.fail(json.failure) : decodeConfig(json.success)
}

/** The token → principal map the auth hook consults. */
export function principalsOf(config: ServerConfig): ReadonlyMap<string, Principal> {
  return new Map(config.tokens.map((t) => [t.token, { tenant: t.tenant, role: t.role }]))
}

/**
 * The caller an `X-Auth-Token` header names, or undefined (no header, a repeated header, an
 * unknown token). The one check both the auth hook and the read cache run.
 */
export function principalOfToken(principals: ReadonlyMap<string, Principal>,
  token: string | ReadonlyArray<string> | undefined): Principal | undefined {
  return typeof token === "string" ? principals.get(token) : undefined
}
