import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { parseUserVlanIds } from "../core/lifecycle/fields.ts"
import { inCidr } from "../core/network/nics.ts"
import { expectBadRequest, simSdk, type SimSdk } from "./sdk-harness.ts"

function withGuest(power: "off" | "on" = "off"): SimSdk {
  const t = simSdk()
  t.ok(t.sdk.guest_create({ userid: "VM1", vcpus: 1, memory: 512 }))
  if (power === "on") t.ok(t.sdk.guest_start("VM1"))
  return t
}

describe("NICs", () => {
  it("creates NICs three devices apart from 1000, or at a given vdev", () => {
    const t = withGuest()
    expect(t.ok(t.sdk.guest_create_nic({ userid: "VM1" }))).toBe("1000")
    expect(t.ok(t.sdk.guest_create_nic({ userid: "VM1", nic_id: "n2" }))).toBe("1003")
    expect(t.ok(t.sdk.guest_create_nic({ userid: "VM1", vdev: "2000",
      mac_addr: "02:00:00:12:34:56" }))).toBe("2000")
    expect(t.ok(t.sdk.guest_get_nic_vswitch_info("VM1")))
      .toEqual({ "1000": null, "1003": null, "2000": null })
    const info = t.ok(t.sdk.guest_get_definition_info("VM1"))
    expect(info.user_direct).toContain("NICDEF 2000 TYPE QDIO DEVICES 3 MACID 123456")
  })

  it("a vdev overlapping another NIC's three devices is a conflict", () => {
    const t = withGuest()
    t.ok(t.sdk.guest_create_nic({ userid: "VM1", vdev: "1000" }))
    const f = t.fails(t.sdk.guest_create_nic({ userid: "VM1", vdev: "1002" }))
    expect(f.cause._tag).toBe("Conflict")
    expect(f.connector).toMatchObject({ overallRC: 409, rs: 6, modID: 20 })
  })

  it("a MAC address used by another NIC is a conflict", () => {
    const t = withGuest()
    t.ok(t.sdk.guest_create_nic({ userid: "VM1", mac_addr: "02:00:00:00:00:01" }))
    expect(t.fails(t.sdk.guest_create_nic({ userid: "VM1", mac_addr: "02:00:00:00:00:01" }))
      .cause._tag).toBe("Conflict")
  })

  it("active changes need a running guest", () => {
    const t = withGuest()
    const f = t.fails(t.sdk.guest_create_nic({ userid: "VM1", active: true }))
    expect(f.message).toContain("is not in active status")
    t.ok(t.sdk.guest_start("VM1"))
    expect(t.ok(t.sdk.guest_create_nic({ userid: "VM1", active: true }))).toBe("1000")
    t.ok(t.sdk.guest_delete_nic({ userid: "VM1", vdev: "1000", active: true }))
    expect(t.ok(t.sdk.guest_get_nic_vswitch_info("VM1"))).toEqual({})
  })

  it("deleting a NIC that does not exist is not found", () => {
    const t = withGuest()
    const f = t.fails(t.sdk.guest_delete_nic({ userid: "VM1", vdev: "1000" }))
    expect(f.cause).toMatchObject({ _tag: "NotFound", id: "1000" })
    expect(f.connector.modID).toBe(20)
  })

  const bad: ReadonlyArray<[Record<string, unknown>, string, string]> = [
    [{ userid: "VM1", vdev: "10000" }, "vdev", "a device number of 1-4 hexadecimal digits"],
    [{ userid: "VM1", vdev: "xyz" }, "vdev", "a device number of 1-4 hexadecimal digits"],
    [{ userid: "VM1", mac_addr: "02:00:00:12:34" }, "mac_addr",
      "a MAC address xx:xx:xx:xx:xx:xx (x a hexadecimal digit)"],
    [{ userid: "VM1", mac_addr: "02-00-00-12-34-56" }, "mac_addr",
      "a MAC address xx:xx:xx:xx:xx:xx (x a hexadecimal digit)"],
    [{ userid: "VM1", mac_addr: "0g:00:00:12:34:56" }, "mac_addr",
      "a MAC address xx:xx:xx:xx:xx:xx (x a hexadecimal digit)"],
  ]
  it.each(bad)("guest_create_nic rejects %j", (input, path, message) => {
    const t = withGuest()
    expectBadRequest(t.fails(t.sdk.guest_create_nic(input)), path, message)
    expect(t.ok(t.sdk.guest_get_nic_vswitch_info("VM1"))).toEqual({})
  })
})

describe("coupling to vswitches", () => {
  it("couples only to an existing vswitch the user is granted on", () => {
    const t = withGuest()
    t.ok(t.sdk.guest_create_nic({ userid: "VM1" }))
    const notGranted = t.fails(t.sdk.guest_nic_couple_to_vswitch({ userid: "VM1",
      nic_vdev: "1000", vswitch_name: "VSW1" }))
    expect(notGranted.cause._tag).toBe("Conflict")
    expect(notGranted.connector).toMatchObject({ overallRC: 409, rs: 10, modID: 20 })
    expect(notGranted.message).toContain("VM1 is not granted on the vswitch")
    const missing = t.fails(t.sdk.guest_nic_couple_to_vswitch({ userid: "VM1",
      nic_vdev: "1000", vswitch_name: "NOSUCH" }))
    expect(missing.cause).toMatchObject({ _tag: "NotFound", resource: "vswitch", id: "NOSUCH" })
    t.ok(t.sdk.vswitch_grant_user({ vswitch_name: "vsw1", userid: "vm1" }))
    t.ok(t.sdk.guest_nic_couple_to_vswitch({ userid: "VM1", nic_vdev: "1000",
      vswitch_name: "VSW1" }))
    expect(t.ok(t.sdk.guest_get_nic_vswitch_info("VM1"))).toEqual({ "1000": "VSW1" })
    expect(t.ok(t.sdk.guest_get_definition_info("VM1", { nic_coupled: "1000" })).nic_coupled)
      .toBe(true)
    t.ok(t.sdk.guest_nic_uncouple_from_vswitch({ userid: "VM1", nic_vdev: "1000" }))
    expect(t.ok(t.sdk.guest_get_definition_info("VM1", { nic_coupled: "1000" })).nic_coupled)
      .toBe(false)
    t.ok(t.sdk.guest_nic_uncouple_from_vswitch({ userid: "VM1", nic_vdev: "1000" }))
  })

  it("revoke and vswitch_delete refuse while a NIC is coupled", () => {
    const t = withGuest()
    t.ok(t.sdk.guest_create_nic({ userid: "VM1" }))
    t.ok(t.sdk.vswitch_grant_user({ vswitch_name: "VSW1", userid: "VM1" }))
    t.ok(t.sdk.guest_nic_couple_to_vswitch({ userid: "VM1", nic_vdev: "1000",
      vswitch_name: "VSW1" }))
    expect(t.fails(t.sdk.vswitch_revoke_user({ vswitch_name: "VSW1", userid: "VM1" })).message)
      .toContain("uncouple them first")
    expect(t.fails(t.sdk.vswitch_delete({ name: "VSW1" })).message).toContain("VM1:1000")
    t.ok(t.sdk.guest_delete_nic({ userid: "VM1", vdev: "1000" }))
    t.ok(t.sdk.vswitch_revoke_user({ vswitch_name: "VSW1", userid: "VM1" }))
    t.ok(t.sdk.vswitch_delete({ name: "VSW1" }))
    expect(t.ok(t.sdk.vswitch_get_list())).toEqual([])
  })

  it("guests_get_nic_info filters by userid, nic_id and vswitch", () => {
    const t = withGuest()
    t.ok(t.sdk.guest_create({ userid: "VM2", vcpus: 1, memory: 512 }))
    t.ok(t.sdk.guest_create_nic({ userid: "VM1", nic_id: "1111-2222" }))
    t.ok(t.sdk.guest_create_nic({ userid: "VM2", vdev: "2000" }))
    t.ok(t.sdk.vswitch_grant_user({ vswitch_name: "VSW1", userid: "VM1" }))
    t.ok(t.sdk.guest_nic_couple_to_vswitch({ userid: "VM1", nic_vdev: "1000",
      vswitch_name: "VSW1" }))
    expect(t.ok(t.sdk.guests_get_nic_info())).toEqual([
      ["VM1", "1000", "VSW1", "1111-2222", null], ["VM2", "2000", null, null, null]])
    expect(t.ok(t.sdk.guests_get_nic_info({ vswitch: "vsw1" }))).toHaveLength(1)
    expect(t.ok(t.sdk.guests_get_nic_info({ userid: "VM2" }))).toEqual([
      ["VM2", "2000", null, null, null]])
    expect(t.ok(t.sdk.guests_get_nic_info({ nic_id: "nope" }))).toEqual([])
  })

  it("guest_inspect_vnics reports the NICs of running guests only", () => {
    const t = withGuest("on")
    t.ok(t.sdk.guest_create_nic({ userid: "VM1" }))
    t.clock.advance(10_000)
    const v = t.ok(t.sdk.guest_inspect_vnics(["VM1"]))
    expect(v["VM1"]).toEqual([{ vswitch_name: null, nic_vdev: "1000", nic_fr_rx: 1000,
      nic_fr_tx: 500, nic_fr_rx_dsc: 0, nic_fr_tx_dsc: 0, nic_fr_rx_err: 0, nic_fr_tx_err: 0,
      nic_rx: 1_500_000, nic_tx: 750_000 }])
    t.ok(t.sdk.guest_stop("VM1"))
    expect(t.ok(t.sdk.guest_inspect_vnics("VM1"))).toEqual({})
  })
})

describe("guest_create_network_interface", () => {
  it("creates a NIC per network, in order, and returns the vdevs", () => {
    const t = withGuest()
    const out = t.ok(t.sdk.guest_create_network_interface({ userid: "VM1", os_version: "rhel7.2",
      guest_networks: [
        { ip_addr: "192.168.95.10", dns_addr: ["9.0.2.1", "9.0.3.1"],
          gateway_addr: "192.168.95.1", cidr: "192.168.95.0/24", nic_vdev: "1000",
          mac_addr: "02:00:00:12:34:56" },
        { ip_addr: "192.168.96.10", gateway_addr: "192.168.96.1", cidr: "192.168.96.0/24" },
      ] }))
    expect(out.map((n) => n.nic_vdev)).toEqual(["1000", "1003"])
    const g = t.ok(t.sdk.snapshot()).guests.get("VM1")!
    expect(g.osVersion).toBe("rhel7.2")
    expect(g.networks.map((n) => n.ipAddr)).toEqual(["192.168.95.10", "192.168.96.10"])
  })

  it("an address outside the CIDR is a BadRequest and nothing is created", () => {
    const t = withGuest()
    expectBadRequest(t.fails(t.sdk.guest_create_network_interface({ userid: "VM1",
      os_version: "rhel7", guest_networks: [
        { ip_addr: "192.168.95.10", cidr: "192.168.95.0/24" },
        { ip_addr: "10.0.0.1", cidr: "192.168.96.0/24" }] })),
    "guest_networks[1].ip_addr", "an address in 192.168.96.0/24")
    expect(t.ok(t.sdk.guest_get_nic_vswitch_info("VM1"))).toEqual({})
  })

  it("inCidr agrees with a bitmask definition", () => {
    fc.assert(fc.property(fc.nat({ max: 2 ** 32 - 1 }), fc.nat({ max: 2 ** 32 - 1 }),
      fc.integer({ min: 0, max: 32 }), (a, b, len) => {
        const ip = (n: number) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".")
        const mask = len === 0 ? 0 : (~0 << (32 - len)) >>> 0
        const want = ((a & mask) >>> 0) === ((b & mask) >>> 0)
        expect(inCidr(ip(a), `${ip(b)}/${len}`)).toBe(want)
      }))
  })
})

describe("vswitches", () => {
  it("creates with the connector's defaults and expands abbreviations", () => {
    const t = simSdk()
    t.ok(t.sdk.vswitch_create({ name: "vsw2", rdev: "1000 1003", connection: "discon",
      network_type: "ip", router: "pri", vid: "100", queue_mem: 4 }))
    const v = t.ok(t.sdk.snapshot()).vswitches.get("VSW2")!
    expect(v).toMatchObject({ rdev: "1000 1003", connection: "DISCONNECT", networkType: "IP",
      router: "PRIROUTER", vid: 100, portType: "ACCESS", gvrp: "GVRP", queueMemMb: 4,
      nativeVid: 1, persist: true, controller: "*" })
    expect(t.ok(t.sdk.vswitch_get_list())).toEqual(["VSW1", "VSW2"])
    expect(t.fails(t.sdk.vswitch_create({ name: "VSW2" })).cause._tag).toBe("Conflict")
  })

  const bad: ReadonlyArray<[Record<string, unknown>, string, string]> = [
    [{ name: "TOOLONGNAME" }, "name", "a vswitch name of 1-8 characters"],
    [{ name: "V", queue_mem: 9 }, "queue_mem", "a number between 1 and 8 (MB)"],
    [{ name: "V", queue_mem: 0 }, "queue_mem", "a number between 1 and 8 (MB)"],
    [{ name: "V", vid: 4095 }, "vid", "UNAWARE, AWARE or a VLAN id 1-4094"],
    [{ name: "V", vid: "0" }, "vid", "UNAWARE, AWARE or a VLAN id 1-4094"],
    [{ name: "V", native_vid: 0 }, "native_vid", "a VLAN id between 1 and 4094"],
    [{ name: "V", native_vid: 4095 }, "native_vid", "a VLAN id between 1 and 4094"],
    [{ name: "V", rdev: "1000 1001 1002 1003" }, "rdev",
      "up to three device numbers of 1-4 hexadecimal digits separated by blanks, or NONE"],
    [{ name: "V", connection: "CO" }, "connection", "CONnect, DISCONnect or NOUPLINK"],
    [{ name: "V", router: "PRI" }, "router",
      "no router with network_type ETHERNET (leave it unspecified)"],
  ]
  it.each(bad)("vswitch_create rejects %j", (input, path, message) => {
    const t = simSdk()
    expectBadRequest(t.fails(t.sdk.vswitch_create(input)), path, message)
    expect(t.ok(t.sdk.vswitch_get_list())).toEqual(["VSW1"])
  })

  it("vswitch_set grants with user_vlan_id forms and sets attributes", () => {
    const t = simSdk()
    t.ok(t.sdk.vswitch_create({ name: "VLANSW", vid: "AWARE" }))
    t.ok(t.sdk.vswitch_set({ vswitch_name: "VLANSW", grant_userid: "VM1",
      user_vlan_id: "10-12 20-22", queue_memory_limit: 2, port_type: "trunk", MAC_protect: "on",
      Interval: "OFF", iptimeout: 5 }))
    const v = t.ok(t.sdk.snapshot()).vswitches.get("VLANSW")!
    expect(v.grants).toEqual([{ userid: "VM1", vlanIds: "10-12 20-22" }])
    expect(v).toMatchObject({ queueMemMb: 2, portType: "TRUNK" })
    expect(v.settings).toMatchObject({ MAC_protect: "on", Interval: "OFF", iptimeout: "5" })
    t.ok(t.sdk.vswitch_set_vlan_id_for_user({ vswitch_name: "VLANSW", userid: "VM1",
      vlan_id: 1010 }))
    expect(t.ok(t.sdk.snapshot()).vswitches.get("VLANSW")!.grants)
      .toEqual([{ userid: "VM1", vlanIds: "1010" }])
    t.ok(t.sdk.vswitch_set({ vswitch_name: "VLANSW", revoke_userid: "VM1" }))
    expect(t.ok(t.sdk.snapshot()).vswitches.get("VLANSW")!.grants).toEqual([])
  })

  const badSet: ReadonlyArray<[Record<string, unknown>, string, string]> = [
    [{ user_vlan_id: "1 2 3 4 5", grant_userid: "U" }, "user_vlan_id",
      "up to four VLAN ids 1-4094 (\"1010 2020\") or up to two ranges (\"10-12 20-22\")"],
    [{ user_vlan_id: "1-2 3-4 5-6", grant_userid: "U" }, "user_vlan_id",
      "up to four VLAN ids 1-4094 (\"1010 2020\") or up to two ranges (\"10-12 20-22\")"],
    [{ user_vlan_id: "4095", grant_userid: "U" }, "user_vlan_id",
      "up to four VLAN ids 1-4094 (\"1010 2020\") or up to two ranges (\"10-12 20-22\")"],
    [{ user_vlan_id: "20-10", grant_userid: "U" }, "user_vlan_id",
      "up to four VLAN ids 1-4094 (\"1010 2020\") or up to two ranges (\"10-12 20-22\")"],
    [{ user_vlan_id: "10" }, "user_vlan_id", "grant_userid as well (the user given the ids)"],
    [{ queue_memory_limit: 9 }, "queue_memory_limit", "a number between 1 and 8 (MB)"],
    [{ mac_id: "1234567" }, "mac_id", "up to six hexadecimal digits"],
    [{ iptimeout: 241 }, "iptimeout", "a number of minutes between 1 and 240"],
    [{ Interval: "9991" }, "Interval", "a number of seconds 1-9990, or OFF"],
    [{ nic_vdev: "1000" }, "nic_userid", "a userid when nic_vdev is given"],
    [{ nic_userid: "VM1" }, "nic_vdev", "a device number when nic_userid is a userid"],
    [{ port_name: "P1 P2 P3 P4" }, "port_name",
      "up to 3 port names of 1-8 characters separated by blanks"],
    [{}, "", "at least one attribute to set"],
    [{ bogus: 1 }, "bogus", "Expected no excess property"],
  ]
  it.each(badSet)("vswitch_set rejects %j", (kwargs, path, message) => {
    const t = simSdk()
    const before = t.ok(t.sdk.snapshot())
    expectBadRequest(t.fails(t.sdk.vswitch_set({ vswitch_name: "VSW1", ...kwargs })), path,
      message)
    expect(t.ok(t.sdk.snapshot())).toBe(before)
  })

  it("vswitch_set_vlan_id_for_user: VLAN 1-4094, granted user, VLAN-aware vswitch", () => {
    const t = simSdk()
    expectBadRequest(t.fails(t.sdk.vswitch_set_vlan_id_for_user({ vswitch_name: "VSW1",
      userid: "VM1", vlan_id: 4095 })), "vlan_id", "a VLAN id between 1 and 4094")
    expect(t.fails(t.sdk.vswitch_set_vlan_id_for_user({ vswitch_name: "VSW1", userid: "VM1",
      vlan_id: 10 })).message).toContain("VLAN UNAWARE")
    t.ok(t.sdk.vswitch_create({ name: "V2", vid: "AWARE" }))
    expect(t.fails(t.sdk.vswitch_set_vlan_id_for_user({ vswitch_name: "V2", userid: "VM1",
      vlan_id: 10 })).message).toContain("not granted")
  })

  it("parseUserVlanIds accepts up to four ids and up to two ranges", () => {
    expect(parseUserVlanIds("1010 2020 3030 4040")).toEqual({
      singles: [1010, 2020, 3030, 4040], ranges: [] })
    expect(parseUserVlanIds("10-12 20-22")).toEqual({ singles: [], ranges: [[10, 12], [20, 22]] })
    fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 4094 }), { minLength: 1,
      maxLength: 6 }), (ids) => {
      const r = parseUserVlanIds(ids.join(" "))
      expect(typeof r !== "string").toBe(ids.length <= 4)
    }))
  })
})
