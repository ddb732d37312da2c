/**
 * The pmem volume action bodies of the seed (`POST /v2.1/<tenant>/servers/<id>/action`), decoded:
 *
 *   {"add-pmem-vol": [{"name": "pmem volume1", "size": 1024, "affinity": "True",
 *                     "device": "DRAM"}]}
 *   {"del-pmem-vol": [{"volume_uuid": "…"}]}
 *
 * Choices where the seed is loose (README "Persistent memory" lists them):
 * - `affinity` is a JSON boolean or one of the strings "True"/"False" (the seed's example) and
 *   "true"/"false"; it may be left out and then means false.
 * - `device` may be wrapped in one pair of quote marks, typographic or ASCII (the seed writes
 *   `"”DRAM”"`): no device name can contain a quote mark, so stripping them is unambiguous. A
 *   volume `name` is kept exactly as sent (a name may contain any printable character).
 * - `size` is an integer number of MB from 1 to 2^26 (a JSON number, not a string).
 * - A request names at most `pmemRequestLimits.volumesPerRequestMax` volumes; unknown fields
 *   are rejected.
 */
import { Result, Schema } from "effect"
import { decode, parseJson } from "../decode.ts"
import { type BadRequest, invalidAll } from "../errors.ts"
import { pmemDeviceSizeMbMax } from "./extents.ts"

/** Bounds on one action body. */
export const pmemRequestLimits = {
  volumesPerRequestMax: 64,
  volumeNameLengthMax: 255,
  deviceNameLengthMax: 65,
} as const

const VolumeName = Schema.String.check(
  Schema.isMinLength(1, { message: "a non-empty volume name" }),
  Schema.isMaxLength(pmemRequestLimits.volumeNameLengthMax, {
    message: `a volume name of at most ${pmemRequestLimits.volumeNameLengthMax} characters`,
  }),
  // eslint-disable-next-line no-control-regex
  Schema.isPattern(/^[^\u0000-\u001f\u007f]*$/, { message: "a name without control characters" }),
)

const SizeMb = Schema.Int.annotate({ message: "an integer number of MB" }).check(
  Schema.isBetween({ minimum: 1, maximum: pmemDeviceSizeMbMax }, {
    message: `a size in MB from 1 to ${pmemDeviceSizeMbMax}`,
  }),
)

const affinityValues: ReadonlyArray<unknown> = [true, false, "True", "False", "true", "false"]
const Affinity = Schema.Unknown.check(
  Schema.makeFilter((u: unknown) => affinityValues.includes(u), {
    message: `true, false, "True" or "False"`,
  }),
)

const DeviceName = Schema.String.check(
  Schema.isMinLength(1, { message: "a device name" }),
  Schema.isMaxLength(pmemRequestLimits.deviceNameLengthMax, {
    message: `a device name of at most ${pmemRequestLimits.deviceNameLengthMax - 2} characters`,
  }),
)

const volumesList = <S extends Schema.Top>(item: S) =>
  Schema.Array(item).check(
    Schema.isMinLength(1, { message: "a list of at least one volume" }),
    Schema.isMaxLength(pmemRequestLimits.volumesPerRequestMax, {
      message: `a list of at most ${pmemRequestLimits.volumesPerRequestMax} volumes`,
    }),
  )

/** The wire shape of `add-pmem-vol` (names as in the seed). */
export const AddPmemVolBody = Schema.Struct({
  "add-pmem-vol": volumesList(Schema.Struct({
    name: VolumeName,
    size: SizeMb,
    affinity: Schema.optionalKey(Affinity),
    device: DeviceName,
  })),
})

const Uuid = Schema.String.check(
  Schema.isPattern(/^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$/, {
    message: "a volume uuid like 0b6c7e43-6f0e-8a1d-9c35-000000000001",
  }),
)

/** The wire shape of `del-pmem-vol`. */
export const DelPmemVolBody = Schema.Struct({
  "del-pmem-vol": volumesList(Schema.Struct({ volume_uuid: Uuid })),
})

/** One volume to add, decoded: `sizeMb` in MB, `affinity` a boolean, `device` unquoted. */
export interface PmemVolumeRequest {
  readonly name: string
  readonly sizeMb: number
  readonly affinity: boolean
  readonly device: string
}

/** A decoded pmem action: add a list of volumes or delete a list of volume uuids. */
export type PmemAction =
  | { readonly _tag: "AddPmemVol"; readonly volumes: ReadonlyArray<PmemVolumeRequest> }
  | { readonly _tag: "DelPmemVol"; readonly volumeUuids: ReadonlyArray<string> }

const quoteMarks = new Set(["\"", "'", "\u201c", "\u201d", "\u201e", "\u201f", "\u2018", "\u2019"])

/** `”DRAM”` → `DRAM`: one wrapping pair of quote marks (any of them) is removed. */
export function unquoteDeviceName(device: string): string {
  if (device.length >= 3 && quoteMarks.has(device[0]!) && quoteMarks.has(device.at(-1)!)) {
    return device.slice(1, -1)
  }
  return device
}

function affinityOf(value: unknown): boolean {
  return value === true || value === "True" || value === "true"
}

/** Decodes an `add-pmem-vol` body; every problem is reported with its path. */
export function decodeAddPmemVol(
  input: unknown,
): Result.Result<ReadonlyArray<PmemVolumeRequest>, BadRequest> {
  const decoded = decode(AddPmemVolBody, input)
  if (Result.isFailure(decoded)) return Result.fail(decoded.failure)
  return Result.succeed(decoded.success["add-pmem-vol"].map((v) => ({
    name: v.name,
    sizeMb: v.size,
    affinity: affinityOf(v.affinity),
    device: unquoteDeviceName(v.device),
  })))
}

/** Decodes a `del-pmem-vol` body into lower-cased volume uuids. */
export function decodeDelPmemVol(input: unknown): Result.Result<ReadonlyArray<string>, BadRequest> {
  const decoded = decode(DelPmemVolBody, input)
  if (Result.isFailure(decoded)) return Result.fail(decoded.failure)
  return Result.succeed(decoded.success["del-pmem-vol"].map((v) => v.volume_uuid.toLowerCase()))
}

/**
 * Decodes a server action body that is a pmem action: exactly one of the keys `add-pmem-vol`
 * and `del-pmem-vol`.
 */
export function decodePmemAction(input: unknown): Result.Result<PmemAction, BadRequest> {
  const keys = typeof input === "object" && input !== null && !Array.isArray(input)
    ? Object.keys(input) : []
  if (keys.length === 1 && keys[0] === "add-pmem-vol") {
    return Result.map(decodeAddPmemVol(input), (volumes) => ({ _tag: "AddPmemVol", volumes }))
  }
  if (keys.length === 1 && keys[0] === "del-pmem-vol") {
    return Result.map(decodeDelPmemVol(input), (volumeUuids) => ({
      _tag: "DelPmemVol",
      volumeUuids,
    }))
  }
  return Result.fail(invalidAll([{
    path: "",
    message: `an object with exactly one key, "add-pmem-vol" or "del-pmem-vol"` +
      (keys.length === 0 ? "" : `; got ${keys.map((k) => JSON.stringify(k)).join(", ")}`),
  }]))
}

/** Longest action body text `parsePmemActionText` reads. */
export const pmemActionTextLengthMax = 256 * 1024

/**
 * Parses an action body's JSON text. Strict JSON first; when that fails and the text holds
 * typographic double quotes (“ ”) outside JSON strings, as the seed's examples do
 * (`{ “del-pmem-vol”:[…]}`, `"name":”pmem volume1”`), they are read as string delimiters
 * and the text is parsed once more. Quotes inside an ASCII-quoted string are left as they
 * are. Any other syntax error (the seed's add example also lacks its closing brace) is a
 * BadRequest.
 */
export function parsePmemActionText(text: string): Result.Result<unknown, BadRequest> {
  if (text.length > pmemActionTextLengthMax) {
    return Result.fail(invalidAll([{
      path: "",
      message: `an action body of at most ${pmemActionTextLengthMax} characters`,
    }]))
  }
  const strict = parseJson(text, "action body")
  if (Result.isSuccess(strict)) return strict
  const repaired = typographicQuotesAsDelimiters(text)
  if (repaired === text) return strict
  const second = parseJson(repaired, "action body")
  return Result.isSuccess(second) ? second : strict
}

function typographicQuotesAsDelimiters(text: string): string {
  let out = ""
  let inAscii = false
  let inTypographic = false
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!
    if (inAscii) {
      out += ch
      if (ch === "\\") out += text[++i] ?? ""
      else if (ch === "\"") inAscii = false
    } else if (inTypographic) {
      if (ch === "\u201c" || ch === "\u201d") {
        out += "\""
        inTypographic = false
      } else out += ch === "\"" || ch === "\\" ? `\\${ch}` : ch
    } else if (ch === "\"") {
      inAscii = true
      out += ch
    } else if (ch === "\u201c" || ch === "\u201d") {
      inTypographic = true
      out += "\""
    } else out += ch
  }
  return out
}
