/**
 * Scripted requests: a list of steps (create servers, delete one, a pmem action) applied in order
 * to a scenario's fleet through the core (`schedule`, `deleteServer`, the pmem actions). This is
 * what `corral apply` runs and what the inventory commands (`hypervisor-list`, `pci-list`, …)
 * show the result of, so every figure they print is computed by the core.
 *
 * Servers are named `<name>-<nn>` (1-based, two digits); the name is also the server's uuid.
 * A `create` whose group has a hard rule is placed as one gang (all or nothing); any other is
 * placed one server at a time, and each server that finds no host is counted as rejected.
 */
import { Result, Schema } from "effect"
import { readFileSync } from "node:fs"
import {
  createCluster, createGroup, deleteServer, type GroupCreate, isHardRule,
} from "../../core/cluster/index.ts"
import type { ClusterState, ServerCreate } from "../../core/cluster/types.ts"
import { decode, parseJson } from "../../core/decode.ts"
import { type BadRequest, type InputIssue, invalidAll } from "../../core/errors.ts"
import { decodePciRequests, type PciRequest } from "../../core/pci/index.ts"
import { decodeAddPmemVol, type PmemVolumeRequest } from "../../core/pmem/index.ts"
import { schedule } from "../../core/placement/index.ts"
import { type Offer, parseOffer } from "../offer.ts"

/** Bounds on a requests file. */
export const requestsLimits = { stepsMax: 10_000, countMax: 1_000 } as const

const Name = Schema.String.check(Schema.isPattern(/^[a-z][a-z0-9-]{0,30}$/, {
  message: "a lower-case name of letters, digits and '-'",
}))

const CreateStep = Schema.Struct({
  create: Schema.Struct({
    name: Name,
    count: Schema.optionalKey(Schema.Int.check(
      Schema.isBetween({ minimum: 1, maximum: requestsLimits.countMax }))),
    flavor: Schema.String,
    pci: Schema.optionalKey(Schema.Unknown),
    pmem: Schema.optionalKey(Schema.Unknown),
    group: Schema.optionalKey(Schema.Struct({
      rule: Schema.Literals(["affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity"]),
      scope: Schema.optionalKey(Schema.Literals(["host", "rack", "zone"])),
      maxPerDomain: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThan(0))),
    })),
    policy: Schema.optionalKey(Schema.Literals(["pack", "spread"])),
  }),
})
const DeleteStep = Schema.Struct({ delete: Schema.Struct({ server: Schema.String }) })

/** The requests document: `{"description"?, "steps": [{"create": …} | {"delete": …}]}`. */
export const RequestsFile = Schema.Struct({
  description: Schema.optionalKey(Schema.String),
  steps: Schema.Array(Schema.Union([CreateStep, DeleteStep]))
    .check(Schema.isMaxLength(requestsLimits.stepsMax)),
})

/** One step's outcome, for the report `corral apply` prints. */
export interface StepResult {
  readonly step: string
  readonly accepted: number
  readonly rejected: number
  readonly reasons: ReadonlyArray<string>
}

/** The cluster after the script, with what each step did. */
export interface ScriptRun {
  readonly offer: Offer
  readonly state: ClusterState
  readonly steps: ReadonlyArray<StepResult>
}

interface Create {
  readonly name: string
  readonly count: number
  readonly servers: ReadonlyArray<ServerCreate>
  readonly group?: GroupCreate
  readonly policy?: "pack" | "spread"
}

/** Reads a scenario and a requests file and applies the requests; BadRequest names the field. */
export function runScriptFiles(
  scenarioPath: string,
  requestsPath: string,
): Result.Result<ScriptRun, BadRequest> {
  const offer = parseOffer(readFileSync(scenarioPath, "utf8"))
  if (Result.isFailure(offer)) return Result.fail(offer.failure)
  const json = parseJson(readFileSync(requestsPath, "utf8"), requestsPath)
  if (Result.isFailure(json)) return Result.fail(json.failure)
  return runScript(offer.success, json.success)
}

/** Decodes every step against the offer (all problems at once), then applies them in order. */
export function runScript(offer: Offer, input: unknown): Result.Result<ScriptRun, BadRequest> {
  const decoded = decode(RequestsFile, input)
  if (Result.isFailure(decoded)) return Result.fail(decoded.failure)
  const issues: InputIssue[] = []
  const steps = decoded.success.steps.map((step, i) =>
    "create" in step ? createOf(offer, step.create, `steps[${i}].create`, issues) : step.delete)
  if (issues.length > 0) return Result.fail(invalidAll(issues))
  let state = createCluster(offer.inventory)
  const results: StepResult[] = []
  for (const step of steps) {
    const applied = "server" in step ? applyDelete(state, step.server) : applyCreate(state, step)
    state = applied.state
    results.push(applied.result)
  }
  return Result.succeed({ offer, state, steps: results })
}

function createOf(offer: Offer, c: typeof CreateStep.Type["create"], path: string,
  issues: InputIssue[]): Create {
  const flavor = offer.flavors[c.flavor]
  if (flavor === undefined) {
    issues.push({ path: `${path}.flavor`, message: `one of ${Object.keys(offer.flavors).join(", ")}` })
  }
  let pci: PciRequest[] = []
  if (c.pci !== undefined) {
    const r = decodePciRequests(c.pci, offer.pciAliasTable, { pathPrefix: `${path}.pci` })
    if (Result.isFailure(r)) issues.push(...(r.failure.issues ?? []))
    else pci = r.success
  }
  let pmem: ReadonlyArray<PmemVolumeRequest> = []
  if (c.pmem !== undefined) {
    const r = decodeAddPmemVol(c.pmem)
    if (Result.isFailure(r)) {
      issues.push(...(r.failure.issues ?? []).map((x) => ({ ...x, path: `${path}.pmem.${x.path}` })))
    } else pmem = r.success
  }
  const count = c.count ?? 1
  const group: GroupCreate | undefined = c.group === undefined ? undefined : { id: c.name, ...c.group }
  const servers = Array.from({ length: count }, (_, k): ServerCreate => ({
    kind: "server",
    uuid: `${c.name}-${String(k + 1).padStart(2, "0")}`,
    flavor: c.flavor,
    vcpus: flavor?.vcpus ?? 1,
    ramMb: flavor?.ramMb ?? 1,
    disks: flavor === undefined || flavor.diskGb === 0 ? [] : [{ sizeMb: flavor.diskGb * 1024 }],
    groups: group === undefined ? [] : [group.id],
    ...(pci.length === 0 ? {} : { pci }),
    ...(pmem.length === 0 ? {} : { pmem }),
  }))
  return { name: c.name, count, servers,
    ...(group === undefined ? {} : { group }),
    ...(c.policy === undefined ? {} : { policy: c.policy }) }
}

function applyCreate(state: ClusterState, c: Create): { state: ClusterState; result: StepResult } {
  const step = `create ${c.count} × ${c.name}`
  const policy = c.policy === undefined ? {} : { policy: c.policy }
  const refused = (reason: string) =>
    ({ state, result: { step, accepted: 0, rejected: c.count, reasons: [reason] } })
  let next = state
  if (c.group !== undefined) {
    const g = createGroup(next, c.group)
    if (Result.isFailure(g)) return refused(g.failure.message)
    next = g.success
    if (isHardRule(c.group.rule)) {
      const r = schedule(next, { servers: c.servers, ...policy })
      if (Result.isFailure(r)) return refused(r.failure.message)
      return { state: r.success.state, result: { step, accepted: c.count, rejected: 0, reasons: [] } }
    }
  }
  let accepted = 0
  const reasons = new Set<string>()
  for (const server of c.servers) {
    const r = schedule(next, { servers: [server], ...policy })
    if (Result.isSuccess(r)) {
      next = r.success.state
      accepted++
    } else reasons.add(r.failure.message)
  }
  const rejected = c.count - accepted
  return { state: next, result: { step, accepted, rejected, reasons: [...reasons] } }
}

function applyDelete(state: ClusterState, server: string): { state: ClusterState; result: StepResult } {
  const step = `delete ${server}`
  const r = deleteServer(state, server)
  if (Result.isFailure(r)) {
    return { state, result: { step, accepted: 0, rejected: 1, reasons: [r.failure.message] } }
  }
  return { state: r.success.state, result: { step, accepted: 1, rejected: 0, reasons: [] } }
}
