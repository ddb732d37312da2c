import { Clock, Effect } from "effect"
import { describe, expect, it } from "vitest"
import { connectorResult, type SdkFailure } from "../core/sdk/connector.ts"
import { expectBadRequest, simSdk, type SimSdk } from "./sdk-harness.ts"

const vm = (userid = "VM1", extra: Record<string, unknown> = {}) =>
  ({ userid, vcpus: 2, memory: 1024, ...extra })

describe("guest_create / guest_delete / guest_list", () => {
  it("creates a guest off, with its disks out of the pools and the root disk at 0100", () => {
    const t = simSdk()
    const disks = t.ok(t.sdk.guest_create(vm("vm1", { disk_list: [
      { size: "1g", is_boot_disk: true, disk_pool: "ECKD:POOL1" },
      { size: "200000", disk_pool: "FBA:FBA1", format: "ext3" },
    ] })))
    expect(disks).toEqual([
      { vdev: "0100", size: "1g", disk_pool: "ECKD:POOL1", is_boot_disk: true },
      { vdev: "0101", size: "200000", disk_pool: "FBA:FBA1", is_boot_disk: false },
    ])
    expect(t.ok(t.sdk.guest_list())).toEqual(["VM1"])
    expect(t.ok(t.sdk.guest_get_power_state("vm1"))).toBe("off")
    // 200000 FBA blocks of 512 bytes = 97.66 MiB → 98 MB taken from FBA1 (0 GB used shows as 1)
    expect(t.ok(t.sdk.host_diskpool_get_info("FBA:FBA1"))).toEqual(
      { disk_total: 1, disk_used: 1, disk_available: 0 })
    expect(t.ok(t.sdk.host_diskpool_get_info())).toEqual(
      { disk_total: 10, disk_used: 1, disk_available: 9 })
    expect(t.driver.userids()).toEqual(["VM1"])
  })

  it("uses the configured default disk pool and user profile", () => {
    const t = simSdk()
    t.ok(t.sdk.guest_create(vm("VM1", { disk_list: [{ size: "2000" }] })))
    const info = t.ok(t.sdk.guest_get_definition_info("VM1"))
    expect(info.user_direct).toContain("INCLUDE OSDFLT")
    expect(info.user_direct).toContain("MDISK 0100 3390 AUTOG 2000 POOL1 MR")
    expect(info.user_direct).toContain("IPL 0100")
  })

  it("creating an existing userid is a conflict (409) and changes nothing", () => {
    const t = simSdk()
    t.ok(t.sdk.guest_create(vm()))
    const before = t.ok(t.sdk.snapshot())
    const f = t.fails(t.sdk.guest_create(vm("vm1", { vcpus: 4 })))
    expect(f.cause._tag).toBe("Conflict")
    expect(f.httpStatus).toBe(409)
    expect(f.connector).toMatchObject({ overallRC: 409, rc: 409, modID: 10 })
    expect(f.message).toBe("Guest 'VM1' already exists.")
    expect(t.ok(t.sdk.snapshot())).toBe(before)
  })

  it("a full pool is InsufficientCapacity naming the pool, and nothing is created", () => {
    const t = simSdk()
    const f = t.fails(t.sdk.guest_create(vm("VM1", { disk_list: [
      { size: "8g" }, { size: "3g", disk_pool: "ECKD:POOL1" }] })))
    expect(f.cause).toMatchObject({ _tag: "InsufficientCapacity", resource: "disk:ECKD:POOL1",
      requested: 11264, free: 10240, capacity: 10240, host: "zvm1" })
    expect(f.httpStatus).toBe(409)
    expect(f.connector).toMatchObject({ overallRC: 300, rc: 300, rs: 2, modID: 10 })
    expect(t.ok(t.sdk.guest_list())).toEqual([])
    expect(t.driver.userids()).toEqual([])
  })

  it("an unknown disk pool is not found", () => {
    const t = simSdk()
    const f = t.fails(t.sdk.guest_create(vm("VM1", { disk_list: [{ size: "1g",
      disk_pool: "FBA:NOPE" }] })))
    expect(f.cause).toMatchObject({ _tag: "NotFound", resource: "disk pool", id: "FBA:NOPE" })
    expect(f.connector).toMatchObject({ overallRC: 404, rs: 1 })
  })

  it("rolls the driver back when one of its commands fails", () => {
    const t = simSdk()
    t.driver.failNext("createDisk", "VM1")
    const f = t.fails(t.sdk.guest_create(vm("VM1", { disk_list: [{ size: "1g" }] })))
    expect(f.cause._tag).toBe("DriverFailure")
    expect(f.httpStatus).toBe(500)
    expect(f.connector).toMatchObject({ overallRC: 500, modID: 10 })
    expect(t.driver.userids()).toEqual([])
    expect(t.ok(t.sdk.guest_list())).toEqual([])
    expect(t.ok(t.sdk.host_diskpool_get_info()).disk_used).toBe(0)
  })

  it("guest_delete frees the disks; deleting again is not found", () => {
    const t = simSdk()
    t.ok(t.sdk.guest_create(vm("VM1", { disk_list: [{ size: "4g" }] })))
    t.ok(t.sdk.guest_start("VM1"))
    t.ok(t.sdk.guest_delete("VM1"))
    expect(t.ok(t.sdk.host_diskpool_get_info()).disk_used).toBe(0)
    expect(t.driver.userids()).toEqual([])
    const f = t.fails(t.sdk.guest_delete("VM1"))
    expect(f.cause).toMatchObject({ _tag: "NotFound", resource: "guest", id: "VM1" })
    expect(f.httpStatus).toBe(404)
  })

  const bad: ReadonlyArray<[string, Record<string, unknown>, string, string]> = [
    ["userid longer than 8", vm("ABCDEFGHI"), "userid",
      "a userid of 1-8 characters (letters, digits, @ # $ + - _)"],
    ["empty userid", vm(""), "userid", "a userid of 1-8 characters (letters, digits, @ # $ + - _)"],
    ["zero vcpus", vm("VM1", { vcpus: 0 }), "vcpus", "a vCPU count from 1 to 64"],
    ["size with a bad unit", vm("VM1", { disk_list: [{ size: "1t" }] }), "disk_list[0].size",
      "a size like 512M or 1g, or a number of cylinders/blocks like 2000"],
    ["pool without a type", vm("VM1", { disk_list: [{ size: "1g", disk_pool: "POOL1" }] }),
      "disk_list[0].disk_pool", "a disk pool ECKD:name or FBA:name (name 1-8 characters)"],
    ["a second boot disk", vm("VM1", { disk_list: [{ size: "1g" },
      { size: "1g", is_boot_disk: true }] }), "disk_list[1].is_boot_disk",
      "only the root disk (the first disk) may boot"],
  ]
  it.each(bad)("rejects %s with a BadRequest naming the field", (_, input, path, message) => {
    const t = simSdk()
    expectBadRequest(t.fails(t.sdk.guest_create(input)), path, message)
    expect(t.ok(t.sdk.guest_list())).toEqual([])
  })

  it("with no default pool, a disk without disk_pool is a BadRequest", () => {
    const t = simSdk({}, { defaultDiskPool: undefined })
    expectBadRequest(t.fails(t.sdk.guest_create(vm("VM1", { disk_list: [{ size: "1g" }] }))),
      "disk_list[0].disk_pool", "a disk pool: none is configured by default")
  })
})

describe("guest_create_disks / guest_delete_disks / guest_config_minidisks", () => {
  it("adds disks after the last vdev, deletes them, and configures minidisks", () => {
    const t = simSdk()
    t.ok(t.sdk.guest_create(vm("VM1", { disk_list: [{ size: "1g" }] })))
    const added = t.ok(t.sdk.guest_create_disks({ userid: "VM1", disk_list: [
      { size: "512M" }, { size: "100", disk_pool: "FBA:FBA1" }] }))
    expect(added.map((d) => d.vdev)).toEqual(["0101", "0102"])
    t.ok(t.sdk.guest_config_minidisks({ userid: "VM1",
      disk_info: [{ vdev: "0101", format: "ext3", mntdir: "/mnt/0101" }] }))
    const g = t.ok(t.sdk.snapshot()).guests.get("VM1")!
    expect(g.disks[1]).toMatchObject({ vdev: "0101", format: "ext3", mntdir: "/mnt/0101" })
    t.ok(t.sdk.guest_delete_disks({ userid: "VM1", disk_vdev_list: ["0101", "102"] }))
    expect(t.ok(t.sdk.snapshot()).guests.get("VM1")!.disks.map((d) => d.vdev)).toEqual(["0100"])
    expect(t.ok(t.sdk.snapshot()).poolUsedMb.get("FBA:FBA1")).toBe(0)
  })

  it("deleting a disk the guest does not have is not found, and nothing is deleted", () => {
    const t = simSdk()
    t.ok(t.sdk.guest_create(vm("VM1", { disk_list: [{ size: "1g" }, { size: "1g" }] })))
    const f = t.fails(t.sdk.guest_delete_disks({ userid: "VM1", disk_vdev_list: ["0101", "0200"] }))
    expect(f.cause).toMatchObject({ _tag: "NotFound", id: "0200" })
    expect(t.ok(t.sdk.snapshot()).guests.get("VM1")!.disks).toHaveLength(2)
  })

  it("a bad vdev is a BadRequest with its index", () => {
    const t = simSdk()
    t.ok(t.sdk.guest_create(vm()))
    expectBadRequest(t.fails(t.sdk.guest_delete_disks({ userid: "VM1",
      disk_vdev_list: ["0101", "12345"] })), "disk_vdev_list[1]",
    "a device number of 1-4 hexadecimal digits")
  })

  it("configuring a minidisk the guest lacks is a BadRequest", () => {
    const t = simSdk()
    t.ok(t.sdk.guest_create(vm()))
    expectBadRequest(t.fails(t.sdk.guest_config_minidisks({ userid: "VM1",
      disk_info: [{ vdev: "0101", format: "ext3", mntdir: "/mnt/0101" }] })),
    "disk_info[0].vdev", "a disk of VM1 (no disk 0101)")
  })
})

describe("every operation on an unknown userid is not found", () => {
  const ops: ReadonlyArray<[string, (t: SimSdk) => Effect.Effect<unknown, SdkFailure>]> = [
    ["guest_delete", (t) => t.sdk.guest_delete("NOPE")],
    ["guest_get_power_state", (t) => t.sdk.guest_get_power_state("NOPE")],
    ["guest_get_info", (t) => t.sdk.guest_get_info("NOPE")],
    ["guest_get_console_output", (t) => t.sdk.guest_get_console_output("NOPE")],
    ["guest_get_definition_info", (t) => t.sdk.guest_get_definition_info("NOPE")],
    ["guest_create_disks", (t) => t.sdk.guest_create_disks({ userid: "NOPE",
      disk_list: [{ size: "1g" }] })],
    ["guest_delete_disks", (t) => t.sdk.guest_delete_disks({ userid: "NOPE",
      disk_vdev_list: ["0100"] })],
    ["guest_config_minidisks", (t) => t.sdk.guest_config_minidisks({ userid: "NOPE",
      disk_info: [] })],
    ["guest_deploy", (t) => t.sdk.guest_deploy({ userid: "NOPE", image_name: "i" })],
    ["guest_capture", (t) => t.sdk.guest_capture({ userid: "NOPE", image_name: "i" })],
    ["guest_create_nic", (t) => t.sdk.guest_create_nic({ userid: "NOPE" })],
    ["guest_delete_nic", (t) => t.sdk.guest_delete_nic({ userid: "NOPE", vdev: "1000" })],
    ["guest_get_nic_vswitch_info", (t) => t.sdk.guest_get_nic_vswitch_info("NOPE")],
    ["guest_nic_couple_to_vswitch", (t) => t.sdk.guest_nic_couple_to_vswitch({
      userid: "NOPE", nic_vdev: "1000", vswitch_name: "VSW1" })],
    ["guest_nic_uncouple_from_vswitch", (t) => t.sdk.guest_nic_uncouple_from_vswitch({
      userid: "NOPE", nic_vdev: "1000" })],
    ["guest_create_network_interface", (t) => t.sdk.guest_create_network_interface({
      userid: "NOPE", os_version: "rhel7", guest_networks: [{ cidr: "10.0.0.0/8" }] })],
    ["volume_attach", (t) => t.sdk.volume_attach({ guest: { name: "NOPE", os_type: "rhel7" },
      volume: { type: "fc", lun: "1" }, connection_info: { protocol: "fc", fcps: [],
        wwpns: ["1"] } })],
  ]
  it.each(ops)("%s", (_, op) => {
    const t = simSdk()
    const f = t.fails(op(t))
    expect(f.cause).toMatchObject({ _tag: "NotFound", resource: "guest", id: "NOPE" })
    expect(f.httpStatus).toBe(404)
    expect(f.connector).toMatchObject({ overallRC: 404, rc: 404, rs: 1 })
  })
})

describe("the connector's result envelope", () => {
  it("renders success and failure as the connector's dict", () => {
    const t = simSdk()
    const run = <A>(op: Effect.Effect<A, SdkFailure>) =>
      connectorResult(Effect.runSyncExit(op.pipe(Effect.provideService(Clock.Clock, t.clock))))
    expect(run(t.sdk.guest_create(vm()))).toEqual({ overallRC: 0, rc: 0, rs: 0, modID: null,
      errmsg: "", output: [] })
    expect(run(t.sdk.guest_create(vm()))).toEqual({ overallRC: 409, rc: 409, rs: 30, modID: 10,
      errmsg: "Guest 'VM1' already exists.", httpStatus: 409, output: null })
    expect(run(t.sdk.guest_start("ZZ"))).toEqual({ overallRC: 404, rc: 404, rs: 1, modID: 10,
      errmsg: "guest ZZ could not be found.", httpStatus: 404, output: null })
    expect(run(t.sdk.guest_start("bad userid"))).toMatchObject({ overallRC: 100, rc: 100, rs: 3,
      modID: 400, httpStatus: 400 })
  })
})

describe("guest info, stats, console, host", () => {
  it("reports info and stats in virtual time; nothing for guests off or unknown", () => {
    const t = simSdk({ cpuLoad: 0.5 })
    t.ok(t.sdk.guest_create(vm("VM1", { vcpus: 2, memory: 2048 })))
    t.ok(t.sdk.guest_create(vm("VM2")))
    t.ok(t.sdk.guest_start("VM1"))
    t.clock.advance(10_000)
    expect(t.ok(t.sdk.guest_get_info("VM1"))).toEqual({ power_state: "on",
      max_mem_kb: 2048 * 1024, mem_kb: 1024 * 1024, num_cpu: 2, cpu_time_us: 10_000_000 })
    const stats = t.ok(t.sdk.guest_inspect_stats(["VM1", "VM2", "NOPE"]))
    expect(Object.keys(stats)).toEqual(["VM1"])
    expect(stats["VM1"]).toMatchObject({ guest_cpus: 2, used_cpu_time_us: 10_000_000,
      elapsed_cpu_time_us: 20_000_000, samples_cpu_in_use: 10, max_mem_kb: 2048 * 1024,
      max_cpu_limit: 200 })
    expect(Object.keys(t.ok(t.sdk.guest_inspect_stats("vm1")))).toEqual(["VM1"])
    t.ok(t.sdk.guest_pause("VM1"))
    t.clock.advance(5_000)
    expect(t.ok(t.sdk.guest_get_info("VM1")).cpu_time_us).toBe(10_000_000)
    expect(t.ok(t.sdk.guest_get_info("VM1")).power_state).toBe("on")
    expect(t.ok(t.sdk.guest_get_info("VM2"))).toMatchObject({ power_state: "off", mem_kb: 0 })
    expect(t.ok(t.sdk.guest_get_console_output("VM1"))).toContain("pause")
    expect(t.fails(t.sdk.guest_get_info("NOPE")).httpStatus).toBe(404)
  })

  it("host_get_info counts running guests", () => {
    const t = simSdk({ hostname: "simhost" })
    t.ok(t.sdk.guest_create(vm("VM1", { vcpus: 4, memory: 4096, disk_list: [{ size: "2g" }] })))
    t.ok(t.sdk.guest_create(vm("VM2")))
    t.ok(t.sdk.guest_start("VM1"))
    expect(t.ok(t.sdk.host_get_info())).toMatchObject({ vcpus: 16, vcpus_used: 4,
      memory_mb: 65536, memory_mb_used: 4096, disk_total: 10, disk_used: 2, disk_available: 8,
      hypervisor_hostname: "simhost", zvm_host: "zvm1",
      cpu_info: { architecture: "s390x", host_cpus: 16 } })
  })

  it("host_diskpool_get_info: unknown pool not found, bad name bad request", () => {
    const t = simSdk()
    expect(t.fails(t.sdk.host_diskpool_get_info("ECKD:NONE")).cause)
      .toMatchObject({ _tag: "NotFound", resource: "disk pool", id: "ECKD:NONE" })
    expectBadRequest(t.fails(t.sdk.host_diskpool_get_info("pool")), "disk_pool",
      "a disk pool ECKD:name or FBA:name (name 1-8 characters)")
  })

  it("guest_inspect_stats rejects a bad userid in the list", () => {
    const t = simSdk()
    expectBadRequest(t.fails(t.sdk.guest_inspect_stats(["VM1", "TOOLONGID"])),
      "userid_list[1]", "a userid of 1-8 characters (letters, digits, @ # $ + - _)")
  })
})
