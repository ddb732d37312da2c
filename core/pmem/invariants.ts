/**
 * An invariant checker for a `PmemState`, for property tests and the simulator. It recomputes
 * everything from the volumes the servers hold and compares with the allocator's indexes, so it
 * does not trust the code it checks. Returns the violations found (empty when all hold).
 */
import { type Extent, extentIndexSizes, freeExtentsOf } from "./extents.ts"
import { recordHost, recordHosts, recordServers } from "./records.ts"
import { sequenceOfUuid } from "./ids.ts"
import { type DevicePmem, type PmemState, volumeKeyOf } from "./state.ts"

/** Every rule the state must keep; each violation is one line naming where it is. */
export function checkPmemInvariants(state: PmemState): string[] {
  const problems: string[] = []
  const used = new Map<string, Extent[]>()
  const counts = new Map<string, number>()
  const uuids = new Set<string>()
  for (const server of recordServers(state.records)) {
    const where = `server ${server.serverUuid}`
    if (server.volumes.length === 0) problems.push(`${where}: a record without volumes`)
    const names = new Set(server.volumes.map((v) => v.name))
    if (names.size !== server.volumes.length) problems.push(`${where}: duplicate volume names`)
    const n = server.volumes.length
    if (server.volumeKeys.length !== n) {
      problems.push(`${where}: ${server.volumeKeys.length} volume keys for ${n} volumes`)
    }
    server.volumes.forEach((v, k) => {
      if (server.volumeKeys[k] !== volumeKeyOf(v.sequence, v.name)) {
        problems.push(`${where}: volumeKeys[${k}] stale`)
      }
    })
    const affinityCount = server.volumes.filter((v) => v.affinity).length
    if (server.affinityCount !== affinityCount) {
      problems.push(`${where}: affinityCount ${server.affinityCount}, affinity volumes ` +
        `${affinityCount}`)
    }
    const affinity = affinityCount > 0
    if (affinity !== (server.pinnedNumaNode !== undefined)) {
      problems.push(`${where}: pinned ${String(server.pinnedNumaNode)} with affinity ${affinity}`)
    }
    const host = recordHost(state.records, server.host)?.devices
    for (const v of server.volumes) {
      if (uuids.has(v.uuid)) problems.push(`${where}: uuid ${v.uuid} is not unique`)
      if (sequenceOfUuid(v.uuid) !== v.sequence) {
        problems.push(`${where}: uuid ${v.uuid} does not carry sequence ${v.sequence}`)
      }
      uuids.add(v.uuid)
      const device = host?.find((d) => d.name === v.device)
      if (device === undefined) {
        problems.push(`${where}: volume ${v.uuid} on missing device ${server.host}/${v.device}`)
        continue
      }
      const align = device.alignMb
      if (v.extentMb !== Math.ceil(v.sizeMb / align) * align) {
        problems.push(`${where}: volume ${v.uuid} extent ${v.extentMb} MB for ${v.sizeMb} MB`)
      }
      if (v.affinity && device.numaNode !== server.pinnedNumaNode) {
        problems.push(`${where}: affinity volume ${v.uuid} off the pinned NUMA node`)
      }
      const key = `${server.host}/${v.device}`
      used.set(key, [...(used.get(key) ?? []), { offsetMb: v.offsetMb, lengthMb: v.extentMb }])
      counts.set(key, (counts.get(key) ?? 0) + 1)
    }
  }
  for (const host of recordHosts(state.records)) {
    for (const device of host.devices) {
      const key = `${host.host}/${device.name}`
      problems.push(...checkDevice(key, device, used.get(key) ?? [], counts.get(key) ?? 0))
    }
  }
  return problems
}

function checkDevice(
  key: string,
  device: DevicePmem,
  used: ReadonlyArray<Extent>,
  volumeCount: number,
): string[] {
  const problems: string[] = []
  const { sizeMb, alignMb } = device
  const free = freeExtentsOf(device)
  if (device.volumeCount !== volumeCount) {
    problems.push(`${key}: volumeCount ${device.volumeCount}, volumes ${volumeCount}`)
  }
  const freeMb = free.reduce((s, e) => s + e.lengthMb, 0)
  if (freeMb !== device.freeMb) {
    problems.push(`${key}: freeMb ${device.freeMb}, free extents add up to ${freeMb}`)
  }
  const bySize = extentIndexSizes(device).bySize
  if (bySize !== free.length) {
    problems.push(`${key}: ${bySize} extents by size, ${free.length} by offset`)
  }
  for (let i = 1; i < free.length; i++) {
    if (free[i - 1]!.offsetMb + free[i - 1]!.lengthMb === free[i]!.offsetMb) {
      problems.push(`${key}: free extents at ${free[i - 1]!.offsetMb} and ` +
        `${free[i]!.offsetMb} not coalesced`)
    }
  }
  const all = [...used, ...free].sort((a, b) => a.offsetMb - b.offsetMb)
  let atMb = 0
  for (const e of all) {
    if (e.offsetMb % alignMb !== 0 || e.lengthMb % alignMb !== 0 || e.lengthMb <= 0) {
      problems.push(`${key}: extent [${e.offsetMb}, +${e.lengthMb}) not aligned to ${alignMb}`)
    }
    if (e.offsetMb < atMb) problems.push(`${key}: extent at ${e.offsetMb} overlaps the one before`)
    if (e.offsetMb > atMb) {
      problems.push(`${key}: [${atMb}, ${e.offsetMb}) is neither used nor free`)
    }
    atMb = Math.max(atMb, e.offsetMb + e.lengthMb)
  }
  if (atMb !== sizeMb) problems.push(`${key}: extents end at ${atMb}, the device at ${sizeMb}`)
  return problems
}
