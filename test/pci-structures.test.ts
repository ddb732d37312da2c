import fc from "fast-check"
import { describe, expect, it } from "vitest"
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
