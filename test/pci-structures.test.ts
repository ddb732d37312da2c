import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { hmapEmpty, hmapEntries, hmapGet, hmapRemove, hmapSet } from "../core/pci/hamt.ts"
import { editOf, pvecGet, pvecOf, pvecSet, pvecToArray } from "../core/pci/pvec.ts"

describe("persistent vector", () => {
  it("matches an array under any writes, and never changes an older version", () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 1100 }),
      fc.array(fc.tuple(fc.nat(), fc.integer()), { maxLength: 40 }),
      (size, writes) => {
        const model = Array.from({ length: size }, (_, i) => i)
        const v0 = pvecOf(model)
        const edit = editOf(v0)
        for (const [at, value] of writes) {
          edit.set(at % size, value)
          model[at % size] = value
        }
        const v1 = edit.done()
        const now = pvecToArray(v1)
        const old = pvecToArray(v0)
        expect(now.length).toBe(size)
        expect(old.length).toBe(size)
        for (let i = 0; i < size; i++) {
          if (now[i] !== model[i] || old[i] !== i) {
            expect([i, now[i], old[i]]).toEqual([i, model[i], i])
          }
        }
        if (writes.length > 0) {
          const [at] = writes[0]!
          expect(pvecGet(pvecSet(v1, at % size, -1), at % size)).toBe(-1)
          expect(pvecGet(v1, at % size)).toBe(model[at % size])
        }
      }))
  })

  it("refuses writes after done and indices outside the vector", () => {
    const edit = editOf(pvecOf([1, 2, 3]))
    const v = edit.done()
    expect(v).toBe(edit.done())
    expect(() => edit.set(0, 1)).toThrow(/already done/)
    expect(() => pvecGet(v, 3)).toThrow(RangeError)
  })
})

describe("persistent hash map", () => {
  const op = fc.oneof(
    fc.tuple(fc.constant("set" as const), fc.string({ maxLength: 4 }), fc.integer()),
    fc.tuple(fc.constant("remove" as const), fc.string({ maxLength: 4 }), fc.constant(0)),
  )
  it("matches a Map under any sets and removes, and never changes an older version", () => {
    fc.assert(fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
      const model = new Map<string, number>()
      let map = hmapEmpty<number>()
      const versions: Array<[typeof map, Map<string, number>]> = []
      for (const [kind, key, value] of ops) {
        if (kind === "set") {
          map = hmapSet(map, key, value)
          model.set(key, value)
        } else {
          map = hmapRemove(map, key)
          model.delete(key)
        }
        versions.push([map, new Map(model)])
      }
      for (const [version, expected] of versions) {
        expect(version.size).toBe(expected.size)
        expect(new Map(hmapEntries(version))).toEqual(expected)
        for (const [k, v] of expected) expect(hmapGet(version, k)).toBe(v)
      }
    }))
  })

  it("keeps keys whose hashes collide apart", () => {
    // "costarring" and "liquid" collide under 32-bit FNV-1a.
    let map = hmapSet(hmapSet(hmapEmpty<number>(), "costarring", 1), "liquid", 2)
    expect([hmapGet(map, "costarring"), hmapGet(map, "liquid")]).toEqual([1, 2])
    map = hmapRemove(map, "costarring")
    expect([hmapGet(map, "costarring"), hmapGet(map, "liquid"), map.size])
      .toEqual([undefined, 2, 1])
  })
})
