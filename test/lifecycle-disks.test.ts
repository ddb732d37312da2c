import fc from "fast-check"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { decode } from "../core/decode.ts"
import { resolveDiskSize } from "../core/lifecycle/fields.ts"
import {
  GuestCreateRequest, guestCreate, guestCreateDisks, guestDelete, guestDeleteDisks,
} from "../core/lifecycle/guests.ts"
import type { CorralError } from "../core/errors.ts"
import { defaultSdkConfig, initialState, type SdkState, type Step } from "../core/sdk/state.ts"
import { host, inventoryOf } from "./builders.ts"

describe("disk sizes", () => {
  const sizes: ReadonlyArray<[string, "ECKD" | "FBA", number, number]> = [
    ["512M", "ECKD", 512 * 2 ** 20, 512],
    ["512m", "FBA", 512 * 2 ** 20, 512],
    ["1g", "ECKD", 2 ** 30, 1024],
    ["2G", "FBA", 2 ** 31, 2048],
    ["2000", "ECKD", 2000 * 737280, 1407],
    ["2000", "FBA", 2000 * 512, 1],
    ["1", "ECKD", 737280, 1],
  ]
  it.each(sizes)("%s on %s is %i bytes, %i MB of the pool", (size, kind, bytes, mb) => {
    expect(resolveDiskSize(size, kind)).toEqual({ sizeBytes: bytes, sizeMb: mb })
  })
})

const inv = inventoryOf(host("zvm1").diskPool("ECKD:P1", 4096).diskPool("FBA:F1", 1024))
const base = initialState({ ...defaultSdkConfig, host: inv.hosts[0]!, defaultDiskPool: "ECKD:P1" })

type Op =
  | { kind: "create"; id: number; sizes: Array<[string, string]> }
  | { kind: "delete"; id: number }
  | { kind: "addDisks"; id: number; sizes: Array<[string, string]> }
  | { kind: "dropDisk"; id: number; vdev: number }

const diskArb = fc.tuple(
  fc.oneof(fc.integer({ min: 1, max: 3000 }).map((n) => `${n}M`),
    fc.integer({ min: 1, max: 3 }).map((n) => `${n}g`),
    fc.integer({ min: 1, max: 3000 }).map(String)),
  fc.constantFrom("ECKD:P1", "FBA:F1"))
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("create" as const), id: fc.integer({ min: 0, max: 3 }),
    sizes: fc.array(diskArb, { maxLength: 3 }) }),
  fc.record({ kind: fc.constant("delete" as const), id: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ kind: fc.constant("addDisks" as const), id: fc.integer({ min: 0, max: 3 }),
    sizes: fc.array(diskArb, { minLength: 1, maxLength: 2 }) }),
  fc.record({ kind: fc.constant("dropDisk" as const), id: fc.integer({ min: 0, max: 3 }),
    vdev: fc.integer({ min: 0x100, max: 0x106 }) }),
)

function apply(s: SdkState, op: Op): Result.Result<Step<unknown>, CorralError> {
  const userid = `VM${op.id}`
  const disks = (sizes: Array<[string, string]>) =>
    sizes.map(([size, disk_pool]) => ({ size, disk_pool }))
  switch (op.kind) {
    case "create": {
      const r = decode(GuestCreateRequest, { userid, vcpus: 1, memory: 256,
        disk_list: disks(op.sizes) })
      if (Result.isFailure(r)) throw new Error(r.failure.message)
      return guestCreate(s, r.success)
    }
    case "delete": return guestDelete(s, userid)
    case "addDisks": return guestCreateDisks(s, { userid, disk_list: disks(op.sizes) })
    case "dropDisk": return guestDeleteDisks(s, { userid,
      disk_vdev_list: [op.vdev.toString(16).padStart(4, "0")] })
  }
}

describe("disk pool accounting", () => {
  it("usage is the sum of the guests' disks, never above capacity; errors change nothing", () => {
    fc.assert(fc.property(fc.array(opArb, { maxLength: 10 }), (ops) => {
      let s = base
      for (const op of ops) {
        const r = apply(s, op)
        if (Result.isFailure(r)) {
          if (!["NotFound", "Conflict", "InsufficientCapacity"].includes(r.failure._tag)) {
            throw new Error(`unexpected ${r.failure._tag}: ${r.failure.message}`)
          }
          continue
        }
        s = r.success.state
        for (const pool of s.config.host.diskPools) {
          let sum = 0
          for (const g of s.guests.values()) {
            for (const d of g.disks) if (d.pool === pool.name) sum += d.sizeMb
          }
          if (s.poolUsedMb.get(pool.name) !== sum || sum > pool.sizeMb) {
            throw new Error(`${pool.name}: usage ${s.poolUsedMb.get(pool.name)}, disks ${sum}`)
          }
        }
        for (const g of s.guests.values()) {
          if (new Set(g.disks.map((d) => d.vdev)).size !== g.disks.length) {
            throw new Error(`${g.userid} has a vdev twice`)
          }
        }
      }
      // the base state was never touched
      expect([...base.poolUsedMb.values()]).toEqual([0, 0])
      expect(base.guests.size).toBe(0)
    }))
  })
})
