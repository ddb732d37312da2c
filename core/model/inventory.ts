/**
 * The cluster inventory as declared in JSON: hosts with topology labels, NUMA cells, vCPU and RAM
 * with allocation ratios, disk pools, PCI devices, pmem devices and vswitches.
 *
 * Field names are Corral's (camelCase, units last) except where a seed fixes them: PCI devices use
 * Nova's names (`vendor_id`, `product_id`, `dev_type`, `numa_node`, `extra_info`), because the
 * seed's views and Nova's `passthrough_whitelist` speak that language.
 *
 * Schemas here only check shape and ranges; cross-field rules (unique names, a VF's parent PF, a
 * DRAM device that fits its NUMA cell) are checked by `core/inventory`'s `decodeInventory`.
 */
import { Effect, Schema } from "effect"

const withDefault = <S extends Schema.Top & { readonly DecodingServices: never }>(
  schema: S,
  value: S["Type"] & S["Encoded"],
) => schema.pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))

const PositiveInt = Schema.Int.check(Schema.isGreaterThan(0))
const NonNegativeInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))
const Name = Schema.String.check(
  Schema.isPattern(/^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,62}$/, {
    message: "a name of 1-63 letters, digits, '_', '.', ':', '@' or '-', not starting with punctuation",
  }),
)

/** Host status: `up` takes new work; `down` and `maintenance` do not. */
export const HostStatus = Schema.Literals(["up", "down", "maintenance"])
export type HostStatus = typeof HostStatus.Type

/** A NUMA cell: its pCPUs, its RAM and the socket it sits on. */
export const NumaCell = Schema.Struct({
  id: NonNegativeInt,
  cpus: PositiveInt,
  ramMb: PositiveInt,
  socket: Schema.optionalKey(NonNegativeInt),
})
export type NumaCell = typeof NumaCell.Type

/**
 * A disk pool. `ECKD:NAME` and `FBA:NAME` are z/VM pools (the connector's `disk_pool` syntax);
 * any other name is a zpool (the replica API's `root_zpool`/`disk_zpools`).
 */
export const DiskPool = Schema.Struct({
  name: Schema.String.check(
    Schema.isPattern(/^((ECKD|FBA):[A-Za-z0-9_$#@-]{1,8}|[A-Za-z0-9][A-Za-z0-9_.-]{0,62})$/, {
      message: "ECKD:NAME, FBA:NAME (NAME 1-8 characters) or a zpool name",
    }),
  ),
  sizeMb: PositiveInt,
})
export type DiskPool = typeof DiskPool.Type

/** The kind of a disk pool, from its name. */
export type DiskPoolKind = "ECKD" | "FBA" | "zpool"
export function diskPoolKind(name: string): DiskPoolKind {
  if (name.startsWith("ECKD:")) return "ECKD"
  if (name.startsWith("FBA:")) return "FBA"
  return "zpool"
}

/** A PCI address in domain:bus:slot.function form, e.g. `0000:04:10.0`. */
export const PciAddress = Schema.String.check(
  Schema.isPattern(/^[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$/, {
    message: "a PCI address like 0000:04:10.0",
  }),
)

const HexId = Schema.String.check(
  Schema.isPattern(/^[0-9a-fA-F]{4}$/, { message: "4 hexadecimal digits, e.g. 8086" }),
)

/** Nova's device types: a plain PCI device, an SR-IOV physical function, or a virtual function. */
export const PciDevType = Schema.Literals(["type-PCI", "type-PF", "type-VF"])
export type PciDevType = typeof PciDevType.Type

/**
 * Shorthand on a PF: `{"count": 16, "product_id": "154c"}` declares its VFs, at the PF's
 * domain and bus, slots from `firstSlot` (default 0x10) upwards, eight functions a slot.
 */
export const VfShorthand = Schema.Struct({
  count: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 256 })),
  product_id: HexId,
  firstSlot: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 31 }))),
})
export type VfShorthand = typeof VfShorthand.Type

/**
 * A PCI device as the inventory declares it. `parent_addr` is required for a VF and names its PF
 * on the same host. `extra_info` holds tags such as `physical_network`; requests match them.
 */
export const PciDeviceSpec = Schema.Struct({
  address: PciAddress,
  vendor_id: HexId,
  product_id: HexId,
  dev_type: withDefault(PciDevType, "type-PCI"),
  parent_addr: Schema.optionalKey(PciAddress),
  numa_node: Schema.optionalKey(Schema.NullOr(NonNegativeInt)),
  label: Schema.optionalKey(Schema.String),
  extra_info: Schema.optionalKey(Schema.Record(Schema.String, Schema.String)),
  vfs: Schema.optionalKey(VfShorthand),
})
export type PciDeviceSpec = typeof PciDeviceSpec.Type

/**
 * A persistent-memory device on a host. `DRAM` is carved out of the host's RAM on its NUMA cell
 * (that RAM is no longer offered to guests); any other name (e.g. `NVDIMM0`) is capacity of its
 * own. Extents are aligned to `alignMb`.
 */
export const PmemDeviceSpec = Schema.Struct({
  name: Name,
  sizeMb: PositiveInt.check(Schema.isLessThanOrEqualTo(2 ** 26, {
    message: "at most 67108864 MB (64 TiB) per pmem device",
  })),
  alignMb: withDefault(PositiveInt, 2),
  numaNode: withDefault(NonNegativeInt, 0),
})
export type PmemDeviceSpec = typeof PmemDeviceSpec.Type

/** A virtual switch a host offers to guest NICs. */
export const VswitchSpec = Schema.Struct({
  name: Name,
  vlanAware: withDefault(Schema.Boolean, false),
})
export type VswitchSpec = typeof VswitchSpec.Type

/** One host of the inventory. Allocation ratios default to Nova's initial ratios (4.0 and 1.0). */
export const HostSpec = Schema.Struct({
  name: Name,
  zone: withDefault(Name, "default"),
  rack: withDefault(Name, "default"),
  status: withDefault(HostStatus, "up"),
  vcpus: PositiveInt,
  ramMb: PositiveInt,
  cpuAllocationRatio: withDefault(Schema.Number.check(Schema.isGreaterThan(0)), 4),
  ramAllocationRatio: withDefault(Schema.Number.check(Schema.isGreaterThan(0)), 1),
  reservedVcpus: withDefault(NonNegativeInt, 0),
  reservedRamMb: withDefault(NonNegativeInt, 0),
  numaCells: Schema.optionalKey(Schema.Array(NumaCell)),
  diskPools: withDefault(Schema.Array(DiskPool), []),
  pciDevices: withDefault(Schema.Array(PciDeviceSpec), []),
  pmemDevices: withDefault(Schema.Array(PmemDeviceSpec), []),
  vswitches: withDefault(Schema.Array(VswitchSpec), []),
})
/** A host as decoded (defaults applied); `core/inventory` turns it into a `Host`. */
export type HostSpec = typeof HostSpec.Type

/** The inventory document: `{"hosts": [...]}`. */
export const InventorySpec = Schema.Struct({
  hosts: Schema.Array(HostSpec),
})
export type InventorySpec = typeof InventorySpec.Type
