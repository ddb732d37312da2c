// Properties of the pmem state under random operation sequences (1000 runs each, see setup.ts).
import { Result } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  addPmemVolumes,
  checkPmemInvariants,
  deletePmemVolumes,
  pinnedHost,
  pmemFits,
  pmemFreeExtents,
  pmemStateOf,
  type PmemState,
  pmemUsage,
  pmemVolumesOf,
  releaseServer,
  serverPmemVolumes,
} from "../core/pmem/index.ts"
import { host, inventoryOf } from "./builders.ts"

const inventory = inventoryOf(
  host("a").cpus(8).ram(8192).numa({ id: 0, cpus: 4, ramMb: 4096 }, { id: 1, cpus: 4, ramMb: 4096 })
    .pmem("DRAM", 256, 0, 2).pmem("NV0", 96, 0, 4).pmem("NV1", 60, 1, 1),
  host("b").pmem("NV0", 64, 0, 2),
)
const devicesOf: Record<string, ReadonlyArray<{ name: string; alignMb: number; sizeMb: number }>> =
  Object.fromEntries(inventory.hosts.map((h) => [h.name, h.pmemDevices]))
const servers = ["s0", "s1", "s2", "s3", "s4"]

type Op =
  | { kind: "add"; server: number; host: "a" | "b"; numaNode: number | undefined;
    volumes: Array<{ name: string; sizeMb: number; device: string; affinity: boolean }> }
  | { kind: "del"; server: number; picks: number[]; bogus: boolean }
  | { kind: "release"; server: number }

const addOp = fc.record({
  kind: fc.constant("add" as const),
  server: fc.nat(servers.length - 1),
  host: fc.constantFrom("a" as const, "a" as const, "b" as const),
  numaNode: fc.constantFrom(undefined, undefined, 0, 1),
  volumes: fc.array(fc.record({
    name: fc.constantFrom("v0", "v1", "v2", "v3", "v4", "v5"),
    sizeMb: fc.integer({ min: 1, max: 70 }),
    device: fc.constantFrom("DRAM", "NV0", "NV0", "NV1", "NVX"),
    affinity: fc.boolean(),
  }), { minLength: 1, maxLength: 4 }),
})
const delOp = fc.record({
  kind: fc.constant("del" as const),
  server: fc.nat(servers.length - 1),
  picks: fc.array(fc.nat(7), { minLength: 1, maxLength: 3 }),
  bogus: fc.boolean(),
})
const releaseOp = fc.record({
  kind: fc.constant("release" as const),
  server: fc.nat(servers.length - 1),
})
const ops = fc.array(fc.oneof({ weight: 4, arbitrary: addOp }, { weight: 2, arbitrary: delOp },
  { weight: 1, arbitrary: releaseOp }), { maxLength: 16 })

/** Applies one operation; `ok` says whether it succeeded (a failure leaves `state` as it was). */
function apply(state: PmemState, op: Op): { state: PmemState; ok: boolean } {
  const serverUuid = servers[op.server]!
  if (op.kind === "release") return { state: releaseServer(state, serverUuid).state, ok: true }
  if (op.kind === "add") {
    const ref = { serverUuid, host: op.host, numaNode: op.numaNode }
    const r = addPmemVolumes(state, ref, op.volumes)
    return Result.isSuccess(r) ? { state: r.success.state, ok: true } : { state, ok: false }
  }
  const held = serverPmemVolumes(state, serverUuid).map((v) => v.volume_uuid)
  const uuids = [...new Set(op.picks.filter((p) => p < held.length).map((p) => held[p]!))]
  if (op.bogus || uuids.length === 0) uuids.push("0000000f-0000-8000-8000-00000000ffff")
  const r = deletePmemVolumes(state, serverUuid, uuids)
  return Result.isSuccess(r) ? { state: r.success.state, ok: true } : { state, ok: false }
}

/** Everything a caller can observe of a state, as plain data. */
function observe(state: PmemState) {
  return JSON.stringify({
    usage: pmemUsage(state),
    volumes: pmemVolumesOf(state),
    pins: servers.map((s) => pinnedHost(state, s)),
    free: inventory.hosts.flatMap((h) => h.pmemDevices.map((d) => pmemFreeExtents(state, h.name,
      d.name))),
    next: state.nextSequence,
  })
}

function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(message)
}

function run(sequence: Op[], each: (before: PmemState, after: PmemState, ok: boolean) => void) {
  let state = pmemStateOf(inventory)
  for (const op of sequence) {
    const next = apply(state, op)
    each(state, next.state, next.ok)
    state = next.state
  }
  return state
}

describe("pmem state properties", () => {
  it("extents never overlap, never leave their device, and used + free = size", () => {
    fc.assert(fc.property(ops, (sequence) => {
      run(sequence, (_before, after) => {
        const problems = checkPmemInvariants(after)
        if (problems.length > 0) throw new Error(problems.join("\n"))
        const usedByDevice = new Map<string, number>()
        for (const p of pmemVolumesOf(after)) {
          const key = `${p.host}/${p.volume.device}`
          usedByDevice.set(key, (usedByDevice.get(key) ?? 0) + p.volume.extentMb)
        }
        for (const u of pmemUsage(after)) {
          check(u.usedMb + u.freeMb === u.sizeMb, `used + free ≠ size on ${u.device}`)
          check((usedByDevice.get(`${u.host}/${u.device}`) ?? 0) === u.usedMb, "used ≠ extents")
          check(u.largestFreeExtentMb <= u.freeMb, "largest free extent above free")
        }
      })
    }))
  })

  it("alignment always holds: offsets and lengths are multiples of the device's alignMb", () => {
    fc.assert(fc.property(ops, (sequence) => {
      run(sequence, (_before, after) => {
        for (const { host: h, volume: v } of pmemVolumesOf(after)) {
          const d = devicesOf[h]!.find((x) => x.name === v.device)!
          check(v.offsetMb % d.alignMb === 0 && v.extentMb % d.alignMb === 0,
            `volume ${v.uuid} at ${v.offsetMb} +${v.extentMb} not aligned to ${d.alignMb}`)
          check(v.extentMb >= v.sizeMb && v.extentMb - v.sizeMb < d.alignMb,
            `volume ${v.uuid}: extent ${v.extentMb} for size ${v.sizeMb}`)
          check(v.offsetMb + v.extentMb <= d.sizeMb, `volume ${v.uuid} leaves ${v.device}`)
        }
        for (const h of inventory.hosts) {
          for (const d of h.pmemDevices) {
            for (const e of pmemFreeExtents(after, h.name, d.name)) {
              check(e.offsetMb % d.alignMb === 0 && e.lengthMb % d.alignMb === 0,
                `free extent ${e.offsetMb} +${e.lengthMb} on ${d.name} not aligned`)
            }
          }
        }
      })
    }))
  })

  it("a failed operation leaves the state exactly unchanged, and no call mutates its input", () => {
    fc.assert(fc.property(ops, (sequence) => {
      let state = pmemStateOf(inventory)
      for (const op of sequence) {
        const before = observe(state)
        const next = apply(state, op)
        expect(observe(state)).toBe(before)
        if (!next.ok) expect(next.state).toBe(state)
        state = next.state
      }
    }))
  })

  it("a failed multi-volume add leaves the state exactly unchanged", () => {
    const big = fc.array(fc.record({
      name: fc.constantFrom("v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7"),
      sizeMb: fc.integer({ min: 1, max: 90 }),
      device: fc.constantFrom("DRAM", "NV0", "NV1"),
      affinity: fc.constant(false),
    }), { minLength: 2, maxLength: 8 })
    fc.assert(fc.property(ops, big, (sequence, volumes) => {
      const state = run(sequence, () => {})
      const before = observe(state)
      const r = addPmemVolumes(state, { serverUuid: "fresh", host: "a" }, volumes)
      expect(observe(state)).toBe(before)
      const fits = pmemFits(state, "a", volumes)
      const unique = new Set(volumes.map((v) => v.name)).size === volumes.length
      if (unique) expect(Result.isSuccess(r)).toBe(fits)
      if (Result.isSuccess(r)) expect(r.success.volumes).toHaveLength(volumes.length)
    }))
  })

  it("after deleting every volume each device is one free extent", () => {
    fc.assert(fc.property(ops, fc.boolean(), (sequence, byDelete) => {
      let state = run(sequence, () => {})
      for (const s of servers) {
        const held = serverPmemVolumes(state, s).map((v) => v.volume_uuid)
        if (byDelete && held.length > 0) {
          state = Result.getOrThrow(deletePmemVolumes(state, s, held)).state
        } else state = releaseServer(state, s).state
      }
      expect(pmemVolumesOf(state)).toEqual([])
      for (const h of inventory.hosts) {
        for (const d of h.pmemDevices) {
          expect(pmemFreeExtents(state, h.name, d.name))
            .toEqual([{ offsetMb: 0, lengthMb: d.sizeMb }])
        }
      }
      expect(servers.map((s) => pinnedHost(state, s))).toEqual(servers.map(() => undefined))
    }))
  })

  it("volume uuids are never reused in a history and are reproducible from the same state", () => {
    fc.assert(fc.property(ops, (sequence) => {
      const minted = new Set<string>()
      run(sequence, (before, after) => {
        const old = new Set(pmemVolumesOf(before).map((p) => p.volume.uuid))
        for (const p of pmemVolumesOf(after)) {
          if (old.has(p.volume.uuid)) continue
          expect(minted.has(p.volume.uuid)).toBe(false)
          minted.add(p.volume.uuid)
        }
      })
      expect(observe(run(sequence, () => {}))).toBe(observe(run(sequence, () => {})))
    }))
  })
})
