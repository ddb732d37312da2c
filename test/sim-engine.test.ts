/**
 * The simulator's building blocks: the event queue's deterministic order, seeded streams,
 * distributions, bounded-memory histograms, and the invariant checkers on hand-made holdings.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { meanOf, sample } from "../adapters/sim/distribution.ts"
import { checkCapacity, checkDevices, checkFree, checkRules, checkTotals } from
  "../adapters/sim/invariants.ts"
import type { Holding } from "../adapters/sim/port.ts"
import { EventQueue } from "../adapters/sim/queue.ts"
import { derive, rootRandom } from "../adapters/sim/random.ts"
import { Histogram, summary } from "../adapters/sim/stats.ts"
import { Phase, SimVm, VmTable } from "../adapters/sim/vms.ts"
import { host, inventoryOf } from "./builders.ts"

describe("event queue", () => {
  it("pops by time, and same-time events in the order they were scheduled", () => {
    const q = new EventQueue()
    q.push(5, 1, 0)
    q.push(1, 2, 0)
    q.push(5, 3, 0)
    q.push(1, 4, 0)
    q.push(0, 5, 0)
    const kinds: number[] = []
    for (let e = q.pop(); e !== undefined; e = q.pop()) kinds.push(e.kind)
    expect(kinds).toEqual([5, 2, 4, 1, 3])
  })

  it.each([[-1], [Number.NaN], [Infinity]])("refuses an event at time %s", (t) => {
    expect(() => new EventQueue().push(t, 0, 0)).toThrow()
  })

  it("property: any push sequence pops sorted by (time, push order)", () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 200 }), (times) => {
      const q = new EventQueue()
      times.forEach((t, i) => q.push(t, 0, i))
      const out: Array<[number, number]> = []
      for (let e = q.pop(); e !== undefined; e = q.pop()) out.push([e.timeS, e.subject])
      const expected = times.map((t, i) => [t, i] as [number, number])
        .sort((a, b) => a[0] - b[0] || a[1] - b[1])
      expect(out).toEqual(expected)
    }))
  })

  it("property: pushes and pops through every tier and width leave in (time, order)", () => {
    // Delays from 0 to far past the ring, few pops between width changes: events pass through
    // the near heap, the bucket ring, the far heap and re-bucketing at new widths.
    const delay = fc.oneof(fc.constant(0), fc.double({ min: 0, max: 4, noNaN: true }),
      fc.integer({ min: 0, max: 3 }), fc.double({ min: 0, max: 1e7, noNaN: true }))
    const step = fc.record({ delays: fc.array(delay, { maxLength: 6 }), pops: fc.nat(6) })
    fc.assert(fc.property(fc.array(step, { maxLength: 120 }), fc.integer({ min: -8, max: 8 }),
      (steps, widthExponent) => {
        const q = new EventQueue({ adaptEveryPops: 4, widthExponent })
        const pending: Array<[number, number]> = []
        let now = 0
        let id = 0
        const popOne = () => {
          pending.sort((a, b) => a[0] - b[0] || a[1] - b[1])
          const want = pending.shift()
          const got = q.pop()
          expect(got === undefined ? undefined : [got.timeS, got.subject]).toEqual(want)
          if (got !== undefined) now = got.timeS
        }
        for (const s of steps) {
          for (const d of s.delays) {
            q.push(now + d, d === 0 ? 1 : 2, id)
            pending.push([now + d, id++])
          }
          for (let k = 0; k < s.pops; k++) popOne()
          expect(q.size).toBe(pending.length)
        }
        while (pending.length > 0) popOne()
        expect(q.pop()).toBeUndefined()
        expect(q.peekTime()).toBe(Infinity)
      }))
  })

  it("keeps its bucket numbers exact when a fine width meets late times", () => {
    // Width 2^-30 s and times near 1e9 s would number buckets past 2^53, where the next bucket
    // (+1) is the same number and the ring never reaches its events: the queue coarsens instead.
    const q = new EventQueue({ adaptEveryPops: 4, widthExponent: -30 })
    const times = [1e9 + 2e-5, 1e9, 1e9 + 100, 1e9 + 1e-5, 2e9, 1e9 + 3e-5]
    times.forEach((t, i) => q.push(t, 0, i))
    const out: number[] = []
    for (let e = q.pop(); e !== undefined; e = q.pop()) out.push(e.timeS)
    expect(out).toEqual([...times].sort((a, b) => a - b))
  })

  it("re-chooses its bucket width from the event rate", () => {
    const q = new EventQueue({ adaptEveryPops: 64 })
    for (let i = 0; i < 10_000; i++) q.push(i * 1000, 0, i)
    for (let i = 0; i < 5_000; i++) expect(q.pop()!.subject).toBe(i)
    expect(q.widthS).toBeGreaterThanOrEqual(8192)
  })

  it("refuses kinds and subjects it cannot store", () => {
    expect(() => new EventQueue().push(1, 64, 0)).toThrow(/out of range/)
    expect(() => new EventQueue().push(1, 0, -1)).toThrow(/out of range/)
    expect(() => new EventQueue({ adaptEveryPops: 3 })).toThrow(/power of two/)
  })
})

describe("VM table", () => {
  it("keeps each host's VMs in arrival order through adds, moves and removals", () => {
    const t = new VmTable(3)
    const a = t.add(7, -1, 0, 0)
    const b = t.add(8, 0, 1, 0)
    const c = t.add(8, 1, 1, 1)
    expect(t.on(0)).toEqual([a, b])
    t.move(a, 1)
    expect([t.on(0), t.on(1)]).toEqual([[b], [c, a]])
    t.remove(c)
    expect([t.on(1), t.live, t.count, t.phaseOf(c)]).toEqual([[a], 2, 3, Phase.gone])
    expect(() => t.remove(c)).toThrow(/twice/)
    expect([t.uuidOf(a), t.uuidOf(b), t.hostOf(a), t.mixOf(b)]).toEqual(["vm-7", "vm-8-0", 1, 1])
    expect(t.phaseOf(99)).toBe(Phase.gone)
  })

  it("without per-host lists, rows still move and leave; asking for a host's VMs is a defect", () => {
    const t = new VmTable(2, false)
    const a = t.add(1, -1, 0, 0)
    const b = t.add(2, -1, 0, 1)
    t.move(a, 1)
    t.remove(b)
    expect([t.hostOf(a), t.phaseOf(b), t.live, t.count]).toEqual([1, Phase.gone, 1, 2])
    expect(() => t.on(1)).toThrow(/no per-host lists/)
  })

  it("a handle reads and writes its row; a failover's record sticks until set back", () => {
    const t = new VmTable(1)
    const vm = new SimVm(t, t.add(3, -1, 0, 0))
    vm.phase = "running"
    vm.pmemWarm = true
    expect([vm.phase, vm.pmemWarm, vm.replicated, vm.record])
      .toEqual(["running", true, false, "vm-3"])
    vm.record = "vm-3.r1"
    vm.replicated = true
    expect([vm.record, vm.pmemWarm, vm.replicated]).toEqual(["vm-3.r1", true, true])
    vm.record = "vm-3"
    expect(vm.record).toBe("vm-3")
  })

  it("property: host lists match a model through random adds, moves and removals", () => {
    const op = fc.record({ kind: fc.constantFrom("add", "move", "remove"), host: fc.nat(3),
      pick: fc.nat() })
    fc.assert(fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
      const t = new VmTable(4)
      const model: number[][] = [[], [], [], []]
      const alive: number[] = []
      for (const o of ops) {
        if (o.kind === "add" || alive.length === 0) {
          const i = t.add(t.count, -1, 0, o.host)
          model[o.host]!.push(i)
          alive.push(i)
          continue
        }
        const i = alive[o.pick % alive.length]!
        model[t.hostOf(i)] = model[t.hostOf(i)]!.filter((x) => x !== i)
        if (o.kind === "move") {
          t.move(i, o.host)
          model[o.host]!.push(i)
        } else {
          t.remove(i)
          alive.splice(alive.indexOf(i), 1)
        }
      }
      expect([0, 1, 2, 3].map((h) => t.on(h))).toEqual(model)
      expect(t.live).toBe(alive.length)
    }))
  })
})

describe("random streams", () => {
  it("the same seed and name give the same sequence; another name or seed another", () => {
    const take = (r: ReturnType<typeof derive>) => Array.from({ length: 8 }, () => r.nextUint32())
    expect(take(derive(42, "crash"))).toEqual(take(derive(42, "crash")))
    expect(take(derive(42, "crash"))).not.toEqual(take(derive(42, "link")))
    expect(take(derive(42, "crash"))).not.toEqual(take(derive(43, "crash")))
    expect(take(rootRandom(7))).toEqual(take(rootRandom(7)))
  })

  it.each([[-1], [1.5], [2 ** 53]])("refuses seed %s", (seed) => {
    expect(() => derive(seed, "x")).toThrow()
  })

  it("property: next() is in [0, 1) and int(n) in [0, n)", () => {
    fc.assert(fc.property(fc.nat(), fc.integer({ min: 1, max: 1000 }), (seed, n) => {
      const r = derive(seed, "p")
      for (let i = 0; i < 20; i++) {
        const x = r.next()
        const k = r.int(n)
        if (!(x >= 0 && x < 1) || !(Number.isInteger(k) && k >= 0 && k < n)) return false
      }
      return true
    }))
  })
})

describe("distributions", () => {
  it.each([
    [{ kind: "fixed", value: 7 } as const],
    [{ kind: "exponential", mean: 30 } as const],
    [{ kind: "lognormal", median: 10, sigma: 0.5 } as const],
    [{ kind: "uniform", min: 2, max: 4 } as const],
  ])("%j: sample mean within 5% of the mean over 20,000 draws", (d) => {
    const r = derive(1, "dist")
    let sum = 0
    let min = Infinity
    const n = 20_000
    for (let i = 0; i < n; i++) {
      const x = sample(d, r)
      min = Math.min(min, x)
      sum += x
    }
    expect(min).toBeGreaterThanOrEqual(0)
    expect(Math.abs(sum / n - meanOf(d)) / meanOf(d)).toBeLessThan(0.05)
  })
})

describe("histogram", () => {
  it("property: each quantile is within 1% of the exact nearest-rank value", () => {
    fc.assert(fc.property(
      fc.array(fc.double({ min: 0.001, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 100 }),
      fc.double({ min: 0.01, max: 1, noNaN: true }),
      (values, q) => {
        const h = new Histogram()
        for (const v of values) h.add(v)
        const sorted = [...values].sort((a, b) => a - b)
        const exact = sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!
        const got = h.quantile(q)
        expect(Math.abs(got - exact) / exact).toBeLessThanOrEqual(0.0101)
        expect(h.max).toBe(sorted[sorted.length - 1])
      },
    ))
  })

  it("an empty histogram and summary answer 0", () => {
    expect(new Histogram().quantile(0.5)).toBe(0)
    expect(summary([])).toEqual({ p50: 0, p95: 0, max: 0 })
    expect(summary([3, 1, 2])).toEqual({ p50: 2, p95: 3, max: 3 })
  })
})

const held = (id: string, hostIndex: number, over: Partial<Holding> = {}): Holding => ({
  id, host: hostIndex, vcpus: 1, ramMb: 1, diskMb: 0, pciAddresses: [], pmemExtents: [],
  groups: [], ...over,
})

describe("invariant checkers", () => {
  const inventory = inventoryOf(
    host("h1").cpus(4).ram(8192).rack("r1").sriov(4, 2).pmem("NVDIMM0", 1024),
    host("h2").cpus(4).ram(8192).rack("r2"),
  )

  it.each([
    ["fits", [held("a", 0, { vcpus: 4 })], 0],
    ["vCPUs over", [held("a", 0, { vcpus: 3 }), held("b", 0, { vcpus: 2 })], 1],
    ["RAM over", [held("a", 1, { ramMb: 9000 })], 1],
    ["disk over (no pool)", [held("a", 1, { diskMb: 1 })], 1],
  ])("capacity: %s", (_, holdings, problems) => {
    expect(checkCapacity(inventory, holdings)).toHaveLength(problems)
  })

  it.each([
    ["matches the holdings", [4, 8192], 0],
    ["vCPUs off by one", [3, 8192], 1],
    ["RAM off", [4, 4096], 1],
  ])("free as reported: %s", (_, [vcpus, ramMb], problems) => {
    const holdings = [held("a", 0, { vcpus: 2, ramMb: 4096 }), held("b", 0, { vcpus: 2, ramMb: 4096 })]
    const free = (h: number) => h === 0 ? { vcpus: vcpus! - 4, ramMb: ramMb! - 8192 }
      : { vcpus: 4, ramMb: 8192 }
    expect(checkFree(inventory, holdings, free)).toHaveLength(problems)
  })

  it.each([
    ["match the holdings", [4, 8192, 10], 0],
    ["vCPUs off", [3, 8192, 10], 1],
    ["RAM and disk off", [4, 1, 0], 2],
  ])("fleet totals as reported: %s", (_, [vcpus, ramMb, diskMb], problems) => {
    const holdings = [held("a", 0, { vcpus: 1, ramMb: 4096, diskMb: 10 }),
      held("b", 1, { vcpus: 3, ramMb: 4096 })]
    const totals = new Map([["vcpus", { used: vcpus!, capacity: 8 }],
      ["ramMb", { used: ramMb!, capacity: 16384 }], ["diskMb", { used: diskMb!, capacity: 0 }]])
    expect(checkTotals(holdings, totals)).toHaveLength(problems)
  })

  it.each([
    ["distinct VFs", [held("a", 0, { pciAddresses: ["0000:04:01.0"] }),
      held("b", 0, { pciAddresses: ["0000:04:01.1"] })], 0],
    ["one VF twice", [held("a", 0, { pciAddresses: ["0000:04:01.0"] }),
      held("b", 0, { pciAddresses: ["0000:04:01.0"] })], 1],
    ["PF with its VF", [held("a", 0, { pciAddresses: ["0000:04:00.0"] }),
      held("b", 0, { pciAddresses: ["0000:04:01.1"] })], 1],
    ["pmem extents apart", [held("a", 0, { pmemExtents: [{ device: "NVDIMM0", offsetMb: 0, sizeMb: 512 }] }),
      held("b", 0, { pmemExtents: [{ device: "NVDIMM0", offsetMb: 512, sizeMb: 512 }] })], 0],
    ["pmem extents overlap", [held("a", 0, { pmemExtents: [{ device: "NVDIMM0", offsetMb: 0, sizeMb: 512 }] }),
      held("b", 0, { pmemExtents: [{ device: "NVDIMM0", offsetMb: 256, sizeMb: 512 }] })], 1],
    ["pmem past the device", [held("a", 0, { pmemExtents: [{ device: "NVDIMM0", offsetMb: 768, sizeMb: 512 }] })], 1],
  ])("devices: %s", (_, holdings, problems) => {
    expect(checkDevices(inventory, holdings)).toHaveLength(problems)
  })

  it.each([
    ["anti-affinity/host kept", { kind: "anti-affinity", scope: "host", hard: true } as const, [0, 1], 0],
    ["anti-affinity/host broken", { kind: "anti-affinity", scope: "host", hard: true } as const, [0, 0], 1],
    ["anti-affinity/rack broken", { kind: "anti-affinity", scope: "rack", hard: true } as const, [1, 1], 1],
    ["soft rules are not checked", { kind: "anti-affinity", scope: "host", hard: false } as const, [0, 0], 0],
    ["affinity/host kept", { kind: "affinity", scope: "host", hard: true } as const, [1, 1], 0],
    ["affinity/host broken", { kind: "affinity", scope: "host", hard: true } as const, [0, 1], 1],
    ["maxPerHost 2 kept", { kind: "anti-affinity", scope: "host", hard: true, maxPerHost: 2 } as const, [0, 0], 0],
  ])("rules: %s", (_, rule, hosts, problems) => {
    const holdings = hosts.map((h, i) => held(`m${i}`, h, { groups: ["g"] }))
    expect(checkRules(inventory, holdings, () => rule)).toHaveLength(problems)
  })
})
