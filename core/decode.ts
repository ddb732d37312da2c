/**
 * Decoding untrusted input with Effect Schema, the way every Corral entry point does it: all
 * problems at once, unknown keys rejected, each problem named by its path (`hosts[3].vcpus`).
 */
import { Result, Schema } from "effect"
import * as SchemaIssue from "effect/SchemaIssue"
import { type BadRequest, type InputIssue, invalidAll } from "./errors.ts"

const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

/** Renders a schema path as `a.b[2].c`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = ""
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`
    else if (typeof key === "string" && /^[A-Za-z_$][\w$-]*$/.test(key)) {
      out += out === "" ? key : `.${key}`
    } else out += `[${JSON.stringify(String(key))}]`
  }
  return out
}

/** Prefixes every issue's path with `prefix` (for decoding a part of a larger document). */
export function underPath(prefix: string, issues: ReadonlyArray<InputIssue>): InputIssue[] {
  return issues.map((i) => ({
    path: prefix === "" ? i.path : i.path === "" ? prefix : i.path.startsWith("[")
      ? `${prefix}${i.path}` : `${prefix}.${i.path}`,
    message: i.message,
  }))
}

/**
 * Decodes `input` against `schema`, collecting every issue. Excess properties are errors unless
 * `allowExcess` is set (the seeds' bodies are closed: an unknown field is a client mistake).
 */
export function decode<S extends Schema.Top & { readonly DecodingServices: never }>(
  schema: S,
  input: unknown,
  options: { readonly allowExcess?: boolean; readonly pathPrefix?: string } = {},
): Result.Result<S["Type"], BadRequest> {
  const result = Schema.decodeUnknownResult(schema)(input, {
    errors: "all",
    onExcessProperty: options.allowExcess === true ? "ignore" : "error",
  })
  if (Result.isSuccess(result)) return Result.succeed(result.success)
  const formatted = formatter(result.failure.issue)
  const issues = formatted.issues.map((i) => ({
    path: formatPath((i.path ?? []).map((k) => (typeof k === "object" ? k.key : k))),
    message: i.message,
  }))
  return Result.fail(invalidAll(underPath(options.pathPrefix ?? "", issues)))
}

/** Parses JSON text; a syntax error is a BadRequest that says where the text broke. */
export function parseJson(text: string, what = "body"): Result.Result<unknown, BadRequest> {
  try {
    return Result.succeed(JSON.parse(text) as unknown)
  } catch (e) {
    const detail = e instanceof Error ? e.message : String(e)
    return Result.fail(invalidAll([{ path: "", message: `${what} is not valid JSON: ${detail}` }]))
  }
}
