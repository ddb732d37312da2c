import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { httpStatus } from "../core/errors.ts"
import {
  addPmemVolumes,
  checkPmemInvariants,
  decodeAddPmemVol,
  decodeDelPmemVol,
  decodePmemAction,
  deletePmemVolumes,
  largestFreeExtentMb,
  parsePmemActionText,
  pinnedHost,
  PmemInsufficientCapacity,
  pmemFits,
  pmemFreeExtents,
  pmemHostUsage,
  type PmemServerRef,
  pmemStateOf,
  type PmemState,
  pmemUsage,
  type PmemVolumeRequest,
  pmemVolumesOf,
  releaseServer,
  serverPmemHost,
  serverPmemVolumes,
  unquoteDeviceName,
} from "../core/pmem/index.ts"
import { host, inventoryOf } from "./builders.ts"

const seedAdd =
  `{"add-pmem-vol":[{"name":"pmem volume1","size":1024,"affinity":"True","device":"DRAM"}]}`

function issuesOf<A>(r: Result.Result<A, { _tag: string; issues?: ReadonlyArray<{ path: string;
  message: string }> }>) {
  if (Result.isSuccess(r)) throw new Error("expected a BadRequest")
  expect(r.failure._tag).toBe("BadRequest")
  return r.failure.issues ?? []
}

function vol(name: string, sizeMb: number, device = "NV0", affinity = false): PmemVolumeRequest {
  return { name, sizeMb, device, affinity }
}

/** h1: DRAM 8 GiB on node 0, NV0 100 MB (align 2) on node 0, NV1 64 MB (align 4) on node 1. */
function twoNodeState(): PmemState {
  return pmemStateOf(inventoryOf(
    host("h1").cpus(16).ram(65536)
      .numa({ id: 0, cpus: 8, ramMb: 32768 }, { id: 1, cpus: 8, ramMb: 32768 })
      .pmem("DRAM", 8192, 0).pmem("NV0", 100, 0, 2).pmem("NV1", 64, 1, 4),
    host("h2").pmem("NV0", 100),
    host("plain"),
  ))
}

const s1: PmemServerRef = { serverUuid: "s1", host: "h1" }

function add(state: PmemState, server: PmemServerRef, volumes: PmemVolumeRequest[]): PmemState {
  const r = addPmemVolumes(state, server, volumes)
  if (Result.isFailure(r)) throw new Error(`add failed: ${r.failure.message}`)
  expect(checkPmemInvariants(r.success.state)).toEqual([])
  return r.success.state
}

function failure<A, E>(r: Result.Result<A, E>): E {
  if (Result.isSuccess(r)) throw new Error("expected a failure")
  return r.failure
}

/** Everything a user can observe of a state, as plain data. */
function observe(state: PmemState) {
  return {
    usage: pmemUsage(state),
    volumes: pmemVolumesOf(state),
    free: state.inventory.hosts.flatMap((h) => h.pmemDevices.map((d) =>
      pmemFreeExtents(state, h.name, d.name))),
    next: state.nextSequence,
  }
}

describe("decoding the seed's bodies", () => {
  it("decodes the seed's add example as bare JSON", () => {
    const r = decodePmemAction(JSON.parse(seedAdd))
    expect(r).toEqual(Result.succeed({ _tag: "AddPmemVol", volumes: [
      { name: "pmem volume1", sizeMb: 1024, affinity: true, device: "DRAM" }] }))
  })

  it("reads the seed's typographic quotes as string delimiters outside strings", () => {
    const text = `{"add-pmem-vol":[{"name":”pmem volume1”,"size":1024,"affinity":"True",` +
      `"device":"”DRAM”"},{"name":”pmem volume2”,"size":1024,"affinity":"True",` +
      `"device":"”DRAM”"}]}`
    const body = Result.getOrThrow(parsePmemActionText(text))
    expect(Result.getOrThrow(decodeAddPmemVol(body)).map((v) => [v.name, v.device])).toEqual([
      ["pmem volume1", "DRAM"], ["pmem volume2", "DRAM"]])
    const del = Result.getOrThrow(parsePmemActionText(`{ “del-pmem-vol”:[{"volume_uuid":"uuid"}]}`))
    expect(Object.keys(del as object)).toEqual(["del-pmem-vol"])
  })

  it("rejects text that is not JSON even after reading typographic quotes", () => {
    const seedAsWritten = `{\n "add-pmem-vol":[\n {"name":”pmem volume1”, "size":1024,` +
      ` "affinity":"True", "device":"”DRAM”"}\n ]`
    expect(issuesOf(parsePmemActionText(seedAsWritten))[0]!.message).toMatch(/not valid JSON/)
    expect(issuesOf(parsePmemActionText("{"))[0]!.message).toMatch(/not valid JSON/)
    expect(issuesOf(parsePmemActionText(" ".repeat(300_000)))[0]!.message).toMatch(/at most/)
  })

  const affinities: Array<[unknown, boolean]> = [
    [true, true], [false, false], ["True", true], ["False", false], ["true", true],
    ["false", false], [undefined, false],
  ]
  it.each(affinities)("reads affinity %j as %s", (affinity, expected) => {
    const item = { name: "v", size: 1, device: "DRAM",
      ...(affinity === undefined ? {} : { affinity }) }
    expect(Result.getOrThrow(decodeAddPmemVol({ "add-pmem-vol": [item] }))[0]!.affinity)
      .toBe(expected)
  })

  const devices: Array<[string, string]> = [
    ["”DRAM”", "DRAM"], ["“DRAM”", "DRAM"], ["\"DRAM\"", "DRAM"], ["'NV0'", "NV0"],
    ["DRAM", "DRAM"], ["”", "”"], ["”DRAM", "”DRAM"],
  ]
  it.each(devices)("reads device %s as %s", (device, expected) => {
    expect(unquoteDeviceName(device)).toBe(expected)
  })

  const badAdds: Array<[string, unknown, string, RegExp]> = [
    ["a zero size", { name: "v", size: 0, device: "D" }, "add-pmem-vol[0].size", /from 1/],
    ["a negative size", { name: "v", size: -5, device: "D" }, "add-pmem-vol[0].size", /from 1/],
    ["a fractional size", { name: "v", size: 1.5, device: "D" }, "add-pmem-vol[0].size", /integer/],
    ["a size as a string", { name: "v", size: "1024", device: "D" }, "add-pmem-vol[0].size",
      /number/],
    ["a size above 64 TiB", { name: "v", size: 2 ** 26 + 1, device: "D" },
      "add-pmem-vol[0].size", /from 1 to 67108864/],
    ["an empty name", { name: "", size: 1, device: "D" }, "add-pmem-vol[0].name", /non-empty/],
    ["a long name", { name: "n".repeat(256), size: 1, device: "D" }, "add-pmem-vol[0].name",
      /at most 255/],
    ["a name with a newline", { name: "a\nb", size: 1, device: "D" }, "add-pmem-vol[0].name",
      /control/],
    ["a missing device", { name: "v", size: 1 }, "add-pmem-vol[0].device", /Missing/],
    ["an unknown affinity", { name: "v", size: 1, device: "D", affinity: "yes" },
      "add-pmem-vol[0].affinity", /"True"/],
    ["a numeric affinity", { name: "v", size: 1, device: "D", affinity: 1 },
      "add-pmem-vol[0].affinity", /"True"/],
    ["an unknown field", { name: "v", size: 1, device: "D", colour: "red" },
      "add-pmem-vol[0].colour", /excess/],
  ]
  it.each(badAdds)("rejects %s with its path", (_what, item, path, message) => {
    const issues = issuesOf(decodeAddPmemVol({
      "add-pmem-vol": [{ name: "ok", size: 1, device: "D" }, item] }))
    const issue = issues.find((i) => i.path === path.replace("[0]", "[1]"))
    expect(issue, JSON.stringify(issues)).toBeDefined()
    expect(issue!.message).toMatch(message)
  })

  it("reports every problem of a body at once", () => {
    const issues = issuesOf(decodeAddPmemVol({ "add-pmem-vol": [
      { name: "", size: 0, device: "D" }, { name: "v", size: 1, device: 7 }] }))
    expect(issues.map((i) => i.path)).toEqual([
      "add-pmem-vol[0].name", "add-pmem-vol[0].size", "add-pmem-vol[1].device"])
  })

  it("bounds the list: at least one volume, at most 64", () => {
    expect(issuesOf(decodeAddPmemVol({ "add-pmem-vol": [] }))[0]!.path).toBe("add-pmem-vol")
    const many = Array.from({ length: 65 }, (_, i) => ({ volume_uuid:
      `00000000-0000-8000-8000-${String(i).padStart(12, "0")}` }))
    expect(issuesOf(decodeDelPmemVol({ "del-pmem-vol": many }))[0]!.message).toMatch(/at most 64/)
  })

  it("decodes del-pmem-vol, lower-casing uuids, and rejects malformed ones", () => {
    const uuid = "0B6C7E43-6F0E-8A1D-9C35-000000000001"
    expect(Result.getOrThrow(decodeDelPmemVol({ "del-pmem-vol": [{ volume_uuid: uuid }] })))
      .toEqual([uuid.toLowerCase()])
    expect(issuesOf(decodeDelPmemVol({ "del-pmem-vol": [{ volume_uuid: "uuid" }] }))[0]!.path)
      .toBe("del-pmem-vol[0].volume_uuid")
  })

  const badActions: Array<[string, unknown]> = [
    ["no key", {}], ["both keys", { "add-pmem-vol": [], "del-pmem-vol": [] }],
    ["another action", { reboot: { type: "SOFT" } }], ["an array", []], ["null", null],
  ]
  it.each(badActions)("rejects an action body with %s", (_what, body) => {
    const issues = issuesOf(decodePmemAction(body))
    expect(issues[0]!.path).toBe("")
    expect(issues[0]!.message).toMatch(/add-pmem-vol.*del-pmem-vol/)
  })
})

describe("adding volumes", () => {
  it("places aligned extents, best fit, and reports usage", () => {
    let s = twoNodeState()
    s = add(s, s1, [vol("a", 10), vol("b", 30), vol("c", 10), vol("d", 20), vol("e", 30)])
    const byName = Object.fromEntries(serverPmemVolumes(s, "s1").map((v) => [v.name, v]))
    // Largest first within one request: b and e (30), then d (20), then a and c (10).
    expect([byName.b!.offsetMb, byName.e!.offsetMb, byName.d!.offsetMb, byName.a!.offsetMb,
      byName.c!.offsetMb]).toEqual([0, 30, 60, 80, 90])
    const r = deletePmemVolumes(s, "s1", [byName.b!.volume_uuid, byName.d!.volume_uuid])
    s = Result.getOrThrow(r).state
    expect(pmemFreeExtents(s, "h1", "NV0")).toEqual([
      { offsetMb: 0, lengthMb: 30 }, { offsetMb: 60, lengthMb: 20 }])
    s = add(s, s1, [vol("f", 19)])
    const f = serverPmemVolumes(s, "s1").find((v) => v.name === "f")!
    expect([f.offsetMb, f.extentMb, f.size]).toEqual([60, 20, 19])
    expect(pmemHostUsage(s, "h1").find((u) => u.device === "NV0")).toEqual({
      host: "h1", device: "NV0", numaNode: 0, sizeMb: 100, alignMb: 2, usedMb: 70, freeMb: 30,
      largestFreeExtentMb: 30, freeExtentCount: 1, volumeCount: 4 })
  })

  it("rounds sizes up to the device alignment", () => {
    const s = add(twoNodeState(), s1, [vol("a", 3, "NV1"), vol("b", 5, "NV1"), vol("c", 1, "NV1")])
    expect(serverPmemVolumes(s, "s1").map((v) => [v.offsetMb % 4, v.extentMb])).toEqual([
      [0, 4], [0, 8], [0, 4]])
    expect(largestFreeExtentMb(s, "h1", "NV1")).toBe(64 - 16)
  })

  it("coalesces a freed extent with free neighbours on both sides", () => {
    let s = add(twoNodeState(), s1, [vol("a", 20), vol("b", 20), vol("c", 20)])
    const [a, b, c] = serverPmemVolumes(s, "s1")
    s = Result.getOrThrow(deletePmemVolumes(s, "s1", [a!.volume_uuid, c!.volume_uuid])).state
    expect(pmemFreeExtents(s, "h1", "NV0")).toHaveLength(2)
    s = Result.getOrThrow(deletePmemVolumes(s, "s1", [b!.volume_uuid])).state
    expect(pmemFreeExtents(s, "h1", "NV0")).toEqual([{ offsetMb: 0, lengthMb: 100 }])
  })

  it("mints reproducible, unique uuids from the server, the name and a sequence", () => {
    const s = twoNodeState()
    const one = Result.getOrThrow(addPmemVolumes(s, s1, [vol("a", 2), vol("b", 2)]))
    const again = Result.getOrThrow(addPmemVolumes(s, s1, [vol("a", 2), vol("b", 2)]))
    expect(one.volumes.map((v) => v.uuid)).toEqual(again.volumes.map((v) => v.uuid))
    expect(one.volumes[0]!.uuid)
      .toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-0{12}$/)
    let t = one.state
    t = Result.getOrThrow(deletePmemVolumes(t, "s1", [one.volumes[0]!.uuid])).state
    const readded = Result.getOrThrow(addPmemVolumes(t, s1, [vol("a", 2)])).volumes[0]!
    expect(readded.uuid).not.toBe(one.volumes[0]!.uuid)
    expect(readded.uuid.endsWith("000000000002")).toBe(true)
  })

  it("leaves the state it was given untouched (a dry run is the same call)", () => {
    const s = add(twoNodeState(), s1, [vol("a", 10)])
    const before = observe(s)
    Result.getOrThrow(addPmemVolumes(s, s1, [vol("b", 50), vol("c", 2, "NV1")]))
    Result.getOrThrow(deletePmemVolumes(s, "s1", [serverPmemVolumes(s, "s1")[0]!.volume_uuid]))
    releaseServer(s, "s1")
    expect(observe(s)).toEqual(before)
  })

  const rejections: Array<[string, (s: PmemState) => Result.Result<unknown, unknown>, string,
    RegExp]> = [
    ["an unknown device on the host",
      (s) => addPmemVolumes(s, s1, [vol("a", 2), vol("b", 2, "NVX")]),
      "add-pmem-vol[1].device", /\(DRAM, NV0, NV1\); "NVX" is not one/],
    ["a host without pmem", (s) => addPmemVolumes(s, { serverUuid: "s", host: "plain" },
      [vol("a", 2)]), "add-pmem-vol[0].device", /it has none/],
    ["a name twice in one request", (s) => addPmemVolumes(s, s1, [vol("a", 2), vol("a", 4)]),
      "add-pmem-vol[1].name", /also add-pmem-vol\[0\]/],
    ["an affinity device off the server's NUMA node",
      (s) => addPmemVolumes(s, { ...s1, numaNode: 0 }, [vol("a", 4, "NV1", true)]),
      "add-pmem-vol[0].device", /NUMA node 0 .* NV1 is on node 1/],
    ["affinity volumes on two NUMA nodes",
      (s) => addPmemVolumes(s, s1, [vol("a", 2, "NV0", true), vol("b", 4, "NV1", true)]),
      "add-pmem-vol[1].device", /NUMA node 0 \(add-pmem-vol\[0\]\)/],
    ["a size of zero from a library caller", (s) => addPmemVolumes(s, s1, [vol("a", 0)]),
      "add-pmem-vol[0].size", /positive integer/],
    ["an empty list from a library caller", (s) => addPmemVolumes(s, s1, []),
      "add-pmem-vol", /1 to 64/],
    ["a uuid listed twice", (s) => deletePmemVolumes(s, "s1", [
      "00000000-0000-8000-8000-000000000001", "00000000-0000-8000-8000-000000000001"]),
      "del-pmem-vol[1].volume_uuid", /listed once/],
  ]
  it.each(rejections)("rejects %s with a BadRequest naming the field", (_what, call, path, msg) => {
    const s = twoNodeState()
    const before = observe(s)
    const issue = issuesOf(call(s) as never).find((i) => i.path === path)
    expect(issue).toBeDefined()
    expect(issue!.message).toMatch(msg)
    expect(observe(s)).toEqual(before)
  })

  it("keeps non-affinity volumes off the NUMA rule", () => {
    const s = add(twoNodeState(), { ...s1, numaNode: 0 }, [vol("a", 4, "NV1")])
    expect(pinnedHost(s, "s1")).toBeUndefined()
    expect(serverPmemHost(s, "s1")).toBe("h1")
  })

  it("answers NotFound for an unknown host", () => {
    const ref = { serverUuid: "s", host: "nope" }
    const e = failure(addPmemVolumes(twoNodeState(), ref, [vol("a", 2)]))
    expect([e._tag, httpStatus(e as never), e.message]).toEqual(
      ["NotFound", 404, "host nope could not be found."])
  })

  it("answers Conflict for a name the server already has, not for another server's", () => {
    const s = add(twoNodeState(), s1, [vol("a", 2)])
    const e = failure(addPmemVolumes(s, s1, [vol("b", 2), vol("a", 2)]))
    expect([e._tag, httpStatus(e as never)]).toEqual(["Conflict", 409])
    expect(e.message).toMatch(/named "a"/)
    add(s, { serverUuid: "s2", host: "h1" }, [vol("a", 2)])
  })

  it("answers Conflict when the server's volumes are on another host or NUMA node", () => {
    let s = add(twoNodeState(), s1, [vol("a", 2, "NV1", true)])
    expect(pinnedHost(s, "s1")).toEqual({ host: "h1", numaNode: 1 })
    expect(failure(addPmemVolumes(s, { serverUuid: "s1", host: "h2" }, [vol("b", 2)])).message)
      .toMatch(/on host h1, not h2/)
    expect(failure(addPmemVolumes(s, { ...s1, numaNode: 0 }, [vol("b", 2)])).message)
      .toMatch(/pinned to NUMA node 1/)
    expect(issuesOf(addPmemVolumes(s, s1, [vol("b", 2, "NV0", true)]))[0]!.message)
      .toMatch(/NUMA node 1/)
    s = add(s, { ...s1, numaNode: 1 }, [vol("b", 2, "NV1", true)])
    expect(serverPmemVolumes(s, "s1")).toHaveLength(2)
  })

  it("answers Forbidden past 64 volumes on one server", () => {
    let s = twoNodeState()
    for (let i = 0; i < 4; i++) {
      s = add(s, s1, Array.from({ length: 16 }, (_, k) => vol(`v${i}-${k}`, 1, "DRAM")))
    }
    const e = failure(addPmemVolumes(s, s1, [vol("one-more", 1, "DRAM")]))
    expect([e._tag, httpStatus(e as never)]).toEqual(["Forbidden", 403])
    expect(e.message).toMatch(/65 pmem volumes; at most 64/)
  })

  it("answers InsufficientCapacity for the device, all or nothing", () => {
    const s = add(twoNodeState(), s1, [vol("a", 40)])
    const before = observe(s)
    const e = failure(addPmemVolumes(s, s1, [vol("x", 2, "NV1"), vol("b", 40), vol("c", 30)]))
    expect(e).toBeInstanceOf(PmemInsufficientCapacity)
    const c = e as PmemInsufficientCapacity
    expect([c._tag, c.resource, c.requested, c.free, c.capacity, c.host, c.fragmentation])
      .toEqual(["InsufficientCapacity", "pmem:NV0", 70, 60, 100, "h1", false])
    expect(httpStatus(c)).toBe(409)
    expect(observe(s)).toEqual(before)
  })

  it("says fragmentation when the free total suffices but no extent does", () => {
    let s = add(twoNodeState(), s1, [vol("a", 20), vol("b", 20), vol("c", 20), vol("d", 20)])
    const [a, , c] = serverPmemVolumes(s, "s1")
    s = Result.getOrThrow(deletePmemVolumes(s, "s1", [a!.volume_uuid, c!.volume_uuid])).state
    expect(pmemHostUsage(s, "h1")[1]!.freeMb).toBe(60)
    const e = failure(addPmemVolumes(s, s1, [vol("big", 30)])) as PmemInsufficientCapacity
    expect([e.requested, e.free, e.fragmentation, e.largestFreeExtentMb])
      .toEqual([30, 60, true, 20])
    expect(e.message).toMatch(/fragmentation.*largest free extent is 20 MB/)
  })

  it("refuses a volume larger than the whole device as plain shortage", () => {
    const e = failure(addPmemVolumes(twoNodeState(), s1,
      [vol("a", 101)])) as PmemInsufficientCapacity
    expect([e.requested, e.free, e.capacity, e.fragmentation]).toEqual([102, 100, 100, false])
  })
})

describe("deleting and releasing volumes", () => {
  it("answers NotFound for a uuid the server does not hold, all or nothing", () => {
    const s = add(add(twoNodeState(), s1, [vol("a", 2), vol("b", 2)]),
      { serverUuid: "s2", host: "h1" }, [vol("c", 2)])
    const [a] = serverPmemVolumes(s, "s1")
    const other = serverPmemVolumes(s, "s2")[0]!.volume_uuid
    const before = observe(s)
    for (const [server, uuids] of [["s1", [a!.volume_uuid, other]], ["nobody", [a!.volume_uuid]],
      ["s1", ["ffffffff-ffff-8fff-bfff-ffffffffffff"]]] as const) {
      const e = failure(deletePmemVolumes(s, server, uuids))
      expect([e._tag, httpStatus(e as never)]).toEqual(["NotFound", 404])
      expect(e.message).toMatch(/^pmem volume .* could not be found\.$/)
    }
    expect(observe(s)).toEqual(before)
  })

  it("accepts upper-case uuids and unpins with the last affinity volume", () => {
    let s = add(twoNodeState(), s1, [vol("a", 2, "NV0", true), vol("b", 2)])
    const [a, b] = serverPmemVolumes(s, "s1")
    s = Result.getOrThrow(deletePmemVolumes(s, "s1", [a!.volume_uuid.toUpperCase()])).state
    expect(pinnedHost(s, "s1")).toBeUndefined()
    expect(serverPmemVolumes(s, "s1")).toEqual([b])
    s = Result.getOrThrow(deletePmemVolumes(s, "s1", [b!.volume_uuid])).state
    expect(serverPmemHost(s, "s1")).toBeUndefined()
    expect(checkPmemInvariants(s)).toEqual([])
  })

  it("tells apart volumes whose sequences share their low bits (the keys' filter)", () => {
    // Volume keys keep 23 bits of the sequence: these two volumes have equal ones.
    let s = add(twoNodeState(), s1, [vol("a", 2)])
    s = add({ ...s, nextSequence: 2 ** 23 }, s1, [vol("b", 2)])
    const [a, b] = serverPmemVolumes(s, "s1")
    const forged = `${a!.volume_uuid.slice(0, 24)}${(2 ** 24).toString(16).padStart(12, "0")}`
    expect(failure(deletePmemVolumes(s, "s1", [forged]))._tag).toBe("NotFound")
    const withoutB = Result.getOrThrow(deletePmemVolumes(s, "s1", [b!.volume_uuid])).state
    expect(serverPmemVolumes(withoutB, "s1")).toEqual([a])
    const withoutA = Result.getOrThrow(deletePmemVolumes(s, "s1", [a!.volume_uuid])).state
    expect(serverPmemVolumes(withoutA, "s1")).toEqual([b])
    expect(failure(addPmemVolumes(s, s1, [vol("b", 2)]))._tag).toBe("Conflict")
    expect(checkPmemInvariants(withoutA)).toEqual([])
  })

  it("keeps a server's extents while others come and go, and frees them on release", () => {
    let s = add(twoNodeState(), s1, [vol("keep", 30, "NV0", true), vol("dram", 512, "DRAM")])
    const kept = serverPmemVolumes(s, "s1")
    for (let i = 0; i < 20; i++) {
      const other = { serverUuid: `o${i}`, host: "h1" }
      s = add(s, other, [vol("x", 2 + (i % 5) * 2), vol("y", 100, "DRAM")])
      if (i % 3 !== 0) s = releaseServer(s, `o${i - 1}`).state
    }
    expect(serverPmemVolumes(s, "s1")).toEqual(kept)
    for (let i = 0; i < 20; i++) s = releaseServer(s, `o${i}`).state
    const released = releaseServer(s, "s1")
    expect(released.volumes.map((v) => v.name)).toEqual(["keep", "dram"])
    expect(pmemUsage(released.state)
      .map((u) => [u.device, u.freeExtentCount, u.freeMb === u.sizeMb]))
      .toEqual([["DRAM", 1, true], ["NV0", 1, true], ["NV1", 1, true], ["NV0", 1, true]])
    expect(releaseServer(released.state, "s1").state).toBe(released.state)
  })
})

describe("placement queries", () => {
  it("answers pmemFits as addPmemVolumes would", () => {
    const s = add(twoNodeState(), s1, [vol("a", 40), vol("b", 20), vol("c", 20)])
    const [, b] = serverPmemVolumes(s, "s1")
    const t = Result.getOrThrow(deletePmemVolumes(s, "s1", [b!.volume_uuid])).state
    const cases: Array<[Array<{ sizeMb: number; device: string; affinity: boolean }>, number |
      undefined, boolean]> = [
      [[{ sizeMb: 20, device: "NV0", affinity: false }], undefined, true],
      [[{ sizeMb: 21, device: "NV0", affinity: false }], undefined, false],
      [[{ sizeMb: 20, device: "NV0", affinity: false }, { sizeMb: 20, device: "NV0",
        affinity: false }], undefined, true],
      [[{ sizeMb: 20, device: "NV0", affinity: false }, { sizeMb: 22, device: "NV0",
        affinity: false }], undefined, false],
      [[{ sizeMb: 4, device: "NV1", affinity: true }], 0, false],
      [[{ sizeMb: 4, device: "NV1", affinity: true }], 1, true],
      [[{ sizeMb: 4, device: "NVX", affinity: false }], undefined, false],
      [[], undefined, true],
    ]
    for (const [volumes, node, expected] of cases) {
      expect(pmemFits(t, "h1", volumes, node), JSON.stringify([volumes, node])).toBe(expected)
    }
    expect(largestFreeExtentMb(t, "h1", "NV0")).toBe(20)
    expect(largestFreeExtentMb(t, "h1", "nope")).toBe(0)
    expect(pmemHostUsage(t, "plain")).toEqual([])
  })
})
