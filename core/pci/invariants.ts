/**
 * An independent checker of a PCI state's invariants, written from the rules rather than from the
 * transition code, for property tests, the simulator and controllers that load persisted states.
 * It recomputes everything from the per-device usage; it returns the violations it finds (an
 * empty list when the state is sound).
 */
import { rmapEntries } from "../persistent/map.ts"
import { rvecGet } from "../persistent/vec.ts"
import { type PciState, poolFreeAt, usesOf, wordAt } from "./state.ts"

const held = (status: string) => status === "claimed" || status === "allocated"

/**
 * Checks: a device is held by at most one instance and the instance index agrees with the
 * devices; a PF and one of its VFs are never both held; a free device's status follows its
 * relatives; each pool's free count equals its available devices, and its bitmaps mark them.
 */
export function checkPciInvariants(state: PciState): string[] {
  const problems: string[] = []
  const indexed = new Map<string, string>()
  for (const [uuid, holdings] of rmapEntries(state.instances)) {
    if (holdings.length === 0) problems.push(`instance ${uuid} indexed with no holdings`)
    for (const h of holdings) {
      for (const d of h.devices) {
        const key = `${h.host}/${d}`
        const other = indexed.get(key)
        if (other !== undefined) problems.push(`device ${key} indexed for ${other} and ${uuid}`)
        indexed.set(key, uuid)
      }
    }
  }
  for (const host of state.layout.hosts) {
    const usage = rvecGet(state.hosts, host.index)
    const uses = usesOf(host, usage)
    const where = (d: number) => `host ${host.name} device ${host.devices[d]!.address}`
    uses.forEach((u, d) => {
      const key = `${host.index}/${d}`
      if (held(u.status) !== (u.holder !== null)) problems.push(`${where(d)}: ${u.status} ` +
        `with holder ${u.holder}`)
      if (u.holder !== null && indexed.get(key) !== u.holder) {
        problems.push(`${where(d)}: held by ${u.holder}, indexed for ${indexed.get(key)}`)
      }
      if (u.holder === null && indexed.has(key)) problems.push(`${where(d)}: free but indexed`)
      if (u.removalPending && u.holder === null) problems.push(`${where(d)}: removal pending, free`)
      const info = host.devices[d]!
      const relatives = info.parent >= 0 ? [info.parent] : info.children
      const relStatuses = relatives.map((r) => uses[r]!.status)
      if (info.counterSlot >= 0) {
        const packed = wordAt(usage, info.counterSlot)
        const heldVfs = relStatuses.filter(held).length
        const allocatedVfs = relStatuses.filter((st) => st === "allocated").length
        if (packed !== heldVfs + allocatedVfs * 65536) {
          problems.push(`${where(d)}: VF counter ${packed}, ${heldVfs} held, ` +
            `${allocatedVfs} allocated`)
        }
      }
      if (held(u.status) && relStatuses.some(held)) {
        problems.push(`${where(d)}: held together with its PF/VF relative`)
      }
      if (u.holder === null && u.status !== "removed") {
        const expected = relStatuses.includes("allocated") ? "unavailable"
          : relStatuses.includes("claimed") ? "unclaimable" : "available"
        if (u.status !== expected) problems.push(`${where(d)}: ${u.status}, expected ${expected}`)
      }
    })
    for (const pool of host.pools) {
      const available = pool.members.filter((d) => uses[d]!.status === "available").length
      const count = poolFreeAt(host, usage, pool.index)
      if (count !== available) {
        problems.push(`host ${host.name} pool ${pool.index}: count ${count}, ` +
          `${available} available`)
      }
      pool.members.forEach((d, rank) => {
        const word = wordAt(usage, pool.wordOffset + (rank >>> 5))
        if (((word >>> (rank & 31)) & 1) !== (uses[d]!.status === "available" ? 1 : 0)) {
          problems.push(`host ${host.name} pool ${pool.index}: bit of member ${rank} is wrong`)
        }
      })
      for (let w = 0; w < pool.wordCount; w++) {
        const nonEmpty = wordAt(usage, pool.wordOffset + w) !== 0
        const summary = wordAt(usage, pool.summaryOffset + (w >>> 5))
        if ((((summary >>> (w & 31)) & 1) === 1) !== nonEmpty) {
          problems.push(`host ${host.name} pool ${pool.index}: summary bit of word ${w} is wrong`)
        }
      }
    }
  }
  return problems
}

/** How many devices of the cluster are in each status (sums to the device count). */
export function pciStatusTotals(state: PciState): Record<string, number> {
  const totals: Record<string, number> = {}
  for (const host of state.layout.hosts) {
    for (const u of usesOf(host, rvecGet(state.hosts, host.index))) {
      totals[u.status] = (totals[u.status] ?? 0) + 1
    }
  }
  return totals
}
