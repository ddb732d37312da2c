/**
 * Best-fit allocation of a request's volumes on the devices of one host, as `addPmemVolumes`
 * commits it and placement dry-runs it: the host's new devices and each volume's extent, or the
 * typed shortfall. The host value given is never changed.
 */
import {
  allocateExtent,
  bestFit,
  type DeviceExtents,
  extentMbFor,
  fitOffsetMb,
  largestFreeMb,
  takeExtent,
} from "./extents.ts"
import { PmemInsufficientCapacity } from "./insufficient.ts"
import type { PmemVolumeRequest } from "./request.ts"
import type { DevicePmem, HostPmem } from "./state.ts"

/** Where a request's volumes went: the host's new devices, and each volume's extent. */
export interface Placed {
  readonly host: HostPmem
  readonly offsetsMb: ReadonlyArray<number>
  readonly extentsMb: ReadonlyArray<number>
}

/** Where one volume went: the host's new devices and the volume's extent. */
export interface PlacedOne {
  readonly host: HostPmem
  readonly offsetMb: number
  readonly extentMb: number
}

/**
 * A device record. Every record is made here, with its fields in one order, so all share one
 * shape (the device's extent fields are flattened in: one object per device change).
 */
export function devicePmem(
  name: string,
  numaNode: number,
  volumeCount: number,
  extents: DeviceExtents,
): DevicePmem {
  return {
    name,
    numaNode,
    volumeCount,
    sizeMb: extents.sizeMb,
    alignMb: extents.alignMb,
    freeMb: extents.freeMb,
    free: extents.free,
  }
}

/**
 * Best-fit allocation of every volume on its device (devices must exist). Per device, volumes
 * are placed largest first (ties in request order), which packs better than request order.
 */
export function allocateOnHost(
  host: HostPmem,
  volumes: ReadonlyArray<Pick<PmemVolumeRequest, "device" | "sizeMb">>,
): Placed | PmemInsufficientCapacity {
  if (volumes.length === 1) {
    const one = placeOne(host, volumes[0]!)
    if (one instanceof PmemInsufficientCapacity) return one
    return { host: one.host, offsetsMb: [one.offsetMb], extentsMb: [one.extentMb] }
  }
  const devices = host.devices.slice()
  const offsetsMb = new Array<number>(volumes.length).fill(-1)
  const extentsMb = new Array<number>(volumes.length).fill(0)
  for (let d = 0; d < devices.length; d++) {
    const before = devices[d]!
    const mine: number[] = []
    for (let i = 0; i < volumes.length; i++) {
      if (volumes[i]!.device !== before.name) continue
      mine.push(i)
      extentsMb[i] = extentMbFor(before, volumes[i]!.sizeMb)
    }
    if (mine.length === 0) continue
    if (mine.length > 1) mine.sort((x, y) => extentsMb[y]! - extentsMb[x]! || x - y)
    let extents: DeviceExtents = before
    for (const i of mine) {
      const extentMb = extentsMb[i]!
      const got = extentMb <= extents.sizeMb ? allocateExtent(extents, extentMb) : undefined
      if (got === undefined) return insufficient(host.host, before, mine.map((k) => extentsMb[k]!))
      extents = got.device
      offsetsMb[i] = got.offsetMb
    }
    devices[d] = devicePmem(before.name, before.numaNode, before.volumeCount + mine.length, extents)
  }
  if (offsetsMb.includes(-1)) throw new Error("allocateOnHost: a volume names no device")
  return { host: { host: host.host, devices }, offsetsMb, extentsMb }
}

/** `allocateOnHost` for one volume: the same best fit, without the per-device grouping. */
export function placeOne(
  host: HostPmem,
  volume: Pick<PmemVolumeRequest, "device" | "sizeMb">,
): PlacedOne | PmemInsufficientCapacity {
  const devices = host.devices
  let d = 0
  while (d < devices.length && devices[d]!.name !== volume.device) d++
  const before = devices[d]
  if (before === undefined) throw new Error("allocateOnHost: a volume names no device")
  const extentMb = extentMbFor(before, volume.sizeMb)
  const fit = extentMb <= before.sizeMb ? bestFit(before, extentMb) : -1
  if (fit < 0) return insufficient(host.host, before, [extentMb])
  const after = devices.slice()
  after[d] = {
    name: before.name,
    numaNode: before.numaNode,
    volumeCount: before.volumeCount + 1,
    sizeMb: before.sizeMb,
    alignMb: before.alignMb,
    freeMb: before.freeMb - extentMb,
    free: takeExtent(before, fit, extentMb),
  }
  return { host: { host: host.host, devices: after }, offsetMb: fitOffsetMb(fit), extentMb }
}

function insufficient(
  host: string,
  device: DevicePmem,
  extentsMb: ReadonlyArray<number>,
): PmemInsufficientCapacity {
  const requestedMb = extentsMb.reduce((s, e) => s + e, 0)
  const largestFreeExtentMb = largestFreeMb(device)
  return new PmemInsufficientCapacity({
    resource: `pmem:${device.name}`,
    requested: requestedMb,
    free: device.freeMb,
    capacity: device.sizeMb,
    host,
  }, {
    fragmentation: requestedMb <= device.freeMb,
    largestFreeExtentMb,
  })
}
