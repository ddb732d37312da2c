/**
 * Request-body parsing for the HTTP façade: JSON text to a value, with the limits a hostile
 * client needs. Malformed JSON names where it broke; nesting is bounded; `__proto__` and
 * `constructor` keys are rejected with their path, so they never reach an object prototype
 * (JSON.parse makes them own properties, but a later spread or assignment could still lift them).
 */
import { Result } from "effect"
import { formatPath } from "../../core/decode.ts"
import { type BadRequest, invalid, invalidAll } from "../../core/errors.ts"

/** Deepest nesting of arrays and objects a body may have. */
export const bodyDepthMax = 32
/** Most values (objects, arrays, scalars) one body may hold. */
export const bodyNodesMax = 100_000

const forbiddenKeys: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"])

/** Parses a request body's text; an empty body is `undefined`. */
export function parseBody(text: string): Result.Result<unknown, BadRequest> {
  if (text.trim() === "") return Result.succeed(undefined)
  let value: unknown
  try {
    value = JSON.parse(text) as unknown
  } catch (e) {
    const detail = e instanceof Error ? e.message : String(e)
    const at = syntaxErrorOffset(text)
    const before = text.slice(0, at).split("\n")
    const where = `line ${before.length}, column ${before[before.length - 1]!.length + 1}`
    return Result.fail(invalidAll([{ path: "",
      message: `body is not valid JSON at ${where} (offset ${at}): ${detail}` }]))
  }
  const problem = checkBody(value)
  return problem === null ? Result.succeed(value) : Result.fail(problem)
}

/**
 * Checks a parsed body's shape: depth, size and no prototype keys. Walks iteratively (no
 * recursion, so depth cannot overflow the stack).
 */
export function checkBody(root: unknown): BadRequest | null {
  const stack: Array<{ value: unknown; path: ReadonlyArray<PropertyKey>; depth: number }> = [
    { value: root, path: [], depth: 0 },
  ]
  let nodes = 0
  while (stack.length > 0) {
    const { value, path, depth } = stack.pop()!
    nodes++
    if (nodes > bodyNodesMax) return invalid("", `a body of at most ${bodyNodesMax} values`)
    if (typeof value !== "object" || value === null) continue
    if (depth >= bodyDepthMax) {
      return invalid(formatPath(path), `nesting at most ${bodyDepthMax} levels deep`)
    }
    if (Array.isArray(value)) {
      value.forEach((v, i) => stack.push({ value: v, path: [...path, i], depth: depth + 1 }))
      continue
    }
    for (const key of Object.keys(value)) {
      if (forbiddenKeys.has(key)) {
        return invalid(formatPath([...path, key]), "no __proto__, constructor or prototype keys")
      }
      const v = (value as Record<string, unknown>)[key]
      stack.push({ value: v, path: [...path, key], depth: depth + 1 })
    }
  }
  return null
}

const literalWords = ["true", "false", "null"]
const numberPattern = /-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y
const stringPattern = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y

/**
 * The offset where JSON text stops being valid (the text's length when it ends too early).
 * A scanner with an explicit stack, so it cannot overflow on deep nesting; only called after
 * JSON.parse failed, to say where.
 */
export function syntaxErrorOffset(text: string): number {
  const stack: Array<"{" | "["> = []
  let i = 0
  // What may come next: a value, a key (or "}" when empty), a separator or closer, or the end.
  let want: "value" | "key" | "after" | "colon" = "value"
  let first = false
  const skip = () => { while (i < text.length && " \t\n\r".includes(text[i]!)) i++ }
  for (;;) {
    skip()
    if (i >= text.length) return want === "after" && stack.length === 0 ? -1 : i
    const c = text[i]!
    if (want === "value") {
      if (first && c === "]" && stack.at(-1) === "[") { stack.pop(); first = false; i++
        want = "after"; continue }
      first = false
      if (c === "{" || c === "[") { stack.push(c); i++; want = c === "{" ? "key" : "value"
        first = true; continue }
      const word = literalWords.find((w) => text.startsWith(w, i))
      if (word !== undefined) { i += word.length; want = "after"; continue }
      for (const pattern of [numberPattern, stringPattern]) pattern.lastIndex = i
      const m = c === "\"" ? stringPattern.exec(text) : numberPattern.exec(text)
      if (m === null) return i
      i += m[0].length
      want = "after"
    } else if (want === "key") {
      if (first && c === "}") { stack.pop(); first = false; i++; want = "after"; continue }
      first = false
      stringPattern.lastIndex = i
      const m = c === "\"" ? stringPattern.exec(text) : null
      if (m === null) return i
      i += m[0].length
      want = "colon"
    } else if (want === "colon") {
      if (c !== ":") return i
      i++
      want = "value"
    } else {
      const top = stack.at(-1)
      if (top === undefined) return i
      if (c === ",") { i++; want = top === "{" ? "key" : "value"; continue }
      if ((c === "}" && top === "{") || (c === "]" && top === "[")) { stack.pop(); i++; continue }
      return i
    }
  }
}
