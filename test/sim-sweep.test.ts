/** The sweep: grid expansion, mean and 95 % CI, and a real run on the worker pool. */
import { describe, expect, it } from "vitest"
import { grid, meanCi, sweep } from "../adapters/sim/sweep.ts"

describe("sweep aggregates", () => {
  it.each([
    [[5], 5, 0],
    [[1, 2, 3], 2, 4.303 / Math.sqrt(3)],
    [[2, 2, 2, 2], 2, 0],
  ])("meanCi(%j) = %d ± %d", (values, mean, ci) => {
    const r = meanCi(values)
    expect(r.mean).toBeCloseTo(mean, 9)
    expect(r.ci95).toBeCloseTo(ci, 9)
  })

  it("grid is the product of the parameters' values", () => {
    expect(grid([["a", [1, 2]], ["b", ["x", "y", "z"]]])).toHaveLength(6)
    expect(grid([])).toEqual([[]])
    expect(grid([["a", [1]], ["b", [true]]])).toEqual([[["a", 1], ["b", true]]])
  })
})

describe("sweep on the worker pool", () => {
  it("runs every grid point × seed; one more host per rack takes the 4 VMs the smaller fleet rejected", async () => {
    const points = await sweep("scenarios/trace-replay.json", 2, 1,
      [["fleet.racks", [[{ template: "compute", hostsPerRack: 4 }],
        [{ template: "compute", hostsPerRack: 5 }]]]])
    expect(points).toHaveLength(2)
    expect(points[0]!.seeds).toBe(2)
    expect(points[0]!.figures["accepted"]).toEqual({ mean: 16, ci95: 0 })
    expect(points[1]!.figures["accepted"]).toEqual({ mean: 20, ci95: 0 })
  })
})
