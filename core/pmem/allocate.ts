/**
 * Best-fit allocation of a request's volumes on the devices of one host, as `addPmemVolumes`
 * commits it and placement dry-runs it: the host's new devices and each volume's extent, or the
 * typed shortfall. The host value given is never changed.
 */
import { allocateExtent, extentMbFor, largestFreeMb } from "./extents.ts"
import { PmemInsufficientCapacity } from "./insufficient.ts"
import type { PmemVolumeRequest } from "./request.ts"
import type { DevicePmem, HostPmem } from "./state.ts"

/** Where a request's volumes went: the host's new devices, and each volume's extent. */
export interface Placed {
  readonly host: HostPmem
  readonly offsetsMb: ReadonlyArray<number>
  readonly extentsMb: ReadonlyArray<number>
}

/**
 * Best-fit allocation of every volume on its device (devices must exist). Per device, volumes
 * are placed largest first (ties in request order), which packs better than request order.
 */
export function allocateOnHost(
  host: HostPmem,
  volumes: ReadonlyArray<Pick<PmemVolumeRequest, "device" | "sizeMb">>,
): Placed | PmemInsufficientCapacity {
  if (volumes.length === 1) return allocateOne(host, volumes[0]!)
  const devices = host.devices.slice()
  const offsetsMb = new Array<number>(volumes.length).fill(-1)
  const extentsMb = new Array<number>(volumes.length).fill(0)
  for (let d = 0; d < devices.length; d++) {
    const before = devices[d]!
    const mine: number[] = []
    for (let i = 0; i < volumes.length; i++) {
      if (volumes[i]!.device !== before.name) continue
      mine.push(i)
      extentsMb[i] = extentMbFor(before.extents, volumes[i]!.sizeMb)
    }
    if (mine.length === 0) continue
    if (mine.length > 1) mine.sort((x, y) => extentsMb[y]! - extentsMb[x]! || x - y)
    let extents = before.extents
    for (const i of mine) {
      const extentMb = extentsMb[i]!
      const got = extentMb <= extents.sizeMb ? allocateExtent(extents, extentMb) : undefined
      if (got === undefined) return insufficient(host.host, before, mine.map((k) => extentsMb[k]!))
      extents = got.device
      offsetsMb[i] = got.offsetMb
    }
    devices[d] = {
      name: before.name,
      numaNode: before.numaNode,
      extents,
      volumeCount: before.volumeCount + mine.length,
    }
  }
  if (offsetsMb.includes(-1)) throw new Error("allocateOnHost: a volume names no device")
  return { host: { host: host.host, devices }, offsetsMb, extentsMb }
}

/** `allocateOnHost` for one volume: the same best fit, without the per-device grouping. */
function allocateOne(
  host: HostPmem,
  volume: Pick<PmemVolumeRequest, "device" | "sizeMb">,
): Placed | PmemInsufficientCapacity {
  const devices = host.devices
  let d = 0
  while (d < devices.length && devices[d]!.name !== volume.device) d++
  const before = devices[d]
  if (before === undefined) throw new Error("allocateOnHost: a volume names no device")
  const extentMb = extentMbFor(before.extents, volume.sizeMb)
  const got = extentMb <= before.extents.sizeMb
    ? allocateExtent(before.extents, extentMb)
    : undefined
  if (got === undefined) return insufficient(host.host, before, [extentMb])
  const after = devices.slice()
  after[d] = {
    name: before.name,
    numaNode: before.numaNode,
    extents: got.device,
    volumeCount: before.volumeCount + 1,
  }
  const placedHost = { host: host.host, devices: after }
  return { host: placedHost, offsetsMb: [got.offsetMb], extentsMb: [extentMb] }
}

function insufficient(
  host: string,
  device: DevicePmem,
  extentsMb: ReadonlyArray<number>,
): PmemInsufficientCapacity {
  const requestedMb = extentsMb.reduce((s, e) => s + e, 0)
  const largestFreeExtentMb = largestFreeMb(device.extents)
  return new PmemInsufficientCapacity({
    resource: `pmem:${device.name}`,
    requested: requestedMb,
    free: device.extents.freeMb,
    capacity: device.extents.sizeMb,
    host,
  }, {
    fragmentation: requestedMb <= device.extents.freeMb,
    largestFreeExtentMb,
  })
}
