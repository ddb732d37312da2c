/**
 * The Linux host probe: a real machine as a Corral inventory host, from procfs, sysfs and
 * `ndctl list` JSON.
 *
 * - CPUs and RAM: `/proc/cpuinfo` (`processor` lines), `/proc/meminfo` (`MemTotal`).
 * - NUMA cells: `/sys/devices/system/node/node<N>/{cpulist,meminfo}`; a cell's socket is the
 *   `physical_package_id` of its first CPU. Cells without CPUs or memory are left out (Corral's
 *   cells need both), and the host's vCPUs and RAM are then the sums over the cells kept, so the
 *   entry passes `decodeInventory`.
 * - PCI: `/sys/bus/pci/devices/<addr>/{vendor,device,class,numa_node,sriov_totalvfs,physfn}`: a
 *   device with `sriov_totalvfs` > 0 is a PF, one with a `physfn` link a VF (its parent is the
 *   link's target), any other a plain PCI device.
 * - pmem: namespaces from `ndctl list -N` (when ndctl is installed), sized down to their
 *   alignment.
 *
 * `root` lets tests point the probe at a fake tree (`<root>/proc/...`, `<root>/sys/...`).
 */
import { execFileSync } from "node:child_process"
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs"
import { hostname } from "node:os"
import { basename, join } from "node:path"
import { Result } from "effect"
import { decodeInventory, type Host } from "../../core/inventory/inventory.ts"

/** Bounds on what the probe reads. */
export const probeLimits = { numaNodesMax: 64, pciDevicesMax: 8_192, pmemDevicesMax: 64 } as const

/** Probe inputs. */
export interface ProbeOptions {
  /** Filesystem root holding `proc/` and `sys/` (default `/`). */
  readonly root?: string
  /** Host name for the entry (default: the machine's, made inventory-safe). */
  readonly name?: string
  /** `ndctl list -N` output; default: run ndctl if installed, else no pmem. */
  readonly ndctlJson?: string
}

/** A host entry in the inventory's JSON form. */
export interface ProbedHost {
  readonly name: string
  readonly vcpus: number
  readonly ramMb: number
  readonly cpuModel: string
  readonly numaCells: ReadonlyArray<{ id: number; cpus: number; ramMb: number; socket: number }>
  readonly pciDevices: ReadonlyArray<Record<string, unknown>>
  readonly pmemDevices: ReadonlyArray<{ name: string; sizeMb: number; alignMb: number;
    numaNode: number }>
}

const read = (path: string): string | undefined => {
  try { return readFileSync(path, "utf8") } catch { return undefined }
}

/** Counts the CPUs of a cpulist such as `0-3,8,10-11`. */
export function cpulistCount(list: string): number {
  let n = 0
  for (const part of list.trim().split(",")) {
    if (part === "") continue
    const [a, b] = part.split("-").map(Number) as [number, number | undefined]
    n += b === undefined ? 1 : b - a + 1
  }
  return n
}

function firstCpu(list: string): number | undefined {
  const m = /^(\d+)/.exec(list.trim())
  return m === null ? undefined : Number(m[1])
}

function numaCells(root: string) {
  const base = join(root, "sys/devices/system/node")
  if (!existsSync(base)) return []
  const nodes = readdirSync(base).filter((d) => /^node\d+$/.test(d))
    .map((d) => Number(d.slice(4))).sort((a, b) => a - b).slice(0, probeLimits.numaNodesMax)
  const cells = []
  for (const id of nodes) {
    const cpulist = read(join(base, `node${id}`, "cpulist")) ?? ""
    const mem = /MemTotal:\s+(\d+)\s*kB/.exec(read(join(base, `node${id}`, "meminfo")) ?? "")
    const cpus = cpulistCount(cpulist)
    const ramMb = mem === null ? 0 : Math.floor(Number(mem[1]) / 1024)
    if (cpus === 0 || ramMb === 0) continue
    const cpu = firstCpu(cpulist)
    const pkg = cpu === undefined ? undefined
      : read(join(root, `sys/devices/system/cpu/cpu${cpu}/topology/physical_package_id`))
    cells.push({ id, cpus, ramMb, socket: pkg === undefined ? 0 : Math.max(0, Number(pkg)) })
  }
  return cells
}

function hex4(text: string | undefined): string | undefined {
  const m = /^0x([0-9a-fA-F]{1,4})\s*$/.exec(text ?? "")
  return m === null ? undefined : m[1]!.toLowerCase().padStart(4, "0")
}

function pciDevices(root: string, cellIds: ReadonlySet<number>) {
  const base = join(root, "sys/bus/pci/devices")
  if (!existsSync(base)) return []
  const out: Array<Record<string, unknown>> = []
  const addresses = readdirSync(base).filter((a) => /^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/i
    .test(a)).sort().slice(0, probeLimits.pciDevicesMax)
  for (const address of addresses) {
    const dir = join(base, address)
    const vendor = hex4(read(join(dir, "vendor")))
    const product = hex4(read(join(dir, "device")))
    if (vendor === undefined || product === undefined) continue
    const numa = Number((read(join(dir, "numa_node")) ?? "-1").trim())
    const totalVfs = Number((read(join(dir, "sriov_totalvfs")) ?? "0").trim())
    let parent: string | undefined
    try { parent = basename(readlinkSync(join(dir, "physfn"))) } catch { parent = undefined }
    const devType = parent !== undefined ? "type-VF" : totalVfs > 0 ? "type-PF" : "type-PCI"
    const cls = /^0x([0-9a-fA-F]{6})/.exec(read(join(dir, "class")) ?? "")
    out.push({
      address, vendor_id: vendor, product_id: product, dev_type: devType,
      ...(parent === undefined ? {} : { parent_addr: parent }),
      numa_node: numa >= 0 && cellIds.has(numa) ? numa : null,
      ...(cls === null ? {} : { extra_info: { class: cls[1]!.toLowerCase() } }),
    })
  }
  // a VF whose PF is not listed (filtered or beyond the bound) would not decode: drop it
  const pfs = new Set(out.filter((d) => d["dev_type"] === "type-PF").map((d) => d["address"]))
  return out.filter((d) => d["dev_type"] !== "type-VF" || pfs.has(d["parent_addr"]))
}

function ndctlText(options: ProbeOptions): string | undefined {
  if (options.ndctlJson !== undefined) return options.ndctlJson
  if ((options.root ?? "/") !== "/") return undefined
  try {
    return execFileSync("ndctl", ["list", "-N", "-v"], { encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"] })
  } catch { return undefined }
}

interface NdctlNamespace { dev?: string; size?: number; align?: number; numa_node?: number;
  target_node?: number }

function pmemDevices(options: ProbeOptions, cellIds: ReadonlyArray<number>) {
  const text = ndctlText(options)
  if (text === undefined || text.trim() === "") return []
  const parsed = JSON.parse(text) as unknown
  const list = (Array.isArray(parsed) ? parsed : [parsed]) as NdctlNamespace[]
  const out = []
  for (const ns of list.slice(0, probeLimits.pmemDevicesMax)) {
    if (ns.dev === undefined || ns.size === undefined) continue
    const alignMb = Math.max(2, Math.floor((ns.align ?? 0) / (1024 * 1024)))
    const sizeMb = Math.floor(ns.size / (1024 * 1024) / alignMb) * alignMb
    if (sizeMb <= 0) continue
    const node = ns.numa_node ?? ns.target_node ?? cellIds[0] ?? 0
    out.push({ name: ns.dev, sizeMb, alignMb, numaNode: cellIds.includes(node) ? node
      : cellIds[0] ?? 0 })
  }
  return out
}

/** An inventory-safe host name: letters, digits, `_ . : @ -`, at most 63, starting alphanumeric. */
export function safeHostName(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9_.:@-]/g, "-").replace(/^[^A-Za-z0-9]+/, "")
    .slice(0, 63)
  return cleaned === "" ? "host" : cleaned
}

/** Probes the machine (or the tree at `options.root`) into an inventory host entry. */
export function probeHost(options: ProbeOptions = {}): ProbedHost {
  const root = options.root ?? "/"
  const cpuinfo = read(join(root, "proc/cpuinfo")) ?? ""
  const meminfo = read(join(root, "proc/meminfo")) ?? ""
  const cpuCount = (cpuinfo.match(/^processor\s*:/gm) ?? []).length
  const memKb = /MemTotal:\s+(\d+)\s*kB/.exec(meminfo)
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown"
  let cells = numaCells(root)
  if (cells.length === 0) {
    if (cpuCount === 0 || memKb === null) {
      throw new Error(`cannot read CPUs and memory under ${root}`)
    }
    cells = [{ id: 0, cpus: cpuCount, ramMb: Math.floor(Number(memKb[1]) / 1024), socket: 0 }]
  }
  const ids = cells.map((c) => c.id)
  return {
    name: safeHostName(options.name ?? hostname()),
    vcpus: cells.reduce((s, c) => s + c.cpus, 0),
    ramMb: cells.reduce((s, c) => s + c.ramMb, 0),
    cpuModel: model,
    numaCells: cells,
    pciDevices: pciDevices(root, new Set(ids)),
    pmemDevices: pmemDevices(options, ids),
  }
}

/**
 * The probed host as an inventory host spec (the fields `decodeInventory` accepts). Allocation
 * ratios are policy, not facts: they are left to the inventory's defaults.
 */
export function inventoryEntry(host: ProbedHost): Record<string, unknown> {
  const { cpuModel: _model, ...spec } = host
  return { ...spec }
}

/**
 * This machine (or the tree at `options.root`) as a decoded inventory `Host`, e.g. the `host`
 * of an SDK whose `host_get_info` then reports the real CPUs and memory. Extra fields (disk
 * pools, vswitches) come from `extra`. Throws if the entry does not decode (a probe bug).
 */
export function probedInventoryHost(
  options: ProbeOptions = {},
  extra: Record<string, unknown> = {},
): Host {
  const decoded = decodeInventory({ hosts: [{ ...inventoryEntry(probeHost(options)), ...extra }] })
  if (Result.isFailure(decoded)) {
    throw new Error(`probed host does not decode: ${decoded.failure.message}`)
  }
  return decoded.success.hosts[0]!
}
