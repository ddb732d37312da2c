/**
 * Virtual clusters: create (validate, place the whole cluster atomically, reserve), show and
 * delete (free everything it held). Ids come in as values; nothing here is random.
 */
import { HashMap, Option, Result } from "effect"
import { decode, parseJson } from "../decode.ts"
import {
  AlreadyExists,
  type BadRequest,
  type InputIssue,
  invalidAll,
  NotFound,
  type Outcome,
  err,
  ok,
} from "../errors.ts"
import { deleteGroup, deleteServer, type GroupCreate } from "../cluster/state.ts"
import type { ClusterState, DiskRequest, GroupRecord, ServerCreate } from "../cluster/types.ts"
import { contradiction, type NoValidHost, schedule } from "../placement/index.ts"
import { type Flavor, type GroupingBody, type InstanceBody, ServerSpec, VclusterBody, VolumeSpec }
  from "./model.ts"

/** A placed instance of a vcluster. */
export interface VclusterInstance {
  readonly name: string
  readonly type: "server" | "volume"
  readonly uuid: string
  readonly host: string
}

/** A grouping as stored: its server group id in the cluster state. */
export interface VclusterGrouping {
  readonly name: string
  readonly groupId: string
  readonly membersRef: ReadonlyArray<string>
  readonly rule: GroupRecord["rule"]
  readonly scope: GroupRecord["scope"]
}

/** A created vcluster. */
export interface VclusterRecord {
  readonly id: string
  readonly name: string
  readonly tenant?: string
  readonly instances: ReadonlyArray<VclusterInstance>
  readonly groupings: ReadonlyArray<VclusterGrouping>
}

/** The cluster state with the vclusters created in it. */
export interface VclusterState {
  readonly cluster: ClusterState
  readonly vclusters: HashMap.HashMap<string, VclusterRecord>
}

/** A vcluster state over a cluster state, with no vclusters yet. */
export const vclusterStateOf = (cluster: ClusterState): VclusterState =>
  ({ cluster, vclusters: HashMap.empty() })

/**
 * What create needs besides the body: the vcluster's id, the caller's flavor table, optionally a
 * tenant and the instances' uuids (aligned with the body's instances; `<id>.<index>` otherwise).
 */
export interface CreateContext {
  readonly id: string
  readonly flavors: ReadonlyMap<string, Flavor>
  readonly tenant?: string
  readonly instanceIds?: ReadonlyArray<string>
}

const mbPerGb = 1024

/** Parses the body text; a syntax error names the line and column where the text broke. */
export function parseVclusterText(text: string): Outcome<unknown, BadRequest> {
  const parsed = parseJson(text, "vcluster body")
  if (Result.isSuccess(parsed)) return parsed
  const position = /position (\d+)/.exec(parsed.failure.message)
  if (position === null) return parsed
  const offset = Number(position[1])
  const before = text.slice(0, offset).split("\n")
  const where = `line ${before.length}, column ${before[before.length - 1]!.length + 1}`
  return err(invalidAll([{ path: "", message: `${parsed.failure.message} (${where})` }]))
}

/**
 * Validates a create body against the flavor table: shape, unique instance and grouping names,
 * members that exist, known flavors, and no member in contradictory hard groups. Returns the
 * servers and groups to schedule, or every issue found.
 */
export function checkVcluster(
  body: unknown,
  ctx: CreateContext,
): Outcome<{ body: VclusterBody; servers: ServerCreate[]; groups: GroupCreate[] }, BadRequest> {
  const decoded = decode(VclusterBody, body)
  if (Result.isFailure(decoded)) return err(decoded.failure)
  const v = decoded.success.vcluster
  const issues: InputIssue[] = []
  if (ctx.instanceIds !== undefined && ctx.instanceIds.length !== v.instances.length) {
    issues.push({ path: "vcluster.instances", message: `${ctx.instanceIds.length} instances, one ` +
      "per id given" })
  }
  const names = firstIndexes(v.instances, "vcluster.instances", "instance", issues)
  firstIndexes(v.groupings ?? [], "vcluster.groupings", "grouping", issues)
  const groups: GroupCreate[] = []
  const membership = new Map<string, string[]>()
  ;(v.groupings ?? []).forEach((g, k) => {
    const id = `${ctx.id}/${g.name}`
    groups.push(groupOf(id, g))
    g.membersRef.forEach((m, j) => {
      const path = `vcluster.groupings[${k}].membersRef[${j}]`
      if (!names.has(m)) issues.push({ path, message: `an instance of this vcluster; ${m} is not one` })
      else if ((membership.get(m) ?? []).includes(id)) issues.push({ path, message: "each member once" })
      else membership.set(m, [...(membership.get(m) ?? []), id])
    })
  })
  const servers = v.instances.map((inst, k) => serverOf(inst, k, ctx, membership, issues))
  if (issues.length === 0) {
    const records = new Map(groups.map((g) => [g.id, { id: g.id, rule: g.rule,
      scope: g.scope ?? "host", maxPerDomain: g.maxPerDomain ?? 1, members: [] }]))
    const broken = contradiction(servers.map((s, k) => ({ ...s, name: v.instances[k]!.name })),
      records)
    if (broken !== undefined) {
      issues.push({ path: "vcluster.groupings", message: `groupings that can hold together; ${broken}` })
    }
  }
  if (issues.length > 0) return err(invalidAll(issues))
  return ok({ body: decoded.success, servers, groups })
}

function firstIndexes(
  items: ReadonlyArray<{ readonly name: string }>,
  path: string,
  what: string,
  issues: InputIssue[],
): Map<string, number> {
  const first = new Map<string, number>()
  items.forEach((item, k) => {
    const seen = first.get(item.name)
    if (seen !== undefined) {
      issues.push({ path: `${path}[${k}].name`, message: `a unique ${what} name; ${item.name} is ` +
        `${path.split(".").pop()}[${seen}]` })
    } else first.set(item.name, k)
  })
  return first
}

function groupOf(id: string, g: GroupingBody): GroupCreate {
  return {
    id,
    rule: g.spec.rule,
    ...(g.spec.scope === undefined ? {} : { scope: g.spec.scope }),
    ...(g.spec.max_per_domain === undefined ? {} : { maxPerDomain: g.spec.max_per_domain }),
  }
}

function serverOf(
  inst: InstanceBody,
  k: number,
  ctx: CreateContext,
  membership: ReadonlyMap<string, string[]>,
  issues: InputIssue[],
): ServerCreate {
  const path = `vcluster.instances[${k}].spec`
  const base = {
    uuid: ctx.instanceIds?.[k] ?? `${ctx.id}.${k}`,
    groups: membership.get(inst.name) ?? [],
    vcluster: ctx.id,
    ...(ctx.tenant === undefined ? {} : { tenant: ctx.tenant }),
  }
  if (inst.type === "volume") {
    const spec = decode(VolumeSpec, inst.spec, { pathPrefix: path })
    if (Result.isFailure(spec)) {
      issues.push(...(spec.failure.issues ?? []))
      return { ...base, kind: "volume", vcpus: 0, ramMb: 0, disks: [] }
    }
    return { ...base, kind: "volume", vcpus: 0, ramMb: 0,
      disks: [volumeDisk(spec.success.size * mbPerGb, spec.success.volume_type)] }
  }
  const spec = decode(ServerSpec, inst.spec, { pathPrefix: path })
  if (Result.isFailure(spec)) {
    issues.push(...(spec.failure.issues ?? []))
    return { ...base, kind: "server", vcpus: 0, ramMb: 0, disks: [] }
  }
  const flavor = ctx.flavors.get(spec.success.flavorRef)
  if (flavor === undefined) {
    issues.push({ path: `${path}.flavorRef`, message: `a known flavor; ${spec.success.flavorRef} is ` +
      "not one" })
    return { ...base, kind: "server", vcpus: 0, ramMb: 0, disks: [] }
  }
  const disks: DiskRequest[] = flavor.diskGb === undefined || flavor.diskGb === 0 ? []
    : [{ sizeMb: flavor.diskGb * mbPerGb, ...(flavor.diskKind === undefined ? {}
      : { kind: flavor.diskKind }) }]
  return { ...base, kind: "server", vcpus: flavor.vcpus, ramMb: flavor.ramMb, disks,
    flavor: spec.success.flavorRef,
    ...(flavor.numaCells === undefined ? {} : { numaCells: flavor.numaCells }) }
}

function volumeDisk(sizeMb: number, volumeType: string): DiskRequest {
  if (volumeType === "") return { sizeMb }
  if (volumeType === "ECKD" || volumeType === "FBA" || volumeType === "zpool") {
    return { sizeMb, kind: volumeType }
  }
  return { sizeMb, pool: volumeType }
}

/** Errors `createVcluster` returns. */
export type CreateVclusterError = BadRequest | NotFound | AlreadyExists | NoValidHost

/**
 * Creates a vcluster: validates the body (see `checkVcluster`), places every instance at once
 * under its groupings' rules, and reserves them. All or nothing; the given state is unchanged.
 */
export function createVcluster(
  state: VclusterState,
  body: unknown,
  ctx: CreateContext,
): Outcome<{ state: VclusterState; vcluster: VclusterRecord }, CreateVclusterError> {
  if (HashMap.has(state.vclusters, ctx.id)) {
    return err(new AlreadyExists({ resource: "vcluster", id: ctx.id }))
  }
  const checked = checkVcluster(body, ctx)
  if (Result.isFailure(checked)) return err(checked.failure)
  const { body: parsed, servers, groups } = checked.success
  const v = parsed.vcluster
  const placed = schedule(state.cluster, { servers, groups,
    ...(v.policy === undefined ? {} : { policy: v.policy }) })
  if (Result.isFailure(placed)) return err(placed.failure)
  const record: VclusterRecord = {
    id: ctx.id,
    name: v.name,
    ...(ctx.tenant === undefined ? {} : { tenant: ctx.tenant }),
    instances: placed.success.servers.map((s, k) => ({ name: v.instances[k]!.name,
      type: s.kind, uuid: s.uuid, host: s.host })),
    groupings: (v.groupings ?? []).map((g, k) => ({ name: g.name, groupId: groups[k]!.id,
      membersRef: g.membersRef, rule: g.spec.rule, scope: g.spec.scope ?? "host" })),
  }
  return ok({
    state: { cluster: placed.success.state, vclusters: HashMap.set(state.vclusters, ctx.id, record) },
    vcluster: record,
  })
}

/** The show view: `{"vcluster": {id, name, instances: [...], groupings: [...]}}`. */
export function showVcluster(
  state: VclusterState,
  id: string,
): Outcome<{ vcluster: VclusterRecord }, NotFound> {
  const record = Option.getOrUndefined(HashMap.get(state.vclusters, id))
  return record === undefined ? err(new NotFound({ resource: "vcluster", id }))
    : ok({ vcluster: record })
}

/** Deletes a vcluster: every instance's resources are freed and its groups removed. */
export function deleteVcluster(state: VclusterState, id: string): Outcome<VclusterState, NotFound> {
  const record = Option.getOrUndefined(HashMap.get(state.vclusters, id))
  if (record === undefined) return err(new NotFound({ resource: "vcluster", id }))
  let cluster = state.cluster
  for (const inst of record.instances) {
    const r = deleteServer(cluster, inst.uuid)
    if (Result.isFailure(r)) throw new Error(`vcluster ${id} lost instance ${inst.uuid}`)
    cluster = r.success.state
  }
  for (const g of record.groupings) {
    const r = deleteGroup(cluster, g.groupId)
    if (Result.isFailure(r)) throw new Error(`vcluster ${id} group ${g.groupId}: ${r.failure.message}`)
    cluster = r.success
  }
  return ok({ cluster, vclusters: HashMap.remove(state.vclusters, id) })
}
