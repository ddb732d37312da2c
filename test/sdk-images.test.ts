import { createHash } from "node:crypto"
import fc from "fast-check"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { checkImageUrl, normalisePath } from "../core/images/images.ts"
import { expectBadRequest, imageRoot, simSdk } from "./sdk-harness.ts"

const imageBytes = new Uint8Array(2 * 737280 + 1).fill(7)
const md5 = createHash("md5").update(imageBytes).digest("hex")
const files = new Map([
  [`file://${imageRoot}/rhel7.img`, imageBytes],
  ["http://repo.example/rhel7.img", imageBytes],
])

const importReq = (extra: Record<string, unknown> = {}) => ({ image_name: "rhel7",
  url: `file://${imageRoot}/rhel7.img`, image_meta: { os_version: "rhel7.2", md5sum: md5 },
  ...extra })

describe("image repository", () => {
  it("imports, queries, sizes, exports and deletes an image", () => {
    const t = simSdk({ files })
    t.ok(t.sdk.image_import(importReq()))
    expect(t.ok(t.sdk.image_query("rhel7"))).toEqual([{ imagename: "rhel7",
      imageosdistro: "rhel7.2", md5sum: md5, disk_size_units: "3:CYL",
      image_size_in_bytes: String(imageBytes.length), type: "rootonly", comments: null }])
    expect(t.ok(t.sdk.image_get_root_disk_size("rhel7"))).toBe("3:CYL")
    expect(t.ok(t.sdk.image_export({ image_name: "rhel7",
      dest_url: `file://${imageRoot}/export/rhel7.img` }))).toEqual({ image_name: "rhel7",
      image_path: `${imageRoot}/export/rhel7.img`, os_version: "rhel7.2", md5sum: md5 })
    t.ok(t.sdk.image_delete("rhel7"))
    expect(t.ok(t.sdk.image_query())).toEqual([])
    expect(t.driver.imageBytes("rhel7")).toBeUndefined()
    expect(t.fails(t.sdk.image_query("rhel7")).cause)
      .toMatchObject({ _tag: "NotFound", resource: "image", id: "rhel7" })
    expect(t.fails(t.sdk.image_delete("rhel7")).connector).toMatchObject({ overallRC: 404,
      modID: 40 })
  })

  it("imports over http; FBA images size in blocks", () => {
    const t = simSdk({ files })
    t.ok(t.sdk.image_import(importReq({ url: "http://repo.example/rhel7.img",
      image_meta: { os_version: "rhel7", disk_type: "FBA" } })))
    expect(t.ok(t.sdk.image_get_root_disk_size("rhel7"))).toBe("2881:BLK")
  })

  it("an existing image name is a conflict (rs 13); a wrong md5sum a BadRequest", () => {
    const t = simSdk({ files })
    t.ok(t.sdk.image_import(importReq()))
    const f = t.fails(t.sdk.image_import(importReq()))
    expect(f.connector).toMatchObject({ overallRC: 409, rs: 13, modID: 40 })
    const bad = t.fails(t.sdk.image_import(importReq({ image_name: "other",
      image_meta: { os_version: "rhel7", md5sum: "0".repeat(32) } })))
    expectBadRequest(bad, "image_meta.md5sum", `the md5sum of the image at the URL (${md5})`)
    expect(t.driver.imageBytes("other")).toBeUndefined()
    expect(t.ok(t.sdk.image_query()).map((i) => i.imagename)).toEqual(["rhel7"])
  })

  const badUrls: ReadonlyArray<[string, string]> = [
    ["ftp://host/x.img", "a http, https, file URL"],
    ["file:///etc/passwd", `a file:// path inside the image root ${imageRoot}`],
    [`file://${imageRoot}/../etc/passwd`, `a file:// path inside the image root ${imageRoot}`],
    [`file://${imageRoot}/a/%2e%2e/%2e%2e/etc`,
      `a file:// path inside the image root ${imageRoot}`],
    [`file://${imageRoot}x/img`, `a file:// path inside the image root ${imageRoot}`],
    ["http://", "a http, https, file URL with a host and path"],
    ["/srv/images/x.img", "a http, https, file URL"],
  ]
  it.each(badUrls)("image_import rejects url %s", (url, message) => {
    const t = simSdk({ files })
    expectBadRequest(t.fails(t.sdk.image_import(importReq({ url }))), "url", message)
    expect(t.ok(t.sdk.image_query())).toEqual([])
  })

  it("image_export only writes file:// inside the root", () => {
    const t = simSdk({ files })
    t.ok(t.sdk.image_import(importReq()))
    expectBadRequest(t.fails(t.sdk.image_export({ image_name: "rhel7",
      dest_url: "http://host/x" })), "dest_url", "a file URL")
    expectBadRequest(t.fails(t.sdk.image_export({ image_name: "rhel7",
      dest_url: "file:///tmp/x" })), "dest_url",
    `a file:// path inside the image root ${imageRoot}`)
  })

  it("a remote_host must be user@host", () => {
    const t = simSdk({ files })
    expectBadRequest(t.fails(t.sdk.image_import(importReq({ remote_host: "192.168.99.1" }))),
      "remote_host", "username@host, e.g. nova@192.168.99.1")
  })

  it("no normalised file URL escapes the root", () => {
    fc.assert(fc.property(fc.array(fc.constantFrom("..", ".", "a", "b", "", "%2e%2e", "images"),
      { maxLength: 8 }), (parts) => {
      const r = checkImageUrl(`file://${imageRoot}/${parts.join("/")}`, imageRoot, "url")
      if (Result.isSuccess(r)) {
        const path = r.success.slice("file://".length)
        expect(path === imageRoot || path.startsWith(`${imageRoot}/`)).toBe(true)
        expect(normalisePath(path)).toBe(path)
      }
    }))
  })
})

describe("deploy and capture", () => {
  it("deploys onto the boot disk and captures it back as an image", () => {
    const t = simSdk({ files })
    t.ok(t.sdk.image_import(importReq()))
    t.ok(t.sdk.guest_create({ userid: "VM1", vcpus: 1, memory: 512,
      disk_list: [{ size: "10", is_boot_disk: true }, { size: "5" }] }))
    t.ok(t.sdk.guest_deploy({ userid: "VM1", image_name: "rhel7" }))
    const g = t.ok(t.sdk.snapshot()).guests.get("VM1")!
    expect(g.disks[0]!.image).toBe("rhel7")
    expect(g.osVersion).toBe("rhel7.2")
    t.ok(t.sdk.guest_capture({ userid: "VM1", image_name: "cap1" }))
    const [cap] = t.ok(t.sdk.image_query("cap1"))
    expect(cap).toMatchObject({ md5sum: md5, imageosdistro: "rhel7.2", disk_size_units: "3:CYL" })
    expect(cap!.comments).toContain("rootonly (0100) compress_level 6")
    t.ok(t.sdk.guest_capture({ userid: "VM1", image_name: "cap2", capture_type: "alldisks",
      compress_level: 9 }))
    expect(t.ok(t.sdk.image_query("cap2"))[0]!.comments).toContain("alldisks (0100,0101)")
  })

  it("a disk too small for the image's root disk is a conflict", () => {
    const t = simSdk({ files })
    t.ok(t.sdk.image_import(importReq()))
    t.ok(t.sdk.guest_create({ userid: "VM1", vcpus: 1, memory: 512, disk_list: [{ size: "2" }] }))
    const f = t.fails(t.sdk.guest_deploy({ userid: "VM1", image_name: "rhel7" }))
    expect(f.message).toContain("disk 0100 (2:CYL) cannot hold the image's root disk (3:CYL")
    expect(t.ok(t.sdk.snapshot()).guests.get("VM1")!.disks[0]!.image).toBeUndefined()
  })

  it("deploy to an unknown guest or image is not found; capture needs a disk", () => {
    const t = simSdk({ files })
    expect(t.fails(t.sdk.guest_deploy({ userid: "VM1", image_name: "x" })).cause._tag)
      .toBe("NotFound")
    t.ok(t.sdk.guest_create({ userid: "VM1", vcpus: 1, memory: 512 }))
    expect(t.fails(t.sdk.guest_deploy({ userid: "VM1", image_name: "x" })).cause)
      .toMatchObject({ _tag: "NotFound", resource: "image" })
    expect(t.fails(t.sdk.guest_capture({ userid: "VM1", image_name: "c" })).message)
      .toContain("the guest has no disk")
    expectBadRequest(t.fails(t.sdk.guest_capture({ userid: "VM1", image_name: "c",
      capture_type: "some" })), "capture_type", "Expected \"rootonly\" | \"alldisks\"")
    expectBadRequest(t.fails(t.sdk.guest_capture({ userid: "VM1", image_name: "c",
      compress_level: 10 })), "compress_level", "a compression level from 0 to 9")
  })
})

describe("volumes", () => {
  const volume = (userid: string, lun = "2222") => ({
    guest: { name: userid, os_type: "rhel7.2" },
    volume: { size: "10G", type: "fc", lun },
    connection_info: { alias: "/dev/vda", protocol: "fc", fcps: ["b010", "b110"],
      wwpns: ["500507680b21bac6"], dedicate: ["b010", "b110"] },
  })

  it("attaches a LUN to one guest at a time and detaches it", () => {
    const t = simSdk()
    t.ok(t.sdk.guest_create({ userid: "VM1", vcpus: 1, memory: 512 }))
    t.ok(t.sdk.guest_create({ userid: "VM2", vcpus: 1, memory: 512 }))
    t.ok(t.sdk.volume_attach(volume("VM1")))
    const again = t.fails(t.sdk.volume_attach(volume("VM2")))
    expect(again.connector).toMatchObject({ overallRC: 409, rs: 3, modID: 30 })
    const wrong = t.fails(t.sdk.volume_detach(volume("VM2")))
    expect(wrong.connector).toMatchObject({ rs: 4, modID: 30 })
    t.ok(t.sdk.volume_detach(volume("VM1")))
    t.ok(t.sdk.volume_attach(volume("VM2")))
    t.ok(t.sdk.guest_delete("VM2"))
    expect(t.ok(t.sdk.snapshot()).volumes.size).toBe(0)
  })

  const bad: ReadonlyArray<[string, unknown, string, string]> = [
    ["os_type", { ...volume("VM1"), guest: { name: "VM1", os_type: "win" } }, "guest.os_type",
      "rhel7, rhel7.N, sles12 or sles12spN"],
    ["lun with 0x", { ...volume("VM1", "0x2222") }, "volume.lun",
      "1-16 hexadecimal digits without 0x"],
    ["type", { ...volume("VM1"), volume: { type: "iscsi", lun: "1" } }, "volume.type",
      "Expected \"fc\""],
  ]
  it.each(bad)("rejects a bad %s", (_, input, path, message) => {
    const t = simSdk()
    t.ok(t.sdk.guest_create({ userid: "VM1", vcpus: 1, memory: 512 }))
    expectBadRequest(t.fails(t.sdk.volume_attach(input)), path, message)
  })
})
