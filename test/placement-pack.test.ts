import fc from "fast-check"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { usageList } from "../core/cluster/index.ts"
import { defaultWeights, placeGang } from "../core/placement/index.ts"
import { packVectors, packVectorsDetailed, type VectorPackInput } from "../core/placement/pack.ts"
import { host } from "./builders.ts"
import { clusterOf, placed, server } from "./placement-builders.ts"

function input(capacity: number[], bins: number, items: number[][]): VectorPackInput {
  const dims = capacity.length
  const binFree = new Float64Array(bins * dims)
  for (let b = 0; b < bins; b++) capacity.forEach((c, d) => { binFree[b * dims + d] = c })
  return { dims, binFree, binOpen: new Uint8Array(bins), itemSize: Float64Array.from(items.flat()) }
}

function pack(capacity: number[], bins: number, items: number[][]) {
  return packVectors(input(capacity, bins, items))
}

/** Whether `assign` puts every item in a bin and keeps every used bin within its capacity. */
function valid(p: VectorPackInput, assign: Int32Array): boolean {
  const used = new Float64Array(p.binFree.length)
  const holds = new Set<number>()
  for (let i = 0; i < assign.length; i++) {
    const b = assign[i]!
    if (b < 0 || b >= p.binOpen.length) return false
    holds.add(b)
    for (let d = 0; d < p.dims; d++) used[b * p.dims + d] += p.itemSize[i * p.dims + d]!
  }
  return used.every((u, k) => !holds.has(Math.floor(k / p.dims)) || u <= p.binFree[k]!)
}

function costOf(p: VectorPackInput, assign: Int32Array): number {
  const cost = p.binCost ?? Float64Array.from(p.binOpen, (o) => (o === 1 ? 0 : 1))
  return [...new Set(assign)].reduce((s, b) => s + cost[b]!, 0)
}

/** The cheapest packing by trying every assignment (tiny problems only). */
function bruteForce(p: VectorPackInput): number {
  const items = p.itemSize.length / p.dims
  const bins = p.binOpen.length
  const assign = new Int32Array(items)
  let best = Infinity
  const visit = (i: number) => {
    if (i === items) {
      if (valid(p, assign)) best = Math.min(best, costOf(p, assign))
      return
    }
    for (let b = 0; b < bins; b++) { assign[i] = b; visit(i + 1) }
  }
  visit(0)
  return best
}

/** Heterogeneous bins, some in use, optional costs, and items: a random packing problem. */
const problems = (maxBins: number, maxItems: number) =>
  fc.integer({ min: 1, max: 3 }).chain((dims) =>
  fc.record({
    dims: fc.constant(dims),
    bins: fc.array(fc.record({
      // Below 0: a host overcommitted in that dimension.
      free: fc.array(fc.integer({ min: -2, max: 12 }), { minLength: dims, maxLength: dims }),
      open: fc.boolean(),
      cost: fc.integer({ min: 0, max: 3 }),
    }), { minLength: 1, maxLength: maxBins }),
    items: fc.array(fc.array(fc.integer({ min: 0, max: 10 }), { minLength: dims, maxLength: dims }),
      { minLength: 1, maxLength: maxItems }),
    costs: fc.boolean(),
  })).map(({ dims, bins, items, costs }): VectorPackInput => ({
  dims,
  binFree: Float64Array.from(bins.flatMap((b) => b.free)),
  binOpen: Uint8Array.from(bins, (b) => (b.open ? 1 : 0)),
  itemSize: Float64Array.from(items.flat()),
  ...(costs ? { binCost: Float64Array.from(bins, (b) => b.cost) } : {}),
}))

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

  it("packs shuffled 5-dimensional triplets that sum to the capacity into n/3 bins", () => {
    // Falkenauer-style triplets: per dimension a in [38, 49], b in [25, (100-a)/2], c = 100-a-b.
    let seed = 7
    const next = (lo: number, hi: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
      return lo + ((seed >>> 8) % (hi - lo + 1))
    }
    const items: number[][] = []
    for (let t = 0; t < 40; t++) {
      const parts: number[][] = [[], [], []]
      for (let d = 0; d < 5; d++) {
        const a = next(38, 49)
        const b = next(25, Math.floor((100 - a) / 2))
        parts[0]!.push(a)
        parts[1]!.push(b)
        parts[2]!.push(100 - a - b)
      }
      items.push(...parts)
    }
    for (let i = items.length - 1; i > 0; i--) {
      const j = next(0, i)
      ;[items[i], items[j]] = [items[j]!, items[i]!]
    }
    const r = packVectorsDetailed(input([100, 100, 100, 100, 100], items.length, items))!
    expect(r.lowerBound).toBe(40)
    expect(r.cost).toBe(40)
  })

  it("never overfills a bin, places every item, and reports the cost of what it returns", () => {
    fc.assert(fc.property(problems(6, 14), (p) => {
      const r = packVectorsDetailed(p)
      const fitsSomewhere = Array.from({ length: p.itemSize.length / p.dims }, (_, i) =>
        Array.from(p.binOpen, (_, b) => b).some((b) => Array.from({ length: p.dims }, (_, d) => d)
          .every((d) => p.itemSize[i * p.dims + d]! <= p.binFree[b * p.dims + d]!)))
      if (r === undefined) return
      expect(fitsSomewhere.every(Boolean)).toBe(true)
      expect(valid(p, r.assign)).toBe(true)
      expect(r.cost).toBe(costOf(p, r.assign))
      expect(r.cost).toBeGreaterThanOrEqual(r.lowerBound)
    }))
  })

  it("places everything whenever every item fits an empty bin and there are enough bins", () => {
    fc.assert(fc.property(problems(1, 12), (p) => {
      const items = p.itemSize.length / p.dims
      const free = p.binFree.slice(0, p.dims).map((v) => Math.max(0, v))
      const itemSize = p.itemSize.map((v, k) => Math.min(v, free[k % p.dims]!))
      const many: VectorPackInput = { dims: p.dims, itemSize,
        binFree: Float64Array.from({ length: items * p.dims }, (_, k) => free[k % p.dims]!),
        binOpen: new Uint8Array(items) }
      const assign = packVectors(many)
      expect(assign).toBeDefined()
      expect(valid(many, assign!)).toBe(true)
    }))
  })

  it("keeps its lower bound at or below the optimum (brute force on tiny problems)", () => {
    fc.assert(fc.property(problems(4, 6), (p) => {
      const optimum = bruteForce(p)
      const r = packVectorsDetailed(p)
      if (optimum === Infinity) return
      if (r === undefined) return
      expect(r.lowerBound).toBeLessThanOrEqual(optimum)
      expect(r.cost).toBeGreaterThanOrEqual(optimum)
    }))
  })

  it("gives the same answer for the same input", () => {
    fc.assert(fc.property(problems(8, 20), (p) => {
      const a = packVectors(p)
      const b = packVectors(p)
      expect(b).toEqual(a)
    }))
  })

  it("rejects malformed input naming the field", () => {
    const good = input([10, 10], 2, [[1, 1]])
    expect(() => packVectors({ ...good, binFree: new Float64Array(3) })).toThrow(/binFree/)
    expect(() => packVectors({ ...good, itemSize: new Float64Array(3) })).toThrow(/itemSize/)
    expect(() => packVectors({ ...good, binCost: new Float64Array(1) })).toThrow(/binCost/)
    expect(() => packVectors({ ...good, itemSize: Float64Array.of(1, -1) }))
      .toThrow(/itemSize\[1\]/)
  })

  it("puts nothing on a host overcommitted in a dimension the item needs", () => {
    const p = { ...input([10, 10], 2, [[1, 0], [0, 1]]), binFree: Float64Array.of(-2, 10, 10, 10) }
    const assign = packVectors(p)!
    expect([...assign]).toEqual([1, 1])
  })

  it("keeps a one-zone pack gang in its zone, and places a two-zone gang member by member", () => {
    const state = clusterOf(host("big").cpus(32).zone("z1"), host("s1").cpus(8).zone("z2"),
      host("s2").cpus(8).zone("z2"))
    const one = placeGang(state, { instances: [server("a").cpus(4).zone("z2"),
      server("b").cpus(4).zone("z2"), server("c").cpus(4).zone("z2")].map((x) => x.instance()) })
    if (Result.isFailure(one)) throw one.failure
    expect(one.success.placements.every((p) => p.host !== "big")).toBe(true)
    const two = placeGang(state, { instances: [server("a").cpus(4).zone("z1"),
      server("b").cpus(4).zone("z2")].map((x) => x.instance()) })
    if (Result.isFailure(two)) throw two.failure
    expect(two.success.placements.map((p) => p.host)).toEqual(["big", expect.stringMatching(/^s/)])
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

describe("rule-free pack gangs and special hardware", () => {
  const gang = () => [server("a").cpus(8).ram(4096), server("b").cpus(8).ram(4096)]
    .map((s) => s.instance())
  const hosts = () => [host("gpu").cpus(16).sriov(3, 2), host("o1").cpus(8), host("o2").cpus(8)]

  it("keeps ordinary instances off a PCI host while ordinary hosts can take them", () => {
    const r = placeGang(clusterOf(...hosts()), { instances: gang() })
    if (Result.isFailure(r)) throw r.failure
    expect(r.success.placements.map((p) => p.host).sort()).toEqual(["o1", "o2"])
  })

  it("avoids a pmem host even when it is already in use", () => {
    let state = clusterOf(host("pm").cpus(32).pmem("ns0", 4096), host("o1").cpus(8),
      host("o2").cpus(8))
    state = placed(state, server("old").cpus(1).ram(512))
    const used = usageList(state).findIndex((u) => u.instanceCount > 0)
    expect(state.inventory.hosts[used]!.name).toBe("o1")
    const r = placeGang(state, { instances: [server("a").cpus(7).ram(1024),
      server("b").cpus(8).ram(1024)].map((s) => s.instance()) })
    if (Result.isFailure(r)) throw r.failure
    expect(r.success.placements.map((p) => `${p.name}@${p.host}`).sort())
      .toEqual(["a@o1", "b@o2"])
  })

  it("uses special hosts when the ordinary ones cannot hold the gang", () => {
    const instances = [...gang(), server("c").cpus(8).ram(4096).instance()]
    const r = placeGang(clusterOf(...hosts()), { instances })
    if (Result.isFailure(r)) throw r.failure
    // Two ordinary hosts hold two of the three; once the PCI host must be used, it takes two
    // and one ordinary host stays free.
    const used = new Set(r.success.placements.map((p) => p.host))
    expect(used.has("gpu")).toBe(true)
    expect(used.size).toBe(2)
  })

  it("packs onto the fewest hosts when the special-hardware weight is 0", () => {
    const r = placeGang(clusterOf(...hosts()), { instances: gang(),
      weights: { ...defaultWeights, specialHardware: 0 } })
    if (Result.isFailure(r)) throw r.failure
    expect(r.success.placements.map((p) => p.host)).toEqual(["gpu", "gpu"])
  })
})
