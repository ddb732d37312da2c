/**
 * The image repository: import, query, delete, export, root disk size, and the pure halves of
 * deploy and capture. URLs are `http`, `https` or `file`; a `file://` path must stay inside the
 * configured image root (no `..` escape). Fetching and copying bytes is the driver's job: each
 * operation is planned here (checks, no change), the driver acts, and the result is committed
 * here.
 */
import { Result, Schema } from "effect"
import { Conflict, err, invalid, NotFound, ok, type BadRequest, type CorralError,
  type Outcome } from "../errors.ts"
import { eckdCylinderBytes, fbaBlockBytes, Userid, Vdev } from "../lifecycle/fields.ts"
import { findGuest } from "../lifecycle/guests.ts"
import { canonicalVdev, sdkLimits, withEntry, withoutEntry, type Image, type SdkState,
  type Step } from "../sdk/state.ts"

/** An image name: 1-255 characters, no slash or NUL. */
export const ImageName = Schema.String.check(Schema.makeFilter((s: string) =>
  /^[^/\0]{1,255}$/.test(s) && s !== "." && s !== ".." ||
  "an image name of 1-255 characters without '/'"))

const RemoteHost = Schema.String.check(Schema.makeFilter((s: string) =>
  /^[A-Za-z0-9._-]{1,32}@[A-Za-z0-9.:-]{1,253}$/.test(s) ||
  "username@host, e.g. nova@192.168.99.1"))

/** Longest URL accepted. */
export const urlLengthMax = 4096

/**
 * Normalises an absolute POSIX path (`/a/./b/../c` → `/a/c`); undefined if `..` climbs above
 * the root or the path is not absolute.
 */
export function normalisePath(path: string): string | undefined {
  if (!path.startsWith("/")) return undefined
  const out: string[] = []
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue
    if (part === "..") {
      if (out.length === 0) return undefined
      out.pop()
    } else out.push(part)
  }
  return `/${out.join("/")}`
}

/** Whether normalised `path` is `root` or below it. */
export function isUnder(path: string, root: string): boolean {
  const r = normalisePath(root)
  if (r === undefined) throw new Error(`image root ${root} is not an absolute path`)
  return path === r || path.startsWith(r === "/" ? "/" : `${r}/`)
}

/** Checks an image URL: scheme http/https/file, and a file path inside `imageRoot`. */
export function checkImageUrl(url: string, imageRoot: string, path: string,
  schemes: ReadonlyArray<string> = ["http", "https", "file"]): Outcome<string, BadRequest> {
  const expected = `a ${schemes.join(", ")} URL`
  if (url.length > urlLengthMax) {
    return err(invalid(path, `${expected} of at most ${urlLengthMax} characters`))
  }
  const m = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(url)
  if (m === null || !schemes.includes(m[1]!.toLowerCase())) return err(invalid(path, expected))
  if (m[1]!.toLowerCase() !== "file") {
    return /^[^/\s]+\/\S*$/.test(m[2]!) ? ok(url)
      : err(invalid(path, `${expected} with a host and path`))
  }
  let decoded: string
  try { decoded = decodeURIComponent(m[2]!) } catch { return err(invalid(path, expected)) }
  const normal = normalisePath(decoded)
  if (normal === undefined || !isUnder(normal, imageRoot) || decoded.includes("\0")) {
    return err(invalid(path, `a file:// path inside the image root ${imageRoot}`))
  }
  return ok(`file://${normal}`)
}

/** `image_import` parameters. */
export const ImageImportRequest = Schema.Struct({
  image_name: ImageName,
  url: Schema.String,
  image_meta: Schema.Struct({
    os_version: Schema.String.check(Schema.makeFilter((s: string) =>
      /^[A-Za-z]+[0-9][0-9A-Za-z.]*$/.test(s) || "an OS version like rhel7.2")),
    md5sum: Schema.optionalKey(Schema.String.check(Schema.makeFilter((s: string) =>
      /^\s*[0-9a-fA-F]{32}\s*$/.test(s) || "32 hexadecimal digits"))),
    disk_type: Schema.optionalKey(Schema.Literals(["ECKD", "FBA", "CKD"])),
  }),
  remote_host: Schema.optionalKey(Schema.NullOr(RemoteHost)),
})
export type ImageImportRequest = typeof ImageImportRequest.Type

/** Checks an import before the driver fetches anything: URL and a free name. */
export function planImageImport(state: SdkState, r: ImageImportRequest): Outcome<string,
  CorralError> {
  const url = checkImageUrl(r.url, state.config.imageRoot, "url")
  if (Result.isFailure(url)) return err(url.failure)
  if (state.images.has(r.image_name)) {
    return err(new Conflict({ message: `Image import error: image name ${r.image_name} ` +
      "already exists in the image repository." }))
  }
  if (state.images.size >= sdkLimits.imagesMax) {
    return err(new Conflict({ message: `The repository holds ${sdkLimits.imagesMax} images.` }))
  }
  return url
}

/** The root disk size of an image of `sizeBytes` on `diskType`, in the connector's form. */
export function rootDiskSize(sizeBytes: number, diskType: "ECKD" | "FBA"): string {
  return diskType === "ECKD" ? `${Math.max(1, Math.ceil(sizeBytes / eckdCylinderBytes))}:CYL`
    : `${Math.max(1, Math.ceil(sizeBytes / fbaBlockBytes))}:BLK`
}

/** Commits an import the driver fetched: the md5sum must match `image_meta.md5sum` if given. */
export function commitImageImport(
  state: SdkState,
  r: ImageImportRequest,
  source: string,
  stored: { sizeBytes: number; md5sum: string },
): Outcome<Step<null>, CorralError> {
  const want = r.image_meta.md5sum?.trim().toLowerCase()
  if (want !== undefined && want !== stored.md5sum) {
    return err(invalid("image_meta.md5sum",
      `the md5sum of the image at the URL (${stored.md5sum})`))
  }
  const diskType = r.image_meta.disk_type === "FBA" ? "FBA" : "ECKD"
  const image: Image = { name: r.image_name, url: source, osVersion: r.image_meta.os_version,
    md5sum: stored.md5sum, sizeBytes: stored.sizeBytes, diskType,
    rootDiskSize: rootDiskSize(stored.sizeBytes, diskType) }
  return ok({ state: { ...state, images: withEntry(state.images, image.name, image) },
    output: null, commands: [] })
}

/** The image named `name`, or NotFound. */
export function findImage(state: SdkState, name: string): Outcome<Image, NotFound> {
  const image = state.images.get(name)
  return image === undefined ? err(new NotFound({ resource: "image", id: name })) : ok(image)
}

/** One entry of `image_query`, in the connector's field names. */
export interface ImageInfo {
  readonly imagename: string
  readonly imageosdistro: string
  readonly md5sum: string
  readonly disk_size_units: string
  readonly image_size_in_bytes: string
  readonly type: string
  readonly comments: string | null
}

/** `image_query`: one image (NotFound if absent) or all, by name. */
export function imageQuery(state: SdkState, name?: string): Outcome<ReadonlyArray<ImageInfo>,
  NotFound> {
  const info = (i: Image): ImageInfo => ({ imagename: i.name, imageosdistro: i.osVersion,
    md5sum: i.md5sum, disk_size_units: i.rootDiskSize, image_size_in_bytes: String(i.sizeBytes),
    type: "rootonly", comments: i.comments ?? null })
  if (name !== undefined) return Result.map(findImage(state, name), (i) => [info(i)])
  return ok([...state.images.values()].sort((a, b) => a.name.localeCompare(b.name)).map(info))
}

/** `image_delete`: removes the record; the driver removes the bytes. */
export function imageDelete(state: SdkState, name: string): Outcome<Step<null>, NotFound> {
  return Result.map(findImage(state, name), (i) => ({
    state: { ...state, images: withoutEntry(state.images, i.name) }, output: null,
    commands: [{ kind: "deleteImage" as const, imageName: i.name }],
  }))
}

/** `image_export` parameters. */
export const ImageExportRequest = Schema.Struct({
  image_name: ImageName,
  dest_url: Schema.String,
  remote_host: Schema.optionalKey(Schema.NullOr(RemoteHost)),
})

/** Checks an export: the image exists and `dest_url` is a `file://` path inside the root. */
export function planImageExport(state: SdkState, r: typeof ImageExportRequest.Type):
  Outcome<{ image: Image; dest: string }, CorralError> {
  const dest = checkImageUrl(r.dest_url, state.config.imageRoot, "dest_url", ["file"])
  if (Result.isFailure(dest)) return err(dest.failure)
  return Result.map(findImage(state, r.image_name), (image) => ({ image, dest: dest.success }))
}

/** `guest_deploy` parameters. */
export const GuestDeployRequest = Schema.Struct({
  userid: Userid,
  image_name: ImageName,
  transportfiles: Schema.optionalKey(Schema.NullOr(Schema.String.check(Schema.makeFilter(
    (s: string) => normalisePath(s) !== undefined || "an absolute path to the transport files")))),
  remotehost: Schema.optionalKey(Schema.NullOr(RemoteHost)),
  vdev: Schema.optionalKey(Schema.NullOr(Vdev)),
})

function unitsOf(size: string): number {
  return Number(size.slice(0, size.indexOf(":")))
}

/**
 * `guest_deploy`: writes the image onto the guest's disk `vdev` (default its boot disk). The disk
 * must be at least the image's root disk size, on the image's disk type.
 */
export function guestDeploy(state: SdkState, r: typeof GuestDeployRequest.Type):
  Outcome<Step<null>, CorralError> {
  const found = findGuest(state, r.userid)
  if (Result.isFailure(found)) return err(found.failure)
  const guest = found.success
  const image = findImage(state, r.image_name)
  if (Result.isFailure(image)) return err(image.failure)
  const vdev = r.vdev == null ? guest.ipl : canonicalVdev(r.vdev)
  if (vdev === undefined) {
    return err(invalid("vdev", `a disk of ${guest.userid} (it has no boot disk)`))
  }
  const disk = guest.disks.find((d) => d.vdev === vdev)
  if (disk === undefined) {
    return err(new NotFound({ resource: `disk of ${guest.userid}`, id: vdev }))
  }
  const kind = disk.pool.startsWith("ECKD:") ? "ECKD" : "FBA"
  const need = image.success.rootDiskSize
  const have = rootDiskSize(disk.sizeBytes, kind)
  if (kind !== image.success.diskType || unitsOf(have) < unitsOf(need)) {
    return err(new Conflict({ message: `Failed to deploy image ${image.success.name} to ` +
      `userid: '${guest.userid}': disk ${vdev} (${have}) cannot hold the image's root disk ` +
      `(${need}, ${image.success.diskType}).` }))
  }
  const disks = guest.disks.map((d) => (d.vdev === vdev ? { ...d, image: image.success.name } : d))
  const next = { ...guest, disks, osVersion: image.success.osVersion }
  return ok({ state: { ...state, guests: withEntry(state.guests, guest.userid, next) },
    output: null,
    commands: [{ kind: "deployImage", userid: guest.userid, vdev,
      imageName: image.success.name }] })
}

/** `guest_capture` parameters. */
export const GuestCaptureRequest = Schema.Struct({
  userid: Userid,
  image_name: ImageName,
  capture_type: Schema.optionalKey(Schema.Literals(["rootonly", "alldisks"])),
  compress_level: Schema.optionalKey(Schema.Int.check(Schema.makeFilter((n: number) =>
    (n >= 0 && n <= 9) || "a compression level from 0 to 9"))),
})
export type GuestCaptureRequest = typeof GuestCaptureRequest.Type

/** Checks a capture: guest, a free image name, and the disks to copy (root first). */
export function planCapture(state: SdkState, r: GuestCaptureRequest):
  Outcome<{ vdevs: ReadonlyArray<string>; diskType: "ECKD" | "FBA" }, CorralError> {
  const found = findGuest(state, r.userid)
  if (Result.isFailure(found)) return err(found.failure)
  const g = found.success
  if (state.images.has(r.image_name)) {
    return err(new Conflict({ message: `Image ${r.image_name} already exists.` }))
  }
  const root = g.disks.find((d) => d.vdev === g.ipl) ?? g.disks[0]
  if (root === undefined) {
    return err(new Conflict({ message: `Failed to capture userid ${g.userid} to generate image, ` +
      "error: the guest has no disk." }))
  }
  const others = g.disks.filter((d) => d.vdev !== root.vdev).map((d) => d.vdev)
  const vdevs = (r.capture_type ?? "rootonly") === "alldisks" ? [root.vdev, ...others] : [root.vdev]
  return ok({ vdevs, diskType: root.pool.startsWith("ECKD:") ? "ECKD" : "FBA" })
}

/** Commits a capture the driver performed as a new image. */
export function commitCapture(
  state: SdkState,
  r: GuestCaptureRequest,
  plan: { vdevs: ReadonlyArray<string>; diskType: "ECKD" | "FBA" },
  stored: { sizeBytes: number; md5sum: string },
): Step<null> {
  const g = state.guests.get(r.userid.toUpperCase())
  if (g === undefined) throw new Error("commitCapture: guest vanished after planCapture")
  const image: Image = { name: r.image_name, url: `capture:${g.userid}`,
    osVersion: g.osVersion ?? "unknown0", md5sum: stored.md5sum, sizeBytes: stored.sizeBytes,
    diskType: plan.diskType, rootDiskSize: rootDiskSize(stored.sizeBytes, plan.diskType),
    comments: `captured ${r.capture_type ?? "rootonly"} (${plan.vdevs.join(",")}) ` +
      `compress_level ${r.compress_level ?? 6}` }
  return { state: { ...state, images: withEntry(state.images, image.name, image) }, output: null,
    commands: [] }
}
