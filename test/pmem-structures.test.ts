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
import { emptyMap, mapEntries, mapGet, mapRemove, mapSet } from "../core/pmem/hamt.ts"
import { sequenceOfUuid, volumeUuid } from "../core/pmem/ids.ts"
import {
  ceilingKey,
  changedKeys,
  chunkKeysMax,
  emptyKeys,
  floorKey,
  insertKey,
  keysOf,
  keysToArray,
  maxKey,
  removeKey,
  replaceKey,
  type SortedKeys,
} from "../core/pmem/sorted-keys.ts"

describe("sorted keys (copy-on-write chunks)", () => {
  it("behave as a sorted array, and old versions never change", () => {
    // Dense keys and insert-heavy runs, so chunks split (past chunkKeysMax) and merge again.
    const op = fc.tuple(fc.constantFrom("insert", "insert", "remove", "replace"),
      fc.integer({ min: 0, max: 400 }))
    fc.assert(fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
      let set: SortedKeys = emptyKeys
      const model: number[] = []
      const history: Array<[SortedKeys, number[]]> = []
      for (const [kind, key] of ops) {
        const at = model.indexOf(key)
        if (kind === "insert" && at < 0) {
          set = insertKey(set, key)
          const pos = model.findIndex((k) => k > key)
          model.splice(pos < 0 ? model.length : pos, 0, key)
        } else if (kind === "remove" && at >= 0) {
          set = removeKey(set, key)
          model.splice(at, 1)
        } else if (kind === "replace" && at >= 0 && (model[at + 1] ?? key + 2) > key + 1) {
          set = replaceKey(set, key, key + 1)
          model[at] = key + 1
        } else continue
        if (history.length < 10) history.push([set, [...model]])
      }
      expect(keysToArray(set)).toEqual(model)
      expect(set.size).toBe(model.length)
      expect(maxKey(set)).toBe(model.at(-1))
      for (const chunk of set.chunks) {
        expect(chunk.length).toBeGreaterThan(0)
        expect(chunk.length).toBeLessThanOrEqual(chunkKeysMax)
      }
      for (const probe of [0, 1, 99, 200, 399, 401]) {
        expect(ceilingKey(set, probe)).toBe(model.find((k) => k >= probe))
        expect(floorKey(set, probe)).toBe(model.findLast((k) => k <= probe))
      }
      for (const [old, oldModel] of history) expect(keysToArray(old)).toEqual(oldModel)
    }))
  })

  it("split past chunkKeysMax and merge back when emptied", () => {
    let set = emptyKeys
    for (let k = 0; k < 1000; k++) set = insertKey(set, (k * 7919) % 1000)
    expect(set.chunks.length).toBeGreaterThan(1000 / chunkKeysMax)
    expect(keysToArray(set)).toEqual(Array.from({ length: 1000 }, (_, k) => k))
    for (let k = 0; k < 990; k++) set = removeKey(set, (k * 7919) % 1000)
    expect(set.chunks.length).toBeLessThanOrEqual(2)
    expect(set.size).toBe(10)
  })

  it("change several keys at once like the same changes one by one", () => {
    fc.assert(fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 2000 }), { maxLength: 500 }),
      fc.nat(), fc.nat(), fc.integer({ min: 0, max: 2000 }), fc.boolean(),
      (keys, a, b, add, twoRemovals) => {
        const sorted = [...keys].sort((x, y) => x - y)
        const set = keysOf(sorted)
        const removeA = sorted.length > 0 ? sorted[a % sorted.length] : undefined
        const rest = sorted.filter((k) => k !== removeA)
        const removeB = twoRemovals && rest.length > 0 ? rest[b % rest.length] : undefined
        const left = rest.filter((k) => k !== removeB)
        const insert = left.includes(add) ? undefined : add
        let oneByOne = set
        if (removeA !== undefined) oneByOne = removeKey(oneByOne, removeA)
        if (removeB !== undefined) oneByOne = removeKey(oneByOne, removeB)
        if (insert !== undefined) oneByOne = insertKey(oneByOne, insert)
        const batched = changedKeys(set, removeA, removeB, insert)
        expect(keysToArray(batched)).toEqual(keysToArray(oneByOne))
        expect(batched.size).toBe(oneByOne.size)
        for (const chunk of batched.chunks) {
          expect(chunk.length).toBeGreaterThan(0)
          expect(chunk.length).toBeLessThanOrEqual(chunkKeysMax)
        }
        expect(keysToArray(set)).toEqual(sorted)
      }))
    expect(() => changedKeys(keysOf([1, 2]), 3, undefined, undefined)).toThrow(/not present/)
    expect(() => changedKeys(keysOf([1, 2]), 1, undefined, 2)).toThrow(/already present/)
  })

  it("refuse a duplicate insert, a missing remove and an out-of-place replace", () => {
    const set = keysOf([10, 20, 30])
    expect(() => insertKey(set, 20)).toThrow(/already present/)
    expect(() => removeKey(set, 25)).toThrow(/not present/)
    expect(() => replaceKey(set, 20, 31)).toThrow(/does not take the place/)
    expect(() => keysOf([2, 1])).toThrow(/ascend/)
  })
})

describe("persistent map (HAMT)", () => {
  it("behaves as a Map, and old versions never change", () => {
    const op = fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 300 }), fc.nat())
    fc.assert(fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
      let map = emptyMap<number>()
      const model = new Map<string, number>()
      const snapshots: Array<[typeof map, Map<string, number>]> = []
      for (const [set, k, value] of ops) {
        const key = `server-${k}`
        if (set) {
          map = mapSet(map, key, value)
          model.set(key, value)
        } else {
          map = mapRemove(map, key)
          model.delete(key)
        }
        if (snapshots.length < 10) snapshots.push([map, new Map(model)])
      }
      expect(map.size).toBe(model.size)
      expect(new Map(mapEntries(map))).toEqual(model)
      for (let k = 0; k <= 300; k += 7) {
        if (mapGet(map, `server-${k}`) !== model.get(`server-${k}`)) throw new Error(`key ${k}`)
      }
      for (const [old, m] of snapshots) expect(new Map(mapEntries(old))).toEqual(m)
    }))
  })

  it("collapses to empty after removing every key", () => {
    let map = emptyMap<number>()
    for (let i = 0; i < 2000; i++) map = mapSet(map, `k${i}`, i)
    for (let i = 0; i < 2000; i++) map = mapRemove(map, `k${i}`)
    expect([map.size, map.root]).toEqual([0, undefined])
    expect(mapRemove(map, "absent")).toBe(map)
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
  it("picks the same extent as a reference best fit and coalesces every free", () => {
    const op = fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 40 }), fc.nat())
    fc.assert(fc.property(fc.constantFrom(1, 2, 4), fc.array(op, { maxLength: 80 }),
      (alignMb, ops) => {
        let device: DeviceExtents = emptyDevice(256, alignMb)
        const live: Array<{ offsetMb: number; extentMb: number }> = []
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
