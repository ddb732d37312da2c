// The block maxima the placement search remembers between searches (core/placement/block-max.ts):
// on fleets of alike hosts (many exact ties between blocks), through placements, deletions, host
// status changes and returns to older states, the search through a kept host index, asked again
// and again for a few request shapes, names the reference scan's host whenever it decides, and
// skips blocks it visited before.
import { Result } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { type ClusterState, deleteServer, scanOf, withHostStatus } from "../core/cluster/index.ts"
import { buildHostIndex } from "../core/cluster/host-index.ts"
import { referenceScan } from "../core/kernels/scan-reference.ts"
import { setPlacementScan } from "../core/kernels/scan-select.ts"
import { newScanResult } from "../core/kernels/scan-types.ts"
import { scanInputOf, scanRequestOf } from "../core/placement/fast.ts"
import { indexedBest } from "../core/placement/host-search.ts"
import { defaultWeights, type Policy, schedule, type Weights } from "../core/placement/index.ts"
import { host } from "./builders.ts"
import { clusterOf } from "./placement-builders.ts"

const shapes = [[1, 1], [1, 2], [2, 2], [2, 1]] as const
const opArb = fc.oneof(
  fc.record({ op: fc.constant("create" as const), shape: fc.nat(shapes.length - 1),
    policy: fc.constantFrom<Policy>("pack", "pack", "spread") }),
  fc.record({ op: fc.constant("create" as const), shape: fc.nat(shapes.length - 1),
    policy: fc.constantFrom<Policy>("pack", "pack", "spread") }),
  fc.record({ op: fc.constant("delete" as const), pick: fc.nat() }),
  fc.record({ op: fc.constant("status" as const), pick: fc.nat(),
    status: fc.constantFrom("up" as const, "down" as const) }),
  fc.record({ op: fc.constant("older" as const), pick: fc.nat() }),
)
const scenarioArb = fc.record({
  hosts: fc.integer({ min: 2, max: 48 }),
  // Some hosts of other sizes: blocks that are not all alike, bounds with slack.
  odd: fc.array(fc.tuple(fc.nat(47), fc.constantFrom([6, 6], [8, 4], [3, 8])), { maxLength: 12 }),
  blockSize: fc.constantFrom(1, 2, 3, 4, 8),
  ops: fc.array(opArb, { minLength: 1, maxLength: 60 }),
  weights: fc.constantFrom<Weights>(defaultWeights,
    { policy: 1, softAffinity: 0, softAntiAffinity: 0, specialHardware: 0 }),
})

describe("the search's remembered block maxima", () => {
  const reference = referenceScan()
  const out = newScanResult()
  setPlacementScan(reference)

  it("keep the search equal to the full scan through churn on alike hosts", () => {
    let decided = 0
    fc.assert(fc.property(scenarioArb, (s) => {
      const odd = new Map(s.odd)
      let state: ClusterState = clusterOf(...Array.from({ length: s.hosts }, (_, k) => {
        const [cpus, gb] = odd.get(k) ?? [4, 4]
        return host(`h${k}`).cpus(cpus).ram(gb * 1024)
      }))
      const attach = () => {
        const input = scanInputOf(state)
        input.index.hostIndex ??= buildHostIndex(input.index, input.zoneOf, input.zoneCount,
          state.inventory, s.blockSize)
      }
      const check = () => {
        attach()
        const input = scanInputOf(state)
        for (const [cpus, gb] of shapes) {
          for (const policy of ["pack", "spread"] as const) {
            const req = scanRequestOf(state, { kind: "server", vcpus: cpus, ramMb: gb * 1024,
              disks: [], groups: [] }, policy, s.weights)!
            reference.scan(input, req, out)
            const best = indexedBest(input, req, scanOf(state).hostIndex!)
            if (best >= 0) {
              decided++
              expect(best).toBe(out.best)
            }
          }
        }
      }
      const history: ClusterState[] = [state]
      const uuids: string[] = []
      check()
      s.ops.forEach((o, k) => {
        if (o.op === "create") {
          const [cpus, gb] = shapes[o.shape]!
          const r = schedule(state, { servers: [{ uuid: `s${k}`, kind: "server", vcpus: cpus,
            ramMb: gb * 1024, disks: [], groups: [] }], policy: o.policy, weights: s.weights })
          if (Result.isSuccess(r)) { state = r.success.state; uuids.push(`s${k}`) }
        } else if (o.op === "delete" && uuids.length > 0) {
          const r = deleteServer(state, uuids[o.pick % uuids.length]!)
          if (Result.isSuccess(r)) state = r.success.state
        } else if (o.op === "status") {
          state = withHostStatus(state, o.pick % s.hosts, o.status)
        } else if (o.op === "older") {
          state = history[o.pick % history.length]!
        }
        history.push(state)
        check()
      })
    }))
    expect(decided).toBeGreaterThan(1000)
  })
})
