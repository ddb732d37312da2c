/**
 * PCI requests and aliases: their types, their wire shapes (Effect Schema) and their decoders.
 *
 * A request is `{"count": 2, "spec": [{"vendor_id": "8086", "product_id": "1520"}, …]}` or
 * `{"count": 1, "alias": "nic-vf"}`. The alternatives in `spec` are ORed; the keys within one
 * alternative are ANDed; values match case-insensitively. Keys are `vendor_id`, `product_id`,
 * `dev_type` or a tag of the device's `extra_info` (e.g. `physical_network`).
 *
 * Aliases are `{"nic-vf": {"spec": [...], "numa_policy": "preferred"}}` (or the bare array of
 * alternatives), or Nova's list form `[{"name": "nic-vf", "vendor_id": …, "device_type": …,
 * "numa_policy": …}]` where entries sharing a name are alternatives.
 */
import { Result, Schema } from "effect"
import { decode } from "../decode.ts"
import { type BadRequest, type InputIssue, invalidAll } from "../errors.ts"

/** Bounds on request and alias documents. */
export const pciRequestLimits = {
  requestsMax: 64,
  alternativesMax: 16,
  keysPerAlternativeMax: 16,
  countMax: 1024,
  aliasesMax: 256,
  instanceNumaCellsMax: 64,
  instanceUuidLengthMax: 64,
} as const

/**
 * Nova's PCI NUMA affinity policies. `required`: only devices on the instance's NUMA cells.
 * `legacy` (the default): those, or devices with no NUMA node; nothing else. `preferred`: the
 * affine devices when there are enough, else any. `socket`: the affine devices when there are
 * enough, else devices on a NUMA node of the same socket as one of the instance's cells.
 */
export const PciNumaPolicy = Schema.Literals(["required", "legacy", "preferred", "socket"])
export type PciNumaPolicy = typeof PciNumaPolicy.Type

/** One alternative of a spec: keys ANDed, values compared case-insensitively. */
export type PciSpec = Readonly<Record<string, string>>

/** A decoded request. `alias` names the alias it came from (errors use it as the resource). */
export interface PciRequest {
  readonly count: number
  readonly spec: ReadonlyArray<PciSpec>
  readonly alias?: string
  readonly numaPolicy?: PciNumaPolicy
}

/** A decoded alias table: name → alternatives and optional NUMA policy. */
export type PciAliases = ReadonlyMap<string, {
  readonly spec: ReadonlyArray<PciSpec>
  readonly numaPolicy?: PciNumaPolicy
}>

const SpecKey = Schema.String.check(Schema.isPattern(/^[A-Za-z0-9_.:-]{1,64}$/, {
  message: "a key of 1-64 letters, digits, '_', '.', ':' or '-'",
}))
const SpecValue = Schema.String.check(Schema.isBetweenLength(1, 255))
const Alternative = Schema.Record(SpecKey, SpecValue)
const Alternatives = Schema.Array(Alternative)
  .check(Schema.isBetweenLength(1, pciRequestLimits.alternativesMax))
const AliasName = Schema.String.check(Schema.isPattern(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/, {
  message: "an alias name of 1-64 letters, digits, '_', '.', ':' or '-'",
}))

/** The wire shape of one request. */
export const PciRequestWire = Schema.Struct({
  count: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: pciRequestLimits.countMax })),
  spec: Schema.optionalKey(Alternatives),
  alias: Schema.optionalKey(AliasName),
  numa_policy: Schema.optionalKey(PciNumaPolicy),
})

/** The wire shape of a list of requests. */
export const PciRequestsWire = Schema.Array(PciRequestWire)
  .check(Schema.isBetweenLength(1, pciRequestLimits.requestsMax))

/** The wire shape of an alias table (map form). */
export const PciAliasesWire = Schema.Record(AliasName, Schema.Union([
  Alternatives,
  Schema.Struct({ spec: Alternatives, numa_policy: Schema.optionalKey(PciNumaPolicy) }),
]))

/** The wire shape of Nova's alias list (`[pci] alias` entries). */
export const NovaAliasListWire = Schema.Array(Schema.Record(SpecKey, SpecValue))
  .check(Schema.isBetweenLength(1, pciRequestLimits.aliasesMax))

const keyRules: Record<string, { test: (v: string) => boolean; expected: string }> = {
  vendor_id: { test: (v) => /^[0-9a-f]{4}$/i.test(v), expected: "4 hexadecimal digits, e.g. 8086" },
  product_id: {
    test: (v) => /^[0-9a-f]{4}$/i.test(v), expected: "4 hexadecimal digits, e.g. 1520",
  },
  dev_type: {
    test: (v) => /^type-(pci|pf|vf)$/i.test(v), expected: "type-PCI, type-PF or type-VF",
  },
}
/** Device fields a spec may not name: they are not pool properties. */
const unmatchableKeys = ["address", "numa_node", "label", "id", "parent_addr", "instance_uuid",
  "status", "compute_node_id", "dev_id"]

/** Checks one alternative's keys and values; returns it with values lower-cased. */
function checkAlternative(alt: Readonly<Record<string, string>>, path: string,
  issues: InputIssue[]): PciSpec {
  const keys = Object.keys(alt)
  if (keys.length === 0) issues.push({ path, message: "at least one key to match" })
  if (keys.length > pciRequestLimits.keysPerAlternativeMax) {
    issues.push({ path, message: `at most ${pciRequestLimits.keysPerAlternativeMax} keys` })
  }
  const out: Record<string, string> = {}
  for (const key of keys) {
    const value = alt[key]!
    const rule = keyRules[key]
    if (unmatchableKeys.includes(key)) {
      issues.push({ path: `${path}.${key}`, message: "vendor_id, product_id, dev_type or a tag " +
        `of extra_info; ${key} is not a pool property (NUMA goes through numa_policy)` })
    } else if (rule !== undefined && !rule.test(value)) {
      issues.push({ path: `${path}.${key}`, message: rule.expected })
    }
    out[key] = value.toLowerCase()
  }
  return out
}

function checkAlternatives(alts: ReadonlyArray<Readonly<Record<string, string>>>, path: string,
  issues: InputIssue[]): PciSpec[] {
  return alts.map((alt, k) => checkAlternative(alt, `${path}[${k}]`, issues))
}

/**
 * Decodes an alias table, in the map form or Nova's list form. Every problem is reported with
 * its path; an empty input (`undefined`) is the empty table.
 */
export function decodePciAliases(input: unknown): Result.Result<PciAliases, BadRequest> {
  if (input === undefined) return Result.succeed(new Map())
  if (Array.isArray(input)) return decodeNovaAliases(input)
  const decoded = decode(PciAliasesWire, input)
  if (Result.isFailure(decoded)) return Result.fail(decoded.failure)
  const issues: InputIssue[] = []
  const entries = Object.entries(decoded.success)
  if (entries.length > pciRequestLimits.aliasesMax) {
    issues.push({ path: "", message: `at most ${pciRequestLimits.aliasesMax} aliases` })
  }
  const aliases = new Map(entries.map(([name, value]) => {
    const alts = Array.isArray(value) ? value : (value as { spec: typeof value }).spec
    const policy = Array.isArray(value) ? undefined
      : (value as { numa_policy?: PciNumaPolicy }).numa_policy
    const path = Array.isArray(value) ? name : `${name}.spec`
    const spec = checkAlternatives(alts as ReadonlyArray<Record<string, string>>, path, issues)
    return [name, policy === undefined ? { spec } : { spec, numaPolicy: policy }] as const
  }))
  return issues.length > 0 ? Result.fail(invalidAll(issues)) : Result.succeed(aliases)
}

function decodeNovaAliases(input: unknown): Result.Result<PciAliases, BadRequest> {
  const decoded = decode(NovaAliasListWire, input)
  if (Result.isFailure(decoded)) return Result.fail(decoded.failure)
  const issues: InputIssue[] = []
  const table = new Map<string, { spec: PciSpec[]; numaPolicy?: PciNumaPolicy }>()
  decoded.success.forEach((entry, i) => {
    const { name, device_type: deviceType, numa_policy: policy, ...rest } = entry
    if (name === undefined || !/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/.test(name)) {
      issues.push({ path: `[${i}].name`, message: "an alias name of 1-64 letters, digits, " +
        "'_', '.', ':' or '-'" })
      return
    }
    const policies: ReadonlyArray<string> = PciNumaPolicy.literals
    if (policy !== undefined && !policies.includes(policy)) {
      issues.push({ path: `[${i}].numa_policy`, message: "required, legacy, preferred or socket" })
    }
    const alt = deviceType === undefined ? rest : { ...rest, dev_type: deviceType }
    const spec = checkAlternative(alt, `[${i}]`, issues)
    const known = table.get(name) ?? { spec: [] }
    known.spec.push(spec)
    if (policy !== undefined) known.numaPolicy = policy as PciNumaPolicy
    table.set(name, known)
  })
  for (const [name, alias] of table) {
    if (alias.spec.length > pciRequestLimits.alternativesMax) {
      issues.push({ path: "", message: `alias ${name}: at most ` +
        `${pciRequestLimits.alternativesMax} alternatives` })
    }
  }
  return issues.length > 0 ? Result.fail(invalidAll(issues)) : Result.succeed(table)
}

/**
 * Decodes a list of requests, resolving aliases against `aliases`. A request names exactly one of
 * `spec` and `alias`; an unknown alias is a BadRequest at `[i].alias` listing the known ones.
 */
export function decodePciRequests(input: unknown, aliases: PciAliases = new Map(),
  options: { readonly pathPrefix?: string } = {}): Result.Result<PciRequest[], BadRequest> {
  const prefix = options.pathPrefix ?? ""
  const decoded = decode(PciRequestsWire, input, { pathPrefix: prefix })
  if (Result.isFailure(decoded)) return Result.fail(decoded.failure)
  const issues: InputIssue[] = []
  const requests = decoded.success.map((r, i): PciRequest => {
    const path = `${prefix}[${i}]`
    const own = r.numa_policy === undefined ? {} : { numaPolicy: r.numa_policy }
    if ((r.spec === undefined) === (r.alias === undefined)) {
      issues.push({ path, message: "exactly one of spec and alias" })
      return { count: r.count, spec: [] }
    }
    if (r.spec !== undefined) {
      return { count: r.count, spec: checkAlternatives(r.spec, `${path}.spec`, issues), ...own }
    }
    const alias = aliases.get(r.alias!)
    if (alias === undefined) {
      const known = [...aliases.keys()].slice(0, 20).join(", ")
      const listed = known === "" ? "none defined" : known
      issues.push({ path: `${path}.alias`,
        message: `a defined alias (${listed}); ${r.alias} is not one` })
      return { count: r.count, spec: [] }
    }
    const policy = r.numa_policy ?? alias.numaPolicy
    return { count: r.count, spec: alias.spec, alias: r.alias!,
      ...(policy === undefined ? {} : { numaPolicy: policy }) }
  })
  return issues.length > 0 ? Result.fail(invalidAll(issues)) : Result.succeed(requests)
}

/** The wire shape of a claim (`claim`'s input with `requests` still undecoded). */
export const PciClaimWire = Schema.Struct({
  host: Schema.String.check(Schema.isBetweenLength(1, 63)),
  instanceUuid: Schema.String.check(Schema.isPattern(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/, {
    message: "an instance uuid of 1-64 letters, digits, '_', '.', ':' or '-'",
  })),
  requests: Schema.Unknown,
  numaPolicy: Schema.optionalKey(PciNumaPolicy),
  instanceNumaCells: Schema.optionalKey(
    Schema.Array(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)))
      .check(Schema.isMaxLength(pciRequestLimits.instanceNumaCellsMax)),
  ),
})

/** What `claim` needs: where, for whom, what, and the NUMA side. */
export interface PciClaimInput {
  readonly host: string
  readonly instanceUuid: string
  readonly requests: ReadonlyArray<PciRequest>
  /** Default policy for requests that carry none (default `legacy`). */
  readonly numaPolicy?: PciNumaPolicy
  /** Host NUMA cells the instance's cells are placed on; none: no NUMA constraint. */
  readonly instanceNumaCells?: ReadonlyArray<number>
}

/**
 * Decodes a claim document `{host, instanceUuid, requests, numaPolicy?, instanceNumaCells?}`,
 * resolving request aliases; every issue is reported with its path (`requests[0].spec[1]`).
 */
export function decodePciClaim(input: unknown, aliases: PciAliases = new Map()):
  Result.Result<PciClaimInput, BadRequest> {
  const decoded = decode(PciClaimWire, input)
  if (Result.isFailure(decoded)) return Result.fail(decoded.failure)
  const requests = decodePciRequests(decoded.success.requests, aliases, { pathPrefix: "requests" })
  if (Result.isFailure(requests)) return Result.fail(requests.failure)
  return Result.succeed({ ...decoded.success, requests: requests.success })
}
