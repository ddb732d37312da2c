import fc from "fast-check"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { placeGang } from "../core/placement/index.ts"
import { packVectors } from "../core/placement/pack.ts"
import { host } from "./builders.ts"
import { clusterOf, server } from "./placement-builders.ts"

function pack(capacity: number[], bins: number, items: number[][]) {
  const dims = capacity.length
  const binFree = new Float64Array(bins * dims)
  for (let b = 0; b < bins; b++) capacity.forEach((c, d) => { binFree[b * dims + d] = c })
  return packVectors({ dims, binFree, binOpen: new Uint8Array(bins),
    itemSize: Float64Array.from(items.flat()) })
}

describe("vector packer", () => {
  it("finds the perfect pairing a first-fit order would miss", () => {
    // 60+40 and 70+30 pair exactly; decreasing first fit alone puts 70 and 60 apart, fine, but
    // then 40 and 30 share a bin: three bins. Two are enough.
    const assign = pack([100, 100], 4, [[70, 30], [60, 40], [40, 60], [30, 70]])!
    expect(new Set(assign).size).toBe(2)
  })

  it("returns undefined when an item fits no bin", () => {
    expect(pack([10], 3, [[11]])).toBeUndefined()
  })

  it("never overfills a bin and places every item", () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 3 }).chain((d) => fc.record({
        d: fc.constant(d),
        items: fc.array(fc.array(fc.integer({ min: 0, max: 10 }), { minLength: d, maxLength: d }),
          { minLength: 1, maxLength: 12 }),
      })),
      ({ d, items }) => {
        const capacity = Array.from({ length: d }, () => 10)
        const assign = pack(capacity, items.length, items)!
        expect(assign).toBeDefined()
        const used = new Map<number, number[]>()
        items.forEach((size, i) => {
          const load = used.get(assign[i]!) ?? Array.from({ length: d }, () => 0)
          size.forEach((s, k) => { load[k] = load[k]! + s })
          used.set(assign[i]!, load)
        })
        for (const load of used.values()) for (const v of load) expect(v).toBeLessThanOrEqual(10)
      }))
  })

  it("drives rule-free pack gangs through placeGang, committed through the same fit", () => {
    const state = clusterOf(...[1, 2, 3, 4].map((k) => host(`h${k}`).cpus(10).ram(10_000)))
    const r = placeGang(state, { instances: [
      server("a").cpus(7).ram(3000), server("b").cpus(6).ram(4000), server("c").cpus(4).ram(6000),
      server("d").cpus(3).ram(7000)].map((s) => s.instance()) })
    if (Result.isFailure(r)) throw r.failure
    expect(new Set(r.success.placements.map((p) => p.host)).size).toBe(2)
  })
})
