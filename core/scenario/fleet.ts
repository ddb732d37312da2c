/**
 * A fleet as a capacity planner writes it: host templates times counts over zones and racks,
 * expanded into the inventory document that `decodeInventory` accepts.
 *
 * Example: two zones of four racks, each rack with five `compute` hosts and one `gpu` host:
 *   {"topology": {"zones": ["az1", "az2"], "racksPerZone": 4},
 *    "templates": {"compute": {...}, "gpu": {...}},
 *    "racks": [{"template": "compute", "hostsPerRack": 5}, {"template": "gpu", "hostsPerRack": 1}]}
 * Host names are `<zone>-r<rack>-<template>-<n>` (rack and n 1-based, zero-padded to 2 digits).
 */
import { Result, Schema } from "effect"
import { decode } from "../decode.ts"
import { type BadRequest, invalidAll, type InputIssue } from "../errors.ts"
import { decodeInventory, type Inventory } from "../inventory/index.ts"

/** Upper bound on hosts a fleet may expand to (matches the inventory's own bound). */
export const fleetHostsMax = 100_000

const Label = Schema.String.check(
  Schema.isPattern(/^[a-z0-9][a-z0-9-]{0,30}$/, { message: "lower-case letters, digits, '-'" }),
)
const PositiveInt = Schema.Int.check(Schema.isGreaterThan(0))

/** The fleet section of a scenario. */
export const FleetSpec = Schema.Struct({
  topology: Schema.Struct({
    zones: Schema.Array(Label).check(Schema.isMinLength(1)),
    racksPerZone: PositiveInt,
  }),
  /** Host templates: a host without name, zone and rack; checked as the inventory checks hosts. */
  templates: Schema.Record(Label, Schema.Unknown),
  racks: Schema.Array(Schema.Struct({ template: Label, hostsPerRack: PositiveInt }))
    .check(Schema.isMinLength(1)),
})
export type FleetSpec = typeof FleetSpec.Type

/**
 * Expands a fleet into an inventory. Every problem is reported with its path under `pathPrefix`
 * (e.g. `fleet.racks[1].template`); template fields are checked as the inventory checks hosts.
 */
export function expandFleet(
  input: unknown,
  pathPrefix = "fleet",
): Result.Result<Inventory, BadRequest> {
  const decoded = decode(FleetSpec, input, { pathPrefix })
  if (Result.isFailure(decoded)) return Result.fail(decoded.failure)
  const fleet = decoded.success
  const issues: InputIssue[] = []
  fleet.racks.forEach((r, i) => {
    if (!(r.template in fleet.templates)) {
      issues.push({
        path: `${pathPrefix}.racks[${i}].template`,
        message: `one of the templates (${Object.keys(fleet.templates).join(", ")})`,
      })
    }
  })
  const perRack = fleet.racks.reduce((s, r) => s + r.hostsPerRack, 0)
  const total = perRack * fleet.topology.racksPerZone * fleet.topology.zones.length
  if (total > fleetHostsMax) {
    issues.push({ path: `${pathPrefix}.racks`, message: `at most ${fleetHostsMax} hosts; this is ${total}` })
  }
  if (issues.length > 0) return Result.fail(invalidAll(issues))
  const inventory = decodeInventory({ hosts: hostsOf(fleet) })
  if (Result.isSuccess(inventory)) return inventory
  return Result.fail(invalidAll(templateIssues(inventory.failure, fleet, pathPrefix)))
}

function hostsOf(fleet: FleetSpec): unknown[] {
  const hosts: unknown[] = []
  const pad = (n: number) => String(n).padStart(2, "0")
  for (const zone of fleet.topology.zones) {
    for (let rack = 1; rack <= fleet.topology.racksPerZone; rack++) {
      const rackName = `${zone}-r${pad(rack)}`
      for (const group of fleet.racks) {
        const template = fleet.templates[group.template]
        const body = typeof template === "object" && template !== null ? template : {}
        for (let n = 1; n <= group.hostsPerRack; n++) {
          hosts.push({
            ...body,
            name: `${rackName}-${group.template}-${pad(n)}`,
            zone,
            rack: rackName,
          })
        }
      }
    }
  }
  return hosts
}

/**
 * Maps inventory issues (`hosts[17].vcpus`) back to the template that produced them
 * (`fleet.templates.gpu.vcpus`), once per template and field.
 */
function templateIssues(error: BadRequest, fleet: FleetSpec, prefix: string): InputIssue[] {
  const templateOfHost: string[] = []
  for (let z = 0; z < fleet.topology.zones.length; z++) {
    for (let r = 0; r < fleet.topology.racksPerZone; r++) {
      for (const g of fleet.racks) {
        for (let n = 0; n < g.hostsPerRack; n++) templateOfHost.push(g.template)
      }
    }
  }
  const seen = new Set<string>()
  const out: InputIssue[] = []
  for (const issue of error.issues ?? [{ path: "", message: error.message }]) {
    const m = /^hosts\[(\d+)\]\.?(.*)$/.exec(issue.path)
    const template = m === null ? undefined : templateOfHost[Number(m[1])]
    const path = template === undefined
      ? `${prefix}${issue.path === "" ? "" : "." + issue.path}`
      : `${prefix}.templates.${template}${m![2] === "" ? "" : m![2]!.startsWith("[") ? m![2] : "." + m![2]}`
    const key = `${path}\u0000${issue.message.replace(/hosts\[\d+\]/g, "")}`
    if (seen.has(key)) continue
    seen.add(key)
    out.push({ path, message: issue.message })
  }
  return out
}
