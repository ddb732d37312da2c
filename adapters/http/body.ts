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
    return Result.fail(invalidAll([{ path: "", message: `body is not valid JSON: ${detail}` }]))
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
