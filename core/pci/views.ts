/**
 * The seed's JSON views (`pci-api.txt`), field for field: `os-pci` (list), `os-pci/detail`,
 * `os-pci/{id}` (`pci_device`), the server's `os-pci:pci_devices` and the hypervisor's
 * `pci_stats`. Timestamps are null and `deleted` false: the core keeps no clock and never
 * deletes a device row (a removed device shows `status: "removed"`).
 */
import { Result } from "effect"
import { NotFound } from "../errors.ts"
import type { PciDevType } from "../model/index.ts"
import { rmapGet } from "../persistent/map.ts"
import { locateDevice, type PciHostLayout } from "./layout.ts"
import { rvecGet } from "../persistent/vec.ts"
import {
  type DeviceUse, type PciState, type PciStatus, poolFreeAt, useAt, usesOf,
} from "./state.ts"

/** A row of `GET os-pci`. */
export type PciDeviceSummary = {
  readonly address: string
  readonly compute_node_id: number
  readonly id: number
  readonly product_id: string
  readonly status: PciStatus
  readonly vendor_id: string
}

/** A row of `GET os-pci/detail`, and the body of `GET os-pci/{id}`. */
export type PciDeviceDetail = {
  readonly address: string
  readonly compute_node_id: number
  readonly created_at: null
  readonly deleted: false
  readonly deleted_at: null
  readonly dev_id: string
  readonly dev_type: PciDevType
  readonly extra_info: Readonly<Record<string, string>>
  readonly id: number
  readonly instance_uuid: string | null
  readonly label: string
  readonly product_id: string
  readonly status: PciStatus
  readonly updated_at: null
  readonly vendor_id: string
}

/** A pool row of the hypervisor's `pci_stats`. */
export type PciPoolStat = {
  readonly count: number
  readonly vendor_id: string
  readonly product_id: string
  readonly numa_node: number | null
  readonly dev_type: PciDevType
  readonly extra_info: Readonly<Record<string, string>>
}

/** Which hosts a list covers: all, or one by name. */
export interface PciListFilter {
  readonly host?: string
}

function hostsFor(state: PciState, filter: PciListFilter):
  Result.Result<ReadonlyArray<PciHostLayout>, NotFound> {
  if (filter.host === undefined) return Result.succeed(state.layout.hosts)
  const index = state.layout.hostIndex.get(filter.host)
  if (index === undefined) return Result.fail(new NotFound({ resource: "Host", id: filter.host }))
  return Result.succeed([state.layout.hosts[index]!])
}

function summaryOf(host: PciHostLayout, d: number, use: DeviceUse): PciDeviceSummary {
  const info = host.devices[d]!
  return {
    address: info.address, compute_node_id: host.computeNodeId, id: info.id,
    product_id: info.productId, status: use.status, vendor_id: info.vendorId,
  }
}

function detailOf(host: PciHostLayout, d: number, use: DeviceUse): PciDeviceDetail {
  const info = host.devices[d]!
  const extraInfo = info.parent >= 0 && info.tags["phys_function"] === undefined
    ? { ...info.tags, phys_function: host.devices[info.parent]!.address } : info.tags
  return {
    address: info.address, compute_node_id: host.computeNodeId, created_at: null,
    deleted: false, deleted_at: null, dev_id: info.devId, dev_type: info.devType,
    extra_info: extraInfo, id: info.id, instance_uuid: use.holder, label: info.label,
    product_id: info.productId, status: use.status, updated_at: null, vendor_id: info.vendorId,
  }
}

function rows<R>(state: PciState, filter: PciListFilter,
  row: (host: PciHostLayout, d: number, use: DeviceUse) => R): Result.Result<R[], NotFound> {
  const hosts = hostsFor(state, filter)
  if (Result.isFailure(hosts)) return Result.fail(hosts.failure)
  const out: R[] = []
  for (const host of hosts.success) {
    const uses = usesOf(host, rvecGet(state.hosts, host.index))
    uses.forEach((use, d) => out.push(row(host, d, use)))
  }
  return Result.succeed(out)
}

/** `GET os-pci`: `{"pci_devices": [...]}` in id order; NotFound for an unknown host filter. */
export function pciList(state: PciState, filter: PciListFilter = {}):
  Result.Result<{ pci_devices: PciDeviceSummary[] }, NotFound> {
  return Result.map(rows(state, filter, summaryOf), (pci_devices) => ({ pci_devices }))
}

/** `GET os-pci/detail`: `{"pci_devices": [...]}` with every field of the seed's detail. */
export function pciDetail(state: PciState, filter: PciListFilter = {}):
  Result.Result<{ pci_devices: PciDeviceDetail[] }, NotFound> {
  return Result.map(rows(state, filter, detailOf), (pci_devices) => ({ pci_devices }))
}

/** `GET os-pci/{id}`: `{"pci_device": {...}}`; NotFound for an unknown id. */
export function pciShow(state: PciState, id: number):
  Result.Result<{ pci_device: PciDeviceDetail }, NotFound> {
  const at = locateDevice(state.layout, id)
  if (at === undefined) return Result.fail(new NotFound({ resource: "PCI device", id: String(id) }))
  const use = useAt(rvecGet(state.hosts, at.host.index), at.index)
  return Result.succeed({ pci_device: detailOf(at.host, at.index, use) })
}

/**
 * The server's `{"os-pci:pci_devices": [{"id": 1}, …]}`: the devices the instance holds (claimed
 * or allocated), in id order; an empty list for an instance that holds none.
 */
export function serverPciDevices(state: PciState, instanceUuid: string):
  { "os-pci:pci_devices": Array<{ id: number }> } {
  const holdings = rmapGet(state.instances, instanceUuid) ?? []
  const ids: Array<{ id: number }> = []
  for (const h of holdings) {
    const first = state.layout.hosts[h.host]!.firstId
    for (const d of h.devices) ids.push({ id: first + d })
  }
  return { "os-pci:pci_devices": ids }
}

/**
 * The hypervisor's `{"pci_stats": [...]}`: one row per pool with its count of available devices.
 * As in Nova, a pool with no available device is left out. NotFound for an unknown host.
 */
export function hypervisorPciStats(state: PciState, hostName: string):
  Result.Result<{ pci_stats: PciPoolStat[] }, NotFound> {
  const index = state.layout.hostIndex.get(hostName)
  if (index === undefined) return Result.fail(new NotFound({ resource: "Host", id: hostName }))
  const host = state.layout.hosts[index]!
  const usage = rvecGet(state.hosts, index)
  const stats: PciPoolStat[] = []
  for (const pool of host.pools) {
    const count = poolFreeAt(host, usage, pool.index)
    if (count === 0) continue
    stats.push({ count, vendor_id: pool.vendorId, product_id: pool.productId,
      numa_node: pool.numaNode, dev_type: pool.devType, extra_info: pool.tags })
  }
  return Result.succeed({ pci_stats: stats })
}
