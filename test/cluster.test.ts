import { Result } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  createServer,
  deleteGroup,
  deleteServer,
  emptyUsage,
  findGroup,
  fitOnHost,
  type HostUsage,
  hypervisorViews,
  type ClusterState,
  serverCount,
  usageAt,
  usageList,
  withHostStatus,
} from "../core/cluster/index.ts"
import { buildHostIndex } from "../core/cluster/host-index.ts"
import { topologyOf } from "../core/cluster/rules.ts"
import { buildScan, type ScanIndex, updateScanHost, updateScanUsage, usageWithin }
  from "../core/cluster/scan.ts"
import type { Inventory } from "../core/inventory/index.ts"
import { pciStateOf } from "../core/pci/index.ts"
import { schedule } from "../core/placement/index.ts"
import { host, inventoryOf } from "./builders.ts"
import { clusterOf, server, volume, withGroups } from "./placement-builders.ts"

function created(state: ClusterState, s: ReturnType<typeof server>, hostName: string) {
  const r = createServer(state, s.build(), hostName)
  if (Result.isFailure(r)) throw new Error(r.failure.message)
  return r.success.state
}

function failure(r: Result.Result<unknown, { _tag: string; message: string }>) {
  if (Result.isSuccess(r)) throw new Error("expected a failure")
  return r.failure
}

describe("createServer / deleteServer", () => {
  const base = () => clusterOf(
    host("h1").cpus(8).ram(16384).ratios(2, 1).diskPool("pool1", 100_000)
      .numa({ id: 0, cpus: 4, ramMb: 8192 }, { id: 1, cpus: 4, ramMb: 8192 }),
    host("h2").cpus(4).ram(8192).status("maintenance"),
  )

  it("reserves vCPUs, RAM, disk and NUMA shares, and releases exactly that", () => {
    const s0 = base()
    const s1 = created(s0, server("a").cpus(4).ram(4096).disk(20_000).numa(2), "h1")
    const view = hypervisorViews(s1)[0]!
    expect(view).toMatchObject({ vcpus: 16, vcpus_used: 4, memory_mb: 16384, memory_mb_used: 4096,
      local_gb: 97, local_gb_used: 20, running_vms: 1 })
    expect(usageAt(s1, 0).cellVcpusUsed).toEqual([2, 2])
    expect(usageAt(s1, 0).diskUsedMb).toEqual([20_000])
    expect(usageAt(s0, 0).vcpusUsed).toBe(0)
    const d = deleteServer(s1, "a")
    if (Result.isFailure(d)) throw d.failure
    expect(usageAt(d.success.state, 0)).toEqual(usageAt(s0, 0))
    expect(serverCount(d.success.state)).toBe(0)
  })

  const errors: Array<[string, (s: ClusterState) => ReturnType<typeof createServer>, string, RegExp]> = [
    ["an unknown host", (s) => createServer(s, server("a").build(), "nope"), "NotFound", /host nope/],
    ["a host in maintenance", (s) => createServer(s, server("a").build(), "h2"), "Conflict",
      /maintenance/],
    ["too many vCPUs", (s) => createServer(s, server("a").cpus(17).build(), "h1"),
      "InsufficientCapacity", /vcpus on h1: requested 17, free 16/],
    ["too much RAM", (s) => createServer(s, server("a").ram(16385).build(), "h1"),
      "InsufficientCapacity", /ramMb/],
    ["a disk larger than every pool", (s) => createServer(s, server("a").disk(100_001).build(), "h1"),
      "InsufficientCapacity", /disk/],
    ["a pool kind the host lacks", (s) =>
      createServer(s, server("a").disk(10, { kind: "ECKD" }).build(), "h1"), "InsufficientCapacity",
      /disk/],
    ["more NUMA cells than the host has", (s) => createServer(s, server("a").cpus(3).numa(3)
      .ram(3072).build(), "h1"), "InsufficientCapacity", /numa/],
    ["an uneven NUMA split", (s) => createServer(s, server("a").cpus(3).numa(2).build(), "h1"),
      "BadRequest", /numaCells/],
    ["an unknown group", (s) => createServer(s, server("a").groups("g").build(), "h1"),
      "NotFound", /server group g/],
    ["a volume with vCPUs", (s) => createServer(s, volume("v", 10).cpus(1).build(), "h1"),
      "BadRequest", /a volume/],
    ["negative RAM", (s) => createServer(s, server("a").ram(-1).build(), "h1"), "BadRequest",
      /ramMb/],
  ]
  it.each(errors)("rejects %s and leaves the state unchanged", (_, run, tag, message) => {
    const s0 = base()
    const before = JSON.stringify(usageList(s0))
    const e = failure(run(s0))
    expect(e._tag).toBe(tag)
    expect(e.message).toMatch(message)
    expect(JSON.stringify(usageList(s0))).toBe(before)
  })

  it("rejects a duplicate uuid and a delete of an unknown server", () => {
    const s1 = created(base(), server("a"), "h1")
    expect(failure(createServer(s1, server("a").build(), "h1"))._tag).toBe("AlreadyExists")
    expect(failure(deleteServer(s1, "b"))._tag).toBe("NotFound")
  })

  it("checks hard group rules on an explicit host choice", () => {
    const s0 = withGroups(clusterOf(host("h1"), host("h2")),
      { id: "anti", rule: "anti-affinity" }, { id: "aff", rule: "affinity" })
    const s1 = created(created(s0, server("a").groups("anti", "aff"), "h1"), server("b"), "h2")
    expect(failure(createServer(s1, server("c").groups("anti").build(), "h1")).message)
      .toMatch(/anti-affinity/)
    expect(failure(createServer(s1, server("d").groups("aff").build(), "h2")).message)
      .toMatch(/affinity/)
    expect(findGroup(s1, "anti")!.members).toEqual(["a"])
    expect(failure(deleteGroup(s1, "anti"))._tag).toBe("Conflict")
    const s2 = deleteServer(s1, "a")
    if (Result.isFailure(s2)) throw s2.failure
    expect(findGroup(s2.success.state, "anti")!.members).toEqual([])
    expect(Result.isSuccess(deleteGroup(s2.success.state, "anti"))).toBe(true)
  })

  it("sets a host's status: placement skips it, its servers stay, older states as were", () => {
    const s0 = created(base(), server("a").cpus(4), "h1")
    const s1 = withHostStatus(s0, 0, "maintenance")
    expect(s1.inventory.hosts[0]!.status).toBe("maintenance")
    expect(s0.inventory.hosts[0]!.status).toBe("up")
    expect(hypervisorViews(s1)[0]).toMatchObject({ state: "up", status: "disabled", vcpus_used: 4 })
    expect(failure(createServer(s1, server("b").build(), "h1"))._tag).toBe("Conflict")
    expect(failure(schedule(s1, { servers: [server("b").build()] }))._tag).toBe("NoValidHost")
    const s2 = withHostStatus(s1, 0, "up")
    expect(Result.isSuccess(schedule(s2, { servers: [server("b").build()] }))).toBe(true)
    expect(Result.isSuccess(createServer(s0, server("b").build(), "h1"))).toBe(true)
    expect(Result.isSuccess(deleteServer(s1, "a"))).toBe(true)
    expect(withHostStatus(s1, 0, "maintenance")).toBe(s1)
    expect(() => withHostStatus(s1, 2, "up")).toThrow(RangeError)
  })

  it("keeps an older state's numbers after a newer state was derived from it", () => {
    const s0 = base()
    const s1 = created(s0, server("a").cpus(4), "h1")
    created(s0, server("b").cpus(8), "h1")
    const s2 = created(s1, server("c").cpus(12), "h1")
    expect(usageAt(s2, 0).vcpusUsed).toBe(16)
    expect(failure(createServer(s2, server("d").build(), "h1"))._tag).toBe("InsufficientCapacity")
    expect(Result.isSuccess(createServer(s0, server("d").cpus(16).build(), "h1"))).toBe(true)
  })
})

// The scan row a commit or release writes (`updateScanUsage`, which reads no host record)
// equals what a full host rewrite (`updateScanHost`) writes, block summaries included.
const poolPrefixes = ["ECKD:", "FBA:", ""] as const

const fleet = fc.array(fc.record({
  cpus: fc.integer({ min: 1, max: 8 }),
  zone: fc.constantFrom("z1", "z2"),
  pools: fc.array(fc.record({ prefix: fc.constantFrom(...poolPrefixes),
    sizeMb: fc.integer({ min: 1, max: 1000 }) }), { maxLength: 4 }),
}), { minLength: 1, maxLength: 7 })

function inventoryFrom(hosts: ReadonlyArray<{ cpus: number; zone: string;
  pools: ReadonlyArray<{ prefix: string; sizeMb: number }> }>): Inventory {
  return inventoryOf(...hosts.map((h, i) => {
    const b = host(`h${i}`).cpus(h.cpus).ram(4096).zone(h.zone)
    h.pools.forEach((p, k) => b.diskPool(`${p.prefix}p${k}`, p.sizeMb))
    return b
  }))
}

const change = fc.record({
  host: fc.nat(),
  vcpus: fc.integer({ min: -2, max: 10 }),
  ramMb: fc.integer({ min: -2, max: 5000 }),
  disks: fc.array(fc.integer({ min: -2, max: 1100 }), { maxLength: 4 }),
})

/** The columns a usage change may touch, and the change log. */
function columnsOf(scan: ScanIndex): unknown {
  return { up: [...scan.up], freeVcpus: [...scan.freeVcpus], freeRamMb: [...scan.freeRamMb],
    maxFreeDiskMb: [...scan.maxFreeDiskMb], version: scan.version, log: [...scan.changeLog],
    stats: [...(scan.hostIndex?.stats ?? [])] }
}

describe("scan rows after a usage change", () => {
  it("property: updateScanUsage writes what updateScanHost does; usageWithin = capacities", () => {
    fc.assert(fc.property(fleet, fc.array(change, { maxLength: 24 }), (hosts, changes) => {
      const inventory = inventoryFrom(hosts)
      const pci = pciStateOf(inventory)
      const usage = inventory.hosts.map(emptyUsage)
      const topology = topologyOf(inventory)
      const byHost = buildScan(inventory, usage)
      const byUsage = buildScan(inventory, usage)
      for (const scan of [byHost, byUsage]) {
        scan.hostIndex = buildHostIndex(scan, topology.zoneOf, topology.zoneNames.length,
          inventory, 2)
      }
      for (const c of changes) {
        const h = inventory.hosts[c.host % inventory.hosts.length]!
        const next: HostUsage = { vcpusUsed: c.vcpus, ramMbUsed: c.ramMb,
          diskUsedMb: h.diskPools.map((_, k) => c.disks[k] ?? 0), cellVcpusUsed: [0],
          cellRamMbUsed: [0], instanceCount: 1 }
        const within = next.vcpusUsed >= 0 && next.ramMbUsed >= 0 &&
          next.vcpusUsed <= h.vcpuCapacity && next.ramMbUsed <= h.ramCapacityMb &&
          h.diskPools.every((p, k) => next.diskUsedMb[k]! >= 0 && next.diskUsedMb[k]! <= p.sizeMb)
        expect(usageWithin(byUsage, h.index, next)).toBe(within)
        updateScanHost(byHost, h, next, pci)
        updateScanUsage(byUsage, h.index, next, pci)
      }
      expect(columnsOf(byUsage)).toEqual(columnsOf(byHost))
    }))
  })

  it("a usage whose disk list does not match the host's pools is not within", () => {
    const inventory = inventoryOf(host("a").diskPool("p0", 10).diskPool("FBA:p1", 10))
    const scan = buildScan(inventory, inventory.hosts.map(emptyUsage))
    const u = { ...emptyUsage(inventory.hosts[0]!), diskUsedMb: [0] }
    expect(usageWithin(scan, 0, u)).toBe(false)
    expect(usageWithin(scan, 0, emptyUsage(inventory.hosts[0]!))).toBe(true)
  })
})

describe("a fit of one disk", () => {
  it("property: the fullest matching pool it fits (lowest index on ties), a shared frozen value",
    () => {
      fc.assert(fc.property(fleet, fc.integer({ min: 1, max: 1000 }),
        fc.constantFrom(undefined, "ECKD", "FBA", "zpool"),
        fc.array(fc.nat(1000), { maxLength: 4 }),
        (hosts, sizeMb, kind, used) => {
          const inventory = inventoryFrom(hosts)
          const h = inventory.hosts[0]!
          const usage: HostUsage = { ...emptyUsage(h),
            diskUsedMb: h.diskPools.map((p, k) => Math.min(p.sizeMb, used[k] ?? 0)) }
          const disk = kind === undefined ? { sizeMb } : { sizeMb, kind }
          const spec = { kind: "server" as const, vcpus: 1, ramMb: 1, disks: [disk], groups: [] }
          let best = -1
          h.diskPools.forEach((p, k) => {
            const free = p.sizeMb - usage.diskUsedMb[k]!
            const kindOf = p.name.startsWith("ECKD:") ? "ECKD"
              : p.name.startsWith("FBA:") ? "FBA" : "zpool"
            if (free < sizeMb || (kind !== undefined && kindOf !== kind)) return
            if (best < 0 || free < h.diskPools[best]!.sizeMb - usage.diskUsedMb[best]!) best = k
          })
          const fit = fitOnHost(h, usage, spec)
          expect(fit.fits).toBe(best >= 0)
          if (!fit.fits) return
          expect(fit.assignment).toEqual({ disks: [{ poolIndex: best,
            pool: h.diskPools[best]!.name, sizeMb }], cells: [] })
          expect(fitOnHost(h, usage, spec)).toBe(fit)
          expect(Object.isFrozen(fit.assignment.disks[0])).toBe(true)
        }))
    })
})
