/**
 * The static side of PCI accounting, built once from the inventory and shared by every state:
 * each device's identity (global id, address, ids, type, parent PF, NUMA node, label, tags), its
 * pool, and each pool's members. Nothing here changes when devices are claimed or freed.
 */
import type { Host, Inventory } from "../inventory/index.ts"
import type { PciDevType } from "../model/index.ts"
import { type HostMatch, SpecMemo } from "./specs.ts"

/** Keys that are pool properties in their own right; an `extra_info` entry never shadows them. */
export const poolPropertyKeys = ["vendor_id", "product_id", "dev_type"] as const

/** One device as accounting sees it. Strings are lower-case (addresses, ids, dev_type kept). */
export interface PciDeviceInfo {
  /** Global id: 1, 2, … in inventory order (host order, then device order). */
  readonly id: number
  /** Position among its host's devices. */
  readonly index: number
  readonly address: string
  readonly vendorId: string
  readonly productId: string
  readonly devType: PciDevType
  /** Host-local index of the parent PF (VFs only), else -1. */
  readonly parent: number
  /** Host-local indices of the VFs (PFs only). */
  readonly children: ReadonlyArray<number>
  readonly numaNode: number | null
  readonly label: string
  /** The inventory's `extra_info` (tags such as `physical_network`). */
  readonly tags: Readonly<Record<string, string>>
  /** `pci_0000_04_10_0`. */
  readonly devId: string
  /** Host-local index of the device's pool. */
  readonly pool: number
  /** Position of the device among its pool's members. */
  readonly rank: number
  /** PFs only: the usage slot counting its held and allocated VFs (see `HostUsage`); else -1. */
  readonly counterSlot: number
}

/** A pool: devices alike in vendor, product, NUMA node, type and tags. */
export interface PciPoolInfo {
  readonly index: number
  readonly vendorId: string
  readonly productId: string
  readonly numaNode: number | null
  readonly devType: PciDevType
  readonly tags: Readonly<Record<string, string>>
  /** What a request spec is matched against: the key fields and the tags, values lower-cased. */
  readonly props: ReadonlyMap<string, string>
  /** Host-local device indices, ascending. */
  readonly members: ReadonlyArray<number>
  /**
   * Where the pool's availability bitmap sits in the host's usage slots: one bit per member (by
   * rank) in `wordCount` 32-bit words from `wordOffset`, and one bit per non-zero word in
   * `summaryCount` words from `summaryOffset`, so the first available member is found in
   * O(members / 1024) reads.
   */
  readonly wordOffset: number
  readonly wordCount: number
  readonly summaryOffset: number
  readonly summaryCount: number
}

/** One host's devices and pools. */
export interface PciHostLayout {
  /** The host's index in the inventory. */
  readonly index: number
  readonly name: string
  /** `host.index + 1`, as the seed's `compute_node_id`. */
  readonly computeNodeId: number
  /** Global id of the host's first device (ids run consecutively from it). */
  readonly firstId: number
  readonly devices: ReadonlyArray<PciDeviceInfo>
  readonly pools: ReadonlyArray<PciPoolInfo>
  /** Host NUMA cell id → socket. */
  readonly cellSocket: ReadonlyMap<number, number>
  /**
   * The host's usage is one vector of slots: device usages at [0, devices), pool free counts at
   * [freeOffset, freeOffset + pools), the pools' bitmap words, then one VF counter per PF, up to
   * `slotCount`.
   */
  readonly freeOffset: number
  readonly slotCount: number
  /** The layout's remembered request specs (shared by its hosts; see `./specs.ts`). */
  readonly specs: SpecMemo
  /** Spec id → this host's matching pools, filled on first use (a memo of layout facts). */
  readonly matched: Array<HostMatch | undefined>
}

/** The cluster's layout. */
export interface PciLayout {
  readonly hosts: ReadonlyArray<PciHostLayout>
  readonly hostIndex: ReadonlyMap<string, number>
  readonly deviceCount: number
}

/** Builds the layout of every host of `inventory`. */
export function layoutOf(inventory: Inventory): PciLayout {
  let nextId = 1
  const specs = new SpecMemo()
  const hosts = inventory.hosts.map((host) => {
    const layout = hostLayoutOf(host, nextId, specs)
    nextId += layout.devices.length
    return layout
  })
  return { hosts, hostIndex: inventory.hostIndex, deviceCount: nextId - 1 }
}

function hostLayoutOf(host: Host, firstId: number, memo: SpecMemo): PciHostLayout {
  const specs = host.pciDevices
  const byAddress = new Map(specs.map((d, k) => [d.address.toLowerCase(), k]))
  const children: number[][] = specs.map(() => [])
  const parents = specs.map((d, k) => {
    if (d.dev_type !== "type-VF" || d.parent_addr === undefined) return -1
    const parent = byAddress.get(d.parent_addr.toLowerCase())
    if (parent === undefined) throw new Error(`inventory: VF ${d.address} without its PF`)
    children[parent]!.push(k)
    return parent
  })
  const poolKeys = new Map<string, number>()
  type Draft = Omit<PciPoolInfo, "members" | "wordOffset" | "wordCount" | "summaryOffset" |
    "summaryCount"> & { members: number[] }
  const pools: Draft[] = []
  const devices = specs.map((d, k): PciDeviceInfo => {
    const vendorId = d.vendor_id.toLowerCase()
    const productId = d.product_id.toLowerCase()
    const numaNode = d.numa_node ?? null
    const tags = tagsOf(d.extra_info)
    const key = JSON.stringify([vendorId, productId, numaNode, d.dev_type,
      Object.entries(tags).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))])
    let pool = poolKeys.get(key)
    if (pool === undefined) {
      pool = pools.length
      poolKeys.set(key, pool)
      pools.push({ index: pool, vendorId, productId, numaNode, devType: d.dev_type, tags,
        props: propsOf(vendorId, productId, d.dev_type, tags), members: [] })
    }
    const rank = pools[pool]!.members.push(k) - 1
    const address = d.address.toLowerCase()
    return {
      id: firstId + k, index: k, address, vendorId, productId, devType: d.dev_type,
      parent: parents[k]!, children: children[k]!, numaNode,
      label: d.label ?? `label_${vendorId}_${productId}`, tags,
      devId: `pci_${address.replace(/[:.]/g, "_")}`, pool, rank, counterSlot: -1,
    }
  })
  const freeOffset = devices.length
  let bitWords = freeOffset + pools.length
  const placed = pools.map((p): PciPoolInfo => {
    const wordCount = Math.ceil(p.members.length / 32)
    const summaryCount = Math.ceil(wordCount / 32)
    const at = {
      wordOffset: bitWords, wordCount, summaryOffset: bitWords + wordCount, summaryCount,
    }
    bitWords += wordCount + summaryCount
    return { ...p, ...at }
  })
  const counted = devices.map((d) =>
    d.devType === "type-PF" ? { ...d, counterSlot: bitWords++ } : d)
  return {
    index: host.index, name: host.name, computeNodeId: host.index + 1, firstId, devices: counted,
    pools: placed, cellSocket: new Map(host.numaCells.map((c) => [c.id, c.socket])),
    freeOffset, slotCount: bitWords, specs: memo, matched: [],
  }
}

function tagsOf(extraInfo: Readonly<Record<string, string>> | undefined): Record<string, string> {
  const tags: Record<string, string> = {}
  if (extraInfo === undefined) return tags
  for (const [k, v] of Object.entries(extraInfo)) {
    if (!(poolPropertyKeys as ReadonlyArray<string>).includes(k)) tags[k] = v
  }
  return tags
}

function propsOf(vendorId: string, productId: string, devType: PciDevType,
  tags: Readonly<Record<string, string>>): ReadonlyMap<string, string> {
  const props = new Map<string, string>()
  for (const [k, v] of Object.entries(tags)) props.set(k, v.toLowerCase())
  props.set("vendor_id", vendorId)
  props.set("product_id", productId)
  props.set("dev_type", devType.toLowerCase())
  return props
}

/** The host and host-local index of global device `id`, or undefined. */
export function locateDevice(layout: PciLayout, id: number):
  { host: PciHostLayout; index: number } | undefined {
  if (!Number.isInteger(id) || id < 1 || id > layout.deviceCount) return undefined
  let lo = 0
  let hi = layout.hosts.length - 1
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1
    if (layout.hosts[mid]!.firstId <= id) lo = mid
    else hi = mid - 1
  }
  // Hosts without devices share a firstId with their successor; step to the one holding `id`.
  let h = lo
  while (layout.hosts[h]!.firstId + layout.hosts[h]!.devices.length <= id) h++
  const host = layout.hosts[h]!
  return { host, index: id - host.firstId }
}

/** The free counts and bitmaps of a host whose devices are all available, from `freeOffset`. */
export function fullPoolSlots(host: PciHostLayout): number[] {
  const words = new Array<number>(host.slotCount - host.freeOffset).fill(0)
  const at = (slot: number) => slot - host.freeOffset
  for (const p of host.pools) {
    words[at(host.freeOffset + p.index)] = p.members.length
    for (let w = 0; w < p.wordCount; w++) {
      const bits = Math.min(32, p.members.length - w * 32)
      words[at(p.wordOffset + w)] = bits === 32 ? -1 : (1 << bits) - 1
    }
    for (let w = 0; w < p.summaryCount; w++) {
      const bits = Math.min(32, p.wordCount - w * 32)
      words[at(p.summaryOffset + w)] = bits === 32 ? -1 : (1 << bits) - 1
    }
  }
  return words
}
