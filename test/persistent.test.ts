import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { forkEditsMin } from "../core/persistent/reroot.ts"
import {
  type RMap, rmapEdit, rmapEmpty, rmapEntries, rmapGet, rmapRemove, rmapSet, rmapSize,
} from "../core/persistent/map.ts"
import { type RVec, rvecEdit, rvecGet, rvecOf, rvecSet, rvecSize, rvecToArray } from "../core/persistent/vec.ts"

/**
 * A step of a history over many versions: an edit of version `from` (by its position among the
 * versions made so far, so old versions get edited and branches appear), kept or aborted, or a
 * read of a version checked against its model.
 */
const step = fc.oneof(
  fc.record({
    kind: fc.constant("edit" as const),
    from: fc.nat(),
    writes: fc.array(fc.tuple(fc.nat(15), fc.option(fc.integer({ min: -3, max: 3 }))),
      { maxLength: 6 }),
    abort: fc.boolean(),
  }),
  fc.record({ kind: fc.constant("read" as const), at: fc.nat() }),
)

describe("rerootable vector", () => {
  it("every version reads as it was made, through edits of old versions, aborts and forks", () => {
    fc.assert(fc.property(fc.array(step, { maxLength: 200 }), (steps) => {
      const size = 16
      const versions: Array<RVec<number>> = [rvecOf(new Array<number>(size).fill(0))]
      const models: number[][] = [new Array<number>(size).fill(0)]
      for (const s of steps) {
        if (s.kind === "read") {
          const k = s.at % versions.length
          expect(rvecToArray(versions[k]!)).toEqual(models[k])
          continue
        }
        const k = s.from % versions.length
        const edit = rvecEdit(versions[k]!)
        const model = models[k]!.slice()
        for (const [index, value] of s.writes) {
          edit.set(index, value ?? 0)
          model[index] = value ?? 0
          expect(edit.get(index)).toBe(model[index])
        }
        if (s.abort) {
          edit.abort()
        } else {
          versions.push(edit.done())
          models.push(model)
        }
      }
      for (let k = versions.length - 1; k >= 0; k--) {
        expect(rvecToArray(versions[k]!)).toEqual(models[k])
      }
    }))
  })

  it("moves the first edit off a fresh lineage, forks after many edits, reads every version", () => {
    const versions = [rvecOf([0, 0, 0, 0])]
    for (let i = 1; i <= 3 * forkEditsMin; i++) {
      versions.push(rvecSet(versions[versions.length - 1]!, i % 4, i))
    }
    // The fresh lineage keeps only the first version; forks after it bound what a version keeps.
    expect(versions[1]!.lineage).not.toBe(versions[0]!.lineage)
    expect(versions[0]!.next).toBeNull()
    expect(new Set(versions.map((v) => v.lineage)).size).toBeGreaterThanOrEqual(3)
    for (let i = versions.length - 1; i >= 0; i -= 37) {
      const expected = [0, 0, 0, 0]
      for (let j = 1; j <= i; j++) expected[j % 4] = j
      expect(rvecToArray(versions[i]!)).toEqual(expected)
    }
  })

  it("reads and writes one slot, and refuses indices outside the vector", () => {
    const a = rvecOf([1, 2, 3])
    const b = rvecSet(a, 1, 20)
    expect(rvecGet(b, 1)).toBe(20)
    expect(rvecGet(a, 1)).toBe(2)
    expect(rvecSize(b)).toBe(3)
    expect(() => rvecGet(a, 3)).toThrow(RangeError)
    expect(() => rvecSet(a, -1, 0)).toThrow(RangeError)
  })

  it("gives the same version back for an edit that writes nothing new", () => {
    const a = rvecOf([1, 2, 3])
    const edit = rvecEdit(a)
    edit.set(0, 1)
    expect(edit.changed).toBe(false)
    expect(edit.done()).toBe(a)
  })

  it("allows one open edit per lineage, and none after it ended", () => {
    const a = rvecOf([1, 2])
    const b = rvecSet(a, 0, 5)
    const b2 = rvecSet(b, 1, 3)
    expect(b2.lineage).toBe(b.lineage)
    const edit = rvecEdit(b2)
    expect(() => rvecEdit(b2)).toThrow(/open edit/)
    expect(() => rvecGet(b, 0)).toThrow(/open edit/)
    edit.set(1, 7)
    const c = edit.done()
    expect(() => edit.set(0, 1)).toThrow(/ended/)
    expect([a, b, b2, c].map((v) => rvecToArray(v))).toEqual([[1, 2], [5, 2], [5, 3], [5, 7]])
  })
})

describe("rerootable map", () => {
  it("every version reads as it was made, through edits of old versions, aborts and forks", () => {
    fc.assert(fc.property(fc.array(step, { maxLength: 200 }), (steps) => {
      const versions: Array<RMap<number>> = [rmapEmpty()]
      const models: Array<Map<string, number>> = [new Map()]
      const sorted = (m: Map<string, number>) => [...m].sort((x, y) => x[0] < y[0] ? -1 : 1)
      for (const s of steps) {
        if (s.kind === "read") {
          const k = s.at % versions.length
          expect(rmapEntries(versions[k]!)).toEqual(sorted(models[k]!))
          expect(rmapSize(versions[k]!)).toBe(models[k]!.size)
          continue
        }
        const k = s.from % versions.length
        const edit = rmapEdit(versions[k]!)
        const model = new Map(models[k]!)
        for (const [slot, value] of s.writes) {
          const key = `k${slot}`
          edit.set(key, value ?? undefined)
          if (value === null) model.delete(key)
          else model.set(key, value)
          expect(edit.get(key)).toBe(model.get(key))
        }
        if (s.abort) {
          edit.abort()
        } else {
          versions.push(edit.done())
          models.push(model)
        }
      }
      for (let k = 0; k < versions.length; k++) {
        expect(rmapEntries(versions[k]!)).toEqual(sorted(models[k]!))
        for (let slot = 0; slot < 16; slot++) {
          expect(rmapGet(versions[k]!, `k${slot}`)).toBe(models[k]!.get(`k${slot}`))
        }
      }
    }))
  })

  it("sets and removes single keys; entries come by ascending key", () => {
    const a = rmapSet(rmapSet(rmapEmpty<number>(), "b", 2), "a", 1)
    const b = rmapRemove(a, "b")
    expect(rmapEntries(a)).toEqual([["a", 1], ["b", 2]])
    expect(rmapEntries(b)).toEqual([["a", 1]])
    expect(rmapRemove(b, "zz")).toBe(b)
    expect(() => rmapSet(a, "c", undefined as unknown as number)).toThrow(/undefined/)
  })
})
