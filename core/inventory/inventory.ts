/**
 * Decoding and validating a cluster inventory, and the capacities derived from it.
 *
 * `decodeInventory` is the one door into Corral for a fleet description: it checks the shape with
 * Effect Schema, then the rules that span fields, and reports every problem with its path at once.
 * The returned `Inventory` is immutable; usage lives in the capability states (pci, pmem,
 * placement), never in the inventory.
 */
import { Result } from "effect"
import { decode } from "../decode.ts"
import { type BadRequest, type InputIssue, invalidAll } from "../errors.ts"
import {
  type HostSpec,
  InventorySpec,
  type NumaCell,
  type PciDeviceSpec,
} from "../model/inventory.ts"

/** A NUMA cell with what it offers guests once `DRAM` pmem has been carved out of it. */
export interface HostNumaCell extends NumaCell {
  readonly socket: number
  /** RAM of this cell given to `DRAM` pmem devices. */
  readonly dramPmemMb: number
}

/** A validated host: the spec with NUMA cells filled in and its guest capacities derived. */
export interface Host extends Omit<HostSpec, "numaCells"> {
  /** Position in `Inventory.hosts`; stable for the inventory's life. */
  readonly index: number
  readonly numaCells: ReadonlyArray<HostNumaCell>
  /** vCPUs offered to guests: (vcpus − reservedVcpus) × cpuAllocationRatio, floored. */
  readonly vcpuCapacity: number
  /** RAM offered to guests: (ramMb − reservedRamMb − DRAM pmem) × ramAllocationRatio, floored. */
  readonly ramCapacityMb: number
  /** RAM given to `DRAM`-backed pmem devices (no longer offered to guests). */
  readonly dramPmemMb: number
}

/** A validated inventory. `hostIndex` maps a host name to its position in `hosts`. */
export interface Inventory {
  readonly hosts: ReadonlyArray<Host>
  readonly hostIndex: ReadonlyMap<string, number>
}

/** Bounds on an inventory document, so a hostile file cannot exhaust memory. */
export const inventoryLimits = {
  hostsMax: 100_000,
  pciDevicesPerHostMax: 8_192,
  pmemDevicesPerHostMax: 64,
  numaCellsPerHostMax: 64,
} as const

/**
 * Decodes and validates an inventory document. Every problem is reported, each with its path
 * (`hosts[2].pciDevices[5].parent_addr`) and what was expected.
 */
export function decodeInventory(input: unknown): Result.Result<Inventory, BadRequest> {
  const decoded = decode(InventorySpec, input)
  if (Result.isFailure(decoded)) return Result.fail(decoded.failure)
  const expanded = expandVfShorthands(decoded.success)
  const issues = [...expanded.issues, ...checkInventory(expanded.spec)]
  if (issues.length > 0) return Result.fail(invalidAll(issues))
  return Result.succeed(buildInventory(expanded.spec))
}

/**
 * Replaces each PF's `vfs` shorthand by the VF devices it declares, placed right after the PF
 * (so paths of later devices shift; the message names the PF the VF came from).
 */
function expandVfShorthands(spec: InventorySpec): { spec: InventorySpec; issues: InputIssue[] } {
  const issues: InputIssue[] = []
  const hosts = spec.hosts.map((host, i) => {
    if (!host.pciDevices.some((d) => d.vfs !== undefined)) return host
    const devices: PciDeviceSpec[] = []
    host.pciDevices.forEach((d, k) => {
      const { vfs, ...device } = d
      devices.push(device)
      if (vfs === undefined) return
      const path = `hosts[${i}].pciDevices[${k}].vfs`
      if (d.dev_type !== "type-PF") {
        issues.push({ path, message: `vfs only on a type-PF device, not ${d.dev_type}` })
        return
      }
      const [domain, bus] = d.address.split(":") as [string, string, string]
      const firstSlot = vfs.firstSlot ?? 0x10
      if (firstSlot + Math.ceil(vfs.count / 8) > 32) {
        issues.push({ path, message: `${vfs.count} VFs from slot ${firstSlot} fit in slots 0-31` })
        return
      }
      for (let v = 0; v < vfs.count; v++) {
        const slot = (firstSlot + Math.floor(v / 8)).toString(16).padStart(2, "0")
        devices.push({
          ...device,
          address: `${domain}:${bus}:${slot}.${v % 8}`,
          product_id: vfs.product_id,
          dev_type: "type-VF",
          parent_addr: d.address,
        })
      }
    })
    return { ...host, pciDevices: devices }
  })
  return { spec: { hosts }, issues }
}

/** Looks a host up by name. */
export function findHost(inventory: Inventory, name: string): Host | undefined {
  const index = inventory.hostIndex.get(name)
  return index === undefined ? undefined : inventory.hosts[index]
}

function checkInventory(spec: InventorySpec): InputIssue[] {
  const issues: InputIssue[] = []
  if (spec.hosts.length > inventoryLimits.hostsMax) {
    issues.push({ path: "hosts", message: `at most ${inventoryLimits.hostsMax} hosts` })
    return issues
  }
  const firstByName = new Map<string, number>()
  spec.hosts.forEach((host, i) => {
    const path = `hosts[${i}]`
    const first = firstByName.get(host.name)
    if (first !== undefined) {
      issues.push({
        path: `${path}.name`,
        message: `a unique host name; "${host.name}" is already hosts[${first}]`,
      })
    } else firstByName.set(host.name, i)
    issues.push(...checkHost(host, path))
  })
  return issues
}

function checkHost(host: HostSpec, path: string): InputIssue[] {
  const issues: InputIssue[] = []
  if (host.reservedVcpus >= host.vcpus) {
    issues.push({ path: `${path}.reservedVcpus`, message: `fewer than vcpus (${host.vcpus})` })
  }
  const cells = host.numaCells ?? [{ id: 0, cpus: host.vcpus, ramMb: host.ramMb }]
  issues.push(...checkNumaCells(host, cells, path))
  const cellIds = new Set(cells.map((c) => c.id))
  issues.push(...checkPciDevices(host, cellIds, path))
  issues.push(...checkPmemDevices(host, cells, path))
  issues.push(...uniqueNames(host.diskPools, `${path}.diskPools`, "disk pool"))
  issues.push(...uniqueNames(host.vswitches, `${path}.vswitches`, "vswitch"))
  const dramMb = host.pmemDevices.filter((d) => d.name === "DRAM")
    .reduce((sum, d) => sum + d.sizeMb, 0)
  if (host.reservedRamMb + dramMb >= host.ramMb) {
    issues.push({
      path: `${path}.reservedRamMb`,
      message: `reservedRamMb (${host.reservedRamMb}) plus DRAM pmem (${dramMb} MB) ` +
        `below ramMb (${host.ramMb})`,
    })
  }
  return issues
}

function checkNumaCells(
  host: HostSpec,
  cells: ReadonlyArray<NumaCell>,
  path: string,
): InputIssue[] {
  const issues: InputIssue[] = []
  if (cells.length === 0 || cells.length > inventoryLimits.numaCellsPerHostMax) {
    issues.push({
      path: `${path}.numaCells`,
      message: `1 to ${inventoryLimits.numaCellsPerHostMax} NUMA cells`,
    })
    return issues
  }
  const seen = new Set<number>()
  cells.forEach((cell, j) => {
    if (seen.has(cell.id)) {
      issues.push({ path: `${path}.numaCells[${j}].id`, message: `a unique cell id; ${cell.id} repeats` })
    }
    seen.add(cell.id)
  })
  const cpus = cells.reduce((s, c) => s + c.cpus, 0)
  const ramMb = cells.reduce((s, c) => s + c.ramMb, 0)
  if (cpus !== host.vcpus) {
    issues.push({
      path: `${path}.numaCells`,
      message: `cells whose cpus add up to vcpus (${host.vcpus}); they add up to ${cpus}`,
    })
  }
  if (ramMb !== host.ramMb) {
    issues.push({
      path: `${path}.numaCells`,
      message: `cells whose ramMb add up to ramMb (${host.ramMb}); they add up to ${ramMb}`,
    })
  }
  return issues
}

function checkPciDevices(host: HostSpec, cellIds: ReadonlySet<number>, path: string): InputIssue[] {
  const issues: InputIssue[] = []
  const devices = host.pciDevices
  if (devices.length > inventoryLimits.pciDevicesPerHostMax) {
    return [{
      path: `${path}.pciDevices`,
      message: `at most ${inventoryLimits.pciDevicesPerHostMax} PCI devices per host`,
    }]
  }
  const byAddress = new Map<string, number>()
  devices.forEach((d, k) => {
    const address = d.address.toLowerCase()
    const first = byAddress.get(address)
    if (first !== undefined) {
      issues.push({
        path: `${path}.pciDevices[${k}].address`,
        message: `a unique PCI address on the host; ${d.address} is already pciDevices[${first}]`,
      })
    } else byAddress.set(address, k)
  })
  devices.forEach((d, k) => {
    const at = `${path}.pciDevices[${k}]`
    if (d.numa_node !== undefined && d.numa_node !== null && !cellIds.has(d.numa_node)) {
      issues.push({ path: `${at}.numa_node`, message: `a NUMA cell of the host; ${d.numa_node} is not one` })
    }
    if (d.dev_type !== "type-VF") {
      if (d.parent_addr !== undefined) {
        issues.push({ path: `${at}.parent_addr`, message: `no parent_addr on a ${d.dev_type} device` })
      }
      return
    }
    if (d.parent_addr === undefined) {
      issues.push({ path: `${at}.parent_addr`, message: "the address of this VF's parent PF" })
      return
    }
    const parent = byAddress.get(d.parent_addr.toLowerCase())
    if (parent === undefined || devices[parent]!.dev_type !== "type-PF") {
      issues.push({
        path: `${at}.parent_addr`,
        message: `a type-PF device on the same host; ${d.parent_addr} is ` +
          (parent === undefined ? "missing" : `a ${devices[parent]!.dev_type}`),
      })
    }
  })
  return issues
}

function checkPmemDevices(
  host: HostSpec,
  cells: ReadonlyArray<NumaCell>,
  path: string,
): InputIssue[] {
  const issues: InputIssue[] = []
  if (host.pmemDevices.length > inventoryLimits.pmemDevicesPerHostMax) {
    return [{
      path: `${path}.pmemDevices`,
      message: `at most ${inventoryLimits.pmemDevicesPerHostMax} pmem devices per host`,
    }]
  }
  issues.push(...uniqueNames(host.pmemDevices, `${path}.pmemDevices`, "pmem device"))
  host.pmemDevices.forEach((d, k) => {
    const at = `${path}.pmemDevices[${k}]`
    const cell = cells.find((c) => c.id === d.numaNode)
    if (cell === undefined) {
      issues.push({ path: `${at}.numaNode`, message: `a NUMA cell of the host; ${d.numaNode} is not one` })
      return
    }
    if (d.sizeMb % d.alignMb !== 0) {
      issues.push({ path: `${at}.sizeMb`, message: `a multiple of alignMb (${d.alignMb})` })
    }
    if (d.name === "DRAM" && d.sizeMb >= cell.ramMb) {
      issues.push({
        path: `${at}.sizeMb`,
        message: `a DRAM device smaller than the RAM of NUMA cell ${cell.id} (${cell.ramMb} MB)`,
      })
    }
  })
  return issues
}

function uniqueNames(
  items: ReadonlyArray<{ readonly name: string }>,
  path: string,
  what: string,
): InputIssue[] {
  const issues: InputIssue[] = []
  const seen = new Set<string>()
  items.forEach((item, k) => {
    if (seen.has(item.name)) {
      issues.push({ path: `${path}[${k}].name`, message: `a unique ${what} name; "${item.name}" repeats` })
    }
    seen.add(item.name)
  })
  return issues
}

function buildInventory(spec: InventorySpec): Inventory {
  const hosts = spec.hosts.map((h, index) => buildHost(h, index))
  return { hosts, hostIndex: new Map(hosts.map((h) => [h.name, h.index])) }
}

function buildHost(spec: HostSpec, index: number): Host {
  const cells = spec.numaCells ?? [{ id: 0, cpus: spec.vcpus, ramMb: spec.ramMb }]
  // Object.assign, not a spread followed by more properties: V8 gives each object made that way
  // a hidden class of its own, and every later read of a host field would miss the caches.
  const numaCells = cells.map((c) => Object.assign({}, c, {
    socket: c.socket ?? c.id,
    dramPmemMb: spec.pmemDevices
      .filter((d) => d.name === "DRAM" && d.numaNode === c.id)
      .reduce((s, d) => s + d.sizeMb, 0),
  }))
  const dramPmemMb = numaCells.reduce((s, c) => s + c.dramPmemMb, 0)
  return Object.assign({}, spec, {
    index,
    numaCells,
    dramPmemMb,
    vcpuCapacity: Math.floor((spec.vcpus - spec.reservedVcpus) * spec.cpuAllocationRatio),
    ramCapacityMb: Math.floor(
      (spec.ramMb - spec.reservedRamMb - dramPmemMb) * spec.ramAllocationRatio,
    ),
  })
}
