// The host index's per-change refresh (core/cluster/host-index.ts): a fold skips recomputing an
// extreme the changed host left when the block's first or last host had the host's old columns
// (it still holds that extreme), and folds only the slots that moved into the superblock. These
// tests change hosts directly (createServer/deleteServer on a named host) over fleets of a few
// host kinds, so hosts alike one another and the blocks' first and last hosts change often, and
// hold every summary, superblock summary and reference copy to an index rebuilt from scratch.
import { Result } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { type ClusterState, createServer, deleteServer, scanOf, type ServerCreate }
  from "../core/cluster/index.ts"
import { blockStatCount, buildHostIndex, type HostIndex, recomputableSlots, recomputeSlots,
  runnerUpOf } from "../core/cluster/host-index.ts"
import { scanInputOf } from "../core/placement/fast.ts"
import { host } from "./builders.ts"
import { clusterOf } from "./placement-builders.ts"

const indexOf = (state: ClusterState, blockSize: number): HostIndex => {
  const input = scanInputOf(state)
  return buildHostIndex(input.index, input.zoneOf, input.zoneCount, state.inventory, blockSize)
}

/** Attaches an index with blocks of `blockSize` to the state's scan and returns it. */
const attached = (state: ClusterState, blockSize: number): HostIndex => {
  const index = indexOf(state, blockSize)
  scanOf(state).hostIndex = index
  return index
}

/**
 * The kept index equals one rebuilt from the state's columns, slot for slot (with `bounds`, each
 * runner-up bound is checked too).
 */
function expectRebuilt(state: ClusterState, kept: HostIndex, bounds = true): void {
  expect(scanOf(state).hostIndex).toBe(kept)
  const rebuilt = indexOf(state, kept.blockSize)
  expect([...kept.stats]).toEqual([...rebuilt.stats])
  expect([...kept.superStats]).toEqual([...rebuilt.superStats])
  expect([...kept.refColumns]).toEqual([...rebuilt.refColumns])
  if (!bounds) return
  // Each runner-up bound lies between the extreme and the extreme of the hosts but one holder.
  const slots = Int8Array.from(recomputableSlots)
  const best = new Float64Array(slots.length)
  const second = new Float64Array(slots.length)
  const outside: string[] = []
  for (let b = 0; b < kept.blockStart.length - 1; b++) {
    recomputeSlots(kept, scanOf(state), b, slots, slots.length, best, second)
    for (let c = 0; c < slots.length; c++) {
      const bound = runnerUpOf(kept, b, slots[c]!)
      const lo = Math.min(best[c]!, second[c]!)
      const hi = Math.max(best[c]!, second[c]!)
      if (!(bound >= lo && bound <= hi)) outside.push(`block ${b} slot ${slots[c]}: ${bound}`)
    }
  }
  expect(outside).toEqual([])
}

const server = (uuid: string, vcpus: number, ramMb: number, diskMb = 0): ServerCreate =>
  ({ uuid, kind: "server", vcpus, ramMb, disks: diskMb > 0 ? [{ sizeMb: diskMb }] : [],
    groups: [] })

describe("the host index refresh", () => {
  it("recomputes an extreme whose only other holder, the last host, changed before", () => {
    // h1 and h3 (the block's last host) are the 16-vCPU hosts. Once h3 is used, h1 alone holds
    // the block's 16 free vCPUs; when h1 is used too, the block's most free vCPUs drop to 15
    // (a stale copy of h3's columns would say h3 still holds 16).
    let state = clusterOf(host("h0").cpus(8).ram(8192), host("h1").cpus(16).ram(8192),
      host("h2").cpus(8).ram(8192), host("h3").cpus(16).ram(8192))
    const kept = attached(state, 4)
    const step = (r: Result.Result<{ state: ClusterState }, unknown>) => {
      if (Result.isFailure(r)) throw new Error("refused")
      state = r.success.state
      expectRebuilt(state, kept)
    }
    step(createServer(state, server("a", 1, 1024), "h3"))
    step(createServer(state, server("b", 1, 1024), "h1"))
    step(createServer(state, server("c", 1, 1024), "h0"))
    step(createServer(state, server("d", 1, 1024), "h2"))
    step(deleteServer(state, "a"))
    step(deleteServer(state, "c"))
    step(deleteServer(state, "b"))
  })

  it("property: any set of extremes recomputed together in one pass equals the summaries", () => {
    const kinds = [[4, 4096], [8, 8192], [6, 2048]] as const
    const scenario = fc.record({
      hosts: fc.array(fc.integer({ min: 0, max: kinds.length - 1 }), { minLength: 1,
        maxLength: 20 }),
      blockSize: fc.constantFrom(1, 3, 8),
      used: fc.array(fc.record({ pick: fc.nat(), vcpus: fc.integer({ min: 0, max: 4 }),
        ramMb: fc.constantFrom(0, 1024, 1536, 2048, 4096) }), { maxLength: 30 }),
      slots: fc.subarray([...recomputableSlots], { minLength: 1 }),
    })
    fc.assert(fc.property(scenario, (s) => {
      let state = clusterOf(...s.hosts.map((kind, k) =>
        host(`h${k}`).cpus(kinds[kind]![0]).ram(kinds[kind]![1])))
      s.used.forEach((u, k) => {
        const r = createServer(state, server(`s${k}`, u.vcpus, u.ramMb),
          `h${u.pick % s.hosts.length}`)
        if (Result.isSuccess(r)) state = r.success.state
      })
      const index = indexOf(state, s.blockSize)
      const out = new Float64Array(s.slots.length)
      for (let b = 0; b < index.blockStart.length - 1; b++) {
        recomputeSlots(index, scanOf(state), b, Int8Array.from(s.slots), s.slots.length, out)
        expect([...out]).toEqual(s.slots.map((slot) => index.stats[b * blockStatCount + slot]))
      }
    }))
  })

  it("property: kept summaries equal rebuilt ones through creates and deletes on chosen hosts", () => {
    const kinds = [[4, 4096, 0], [8, 8192, 0], [8, 8192, 100], [8, 4096, 50]] as const
    const scenario = fc.record({
      hosts: fc.array(fc.integer({ min: 0, max: kinds.length - 1 }), { minLength: 1,
        maxLength: 24 }),
      blockSize: fc.constantFrom(2, 3, 4, 8),
      ops: fc.array(fc.record({ del: fc.integer({ min: 0, max: 2 }).map((k) => k === 0),
        pick: fc.nat(), vcpus: fc.integer({ min: 0, max: 3 }),
        ramMb: fc.constantFrom(0, 512, 1024, 2048), diskMb: fc.constantFrom(0, 0, 10) }),
      { minLength: 1, maxLength: 40 }),
    })
    fc.assert(fc.property(scenario, (s) => {
      let state = clusterOf(...s.hosts.map((kind, k) => {
        const [cpus, ramMb, poolMb] = kinds[kind]!
        const h = host(`h${k}`).cpus(cpus).ram(ramMb)
        return poolMb > 0 ? h.diskPool("ECKD:P1", poolMb) : h
      }))
      const kept = attached(state, s.blockSize)
      const live: string[] = []
      s.ops.forEach((o, k) => {
        const del = o.del && live.length > 0
        const r = del
          ? deleteServer(state, live.splice(o.pick % live.length, 1)[0]!)
          : createServer(state, server(`s${k}`, o.vcpus, o.ramMb, o.diskMb),
            `h${o.pick % s.hosts.length}`)
        if (Result.isFailure(r)) return
        if (!del) live.push(`s${k}`)
        state = r.success.state
        expectRebuilt(state, kept, k === s.ops.length - 1)
      })
      expectRebuilt(state, kept)
    }))
  })
})
