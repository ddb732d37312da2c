// The persistent structures under the pmem state, checked against plain models (fast-check).
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  allocateExtent,
  type DeviceExtents,
  emptyDevice,
  freeExtent,
  freeExtentsOf,
  largestFreeMb,
} from "../core/pmem/extents.ts"
import { sequenceOfUuid, volumeUuid } from "../core/pmem/ids.ts"
import { chunkKeysMax, SortedSet } from "../core/persistent/sorted-set.ts"

describe("sorted set (mutable sorted chunks)", () => {
  it("behaves as a sorted array through inserts, removes and in-place replaces", () => {
    // Dense keys and insert-heavy runs, so chunks split (past chunkKeysMax) and merge again.
    const op = fc.tuple(
      fc.constantFrom("insert", "insert", "insert", "insert", "remove", "replace", "ceilingRemove",
        "floorReplace"),
      fc.integer({ min: 0, max: 400 }))
    fc.assert(fc.property(fc.array(op, { maxLength: 600 }), (ops) => {
      const set = new SortedSet()
      const model: number[] = []
      for (const [kind, key] of ops) {
        const at = model.indexOf(key)
        if (kind === "insert" && at < 0) {
          set.insert(key)
          const pos = model.findIndex((k) => k > key)
          model.splice(pos < 0 ? model.length : pos, 0, key)
        } else if (kind === "remove" && at >= 0) {
          set.remove(key)
          model.splice(at, 1)
        } else if (kind === "replace" && at >= 0) {
          // A key just above `key` takes its slot (keys are integers, so no neighbour is between).
          set.replace(key, key + 0.5)
          model[at] = key + 0.5
        } else if (kind === "ceilingRemove") {
          // The allocator's pattern: a search, then a change of the key it found (the finger).
          const found = set.ceiling(key)
          expect(found).toBe(model.find((k) => k >= key))
          if (found !== undefined) {
            set.remove(found)
            model.splice(model.indexOf(found), 1)
          }
        } else if (kind === "floorReplace") {
          const found = set.floor(key)
          expect(found).toBe(model.findLast((k) => k <= key))
          const i = found === undefined ? -1 : model.indexOf(found)
          if (i >= 0 && (i + 1 === model.length || model[i + 1]! > found! + 0.25)) {
            set.replace(found!, found! + 0.25)
            model[i] = found! + 0.25
          }
        }
      }
      expect(set.toArray()).toEqual(model)
      expect(set.size).toBe(model.length)
      expect(set.max()).toBe(model.at(-1))
      expect(set.copy().toArray()).toEqual(model)
      for (const probe of [0, 1, 99, 200, 399, 401]) {
        expect(set.ceiling(probe)).toBe(model.find((k) => k >= probe))
        expect(set.floor(probe)).toBe(model.findLast((k) => k <= probe))
        expect(set.has(probe)).toBe(model.includes(probe))
      }
    }))
  })

  it("holds more keys than one chunk, and empties again", () => {
    const set = new SortedSet()
    for (let k = 0; k < 1000; k++) set.insert((k * 7919) % 1000)
    expect(set.toArray()).toEqual(Array.from({ length: 1000 }, (_, k) => k))
    expect(1000).toBeGreaterThan(chunkKeysMax)
    for (let k = 0; k < 1000; k++) set.remove((k * 7919) % 1000)
    expect([set.size, set.max(), set.ceiling(0)]).toEqual([0, undefined, undefined])
  })

  it("refuses a duplicate insert, a missing remove, unsorted keys and a misplaced replace", () => {
    const set = new SortedSet([10, 20, 30])
    expect(() => set.insert(20)).toThrow(/already present/)
    expect(() => set.remove(25)).toThrow(/not present/)
    expect(set.toArray()).toEqual([10, 20, 30])
    expect(() => new SortedSet([2, 1])).toThrow(/ascend/)
    expect(() => set.replace(20, 35)).toThrow(/place/)
    expect(() => set.replace(20, 10)).toThrow(/place/)
    expect(() => set.replace(25, 26)).toThrow(/not present/)
    expect(set.toArray()).toEqual([10, 20, 30])
    set.replace(30, 99)
    expect([set.toArray(), set.max()]).toEqual([[10, 20, 99], 99])
  })
})

/** Reference best fit: smallest free extent that is long enough, lowest offset among equals. */
function referenceBestFit(free: ReadonlyArray<{ offsetMb: number; lengthMb: number }>,
  extentMb: number): number | undefined {
  let best: { offsetMb: number; lengthMb: number } | undefined
  for (const e of free) {
    if (e.lengthMb >= extentMb && (best === undefined || e.lengthMb < best.lengthMb)) best = e
  }
  return best?.offsetMb
}

describe("the extent allocator", () => {
  it("picks the same extent as a reference best fit, coalesces every free, keeps old values", () => {
    const op = fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 40 }), fc.nat())
    fc.assert(fc.property(fc.constantFrom(1, 2, 4), fc.array(op, { maxLength: 80 }),
      (alignMb, ops) => {
        let device: DeviceExtents = emptyDevice(256, alignMb)
        const live: Array<{ offsetMb: number; extentMb: number }> = []
        const history: Array<[DeviceExtents, string]> = []
        for (const [alloc, size, pick] of ops) {
          if (alloc || live.length === 0) {
            const extentMb = Math.ceil(size / alignMb) * alignMb
            const expected = referenceBestFit(freeExtentsOf(device), extentMb)
            const got = allocateExtent(device, extentMb)
            expect(got?.offsetMb).toBe(expected)
            if (got === undefined) continue
            device = got.device
            live.push({ offsetMb: got.offsetMb, extentMb })
          } else {
            const [v] = live.splice(pick % live.length, 1)
            device = freeExtent(device, v!.offsetMb, v!.extentMb)
          }
          const free = freeExtentsOf(device)
          for (let i = 1; i < free.length; i++) {
            expect(free[i - 1]!.offsetMb + free[i - 1]!.lengthMb).toBeLessThan(free[i]!.offsetMb)
          }
          expect(largestFreeMb(device)).toBe(Math.max(0, ...free.map((e) => e.lengthMb)))
          history.push([device, JSON.stringify(free)])
        }
        // Every older value still reads as it was made (the newest was changed in place).
        for (let i = history.length - 1; i >= 0; i -= 3) {
          expect(JSON.stringify(freeExtentsOf(history[i]![0]))).toBe(history[i]![1])
        }
        for (const v of live) device = freeExtent(device, v.offsetMb, v.extentMb)
        expect(freeExtentsOf(device)).toEqual([{ offsetMb: 0, lengthMb: 256 }])
      }))
  })

  it("refuses to free what is free or not aligned, and devices it cannot index", () => {
    const device = allocateExtent(emptyDevice(64, 4), 8)!.device
    expect(() => freeExtent(device, 8, 4)).toThrow(/free/)
    expect(() => freeExtent(device, 2, 4)).toThrow(/aligned/)
    expect(() => allocateExtent(device, 6)).toThrow(/multiple of the alignment/)
    expect(() => emptyDevice(2 ** 26 + 2, 2)).toThrow(/outside/)
    expect(() => emptyDevice(10, 4)).toThrow(/multiple/)
    const whole = emptyDevice(2 ** 26, 2)
    expect(allocateExtent(whole, 2 ** 26)?.offsetMb).toBe(0)
    expect(largestFreeMb(whole)).toBe(2 ** 26)
  })
})

describe("volume uuids", () => {
  it("carry their sequence number and look like UUIDs", () => {
    fc.assert(fc.property(fc.string(), fc.string(), fc.integer({ min: 0, max: 2 ** 48 - 1 }),
      (server, name, sequence) => {
        const uuid = volumeUuid(server, name, sequence)
        expect(uuid)
          .toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
        expect(sequenceOfUuid(uuid)).toBe(sequence)
        expect(sequenceOfUuid(uuid.toUpperCase())).toBe(sequence)
      }))
    expect(sequenceOfUuid("uuid")).toBe(-1)
    expect(() => volumeUuid("s", "v", 2 ** 48)).toThrow(/outside/)
  })
})
