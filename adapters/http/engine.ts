/**
 * The server's state machine: an immutable world, a table of named operations over it, and the
 * journal that makes every accepted operation durable.
 *
 * A change is an operation applied to the current world with its inputs (tenant, path params,
 * raw body) and the ids and time the adapter drew for it. The operation is pure: it decodes the
 * body with the core's schemas, calls the core, and returns the next world and the reply, or an
 * expected error. Only a success is journalled (fsync) and then installed, so an error or a
 * crash leaves the world as it was. Replay runs the same operations on the same entries.
 */
import { randomUUID } from "node:crypto"
import { Result } from "effect"
import type { CorralError, Outcome } from "../../core/errors.ts"
import type { NoValidHost } from "../../core/placement/errors.ts"
import type { SdkFailure } from "../../core/sdk/connector.ts"
import type { Journal, JournalEntry } from "./journal.ts"

/**
 * An operation's expected error: Corral's, the placement's NoValidHost (409), or the connector's
 * envelope around one.
 */
export type OpError = CorralError | NoValidHost | SdkFailure

/** What an operation answers: the HTTP status and the JSON body (undefined: no body). */
export interface Reply {
  readonly status: number
  readonly body?: unknown
}

/** An operation's success: the next world and its reply. */
export interface Applied<W> {
  readonly world: W
  readonly reply: Reply
}

/** A journalled operation: pure over the world and the entry. */
export type Operation<W> = (world: W, entry: JournalEntry) => Outcome<Applied<W>, OpError>

/** The table of operations, by name (the name is what the journal records). */
export type Operations<W> = Readonly<Record<string, Operation<W>>>

/** Most ids one operation may draw. */
export const idsPerOperationMax = 1_024

/** Where ids and time come from: injected so tests and replays are deterministic. */
export interface Sources {
  readonly nowMs: () => number
  readonly newId: () => string
}

/** The real sources: wall clock and random UUIDs. */
export const systemSources: Sources = { nowMs: () => Date.now(), newId: () => randomUUID() }

/** A change request, before it has ids and a time. */
export interface Change {
  readonly op: string
  readonly tenant: string
  readonly params: Readonly<Record<string, string>>
  readonly body: unknown
  readonly idsCount: number
}

/** The live state: read `world`, submit changes with `apply`. */
export interface Engine<W> {
  readonly world: () => W
  /** Applies a change; on success it is durable before this returns. */
  readonly apply: (change: Change) => Outcome<Reply, OpError>
  /** How many entries the journal holds (replayed plus appended). */
  readonly seq: () => number
  readonly close: () => void
}

/**
 * Builds the engine: replays the journal's entries over `initial` with `operations` (a failing
 * replay is a defect and throws, naming the entry), then serves new changes.
 */
export function startEngine<W>(
  initial: W,
  operations: Operations<W>,
  journal: Journal | null,
  sources: Sources = systemSources,
): Engine<W> {
  let world = initial
  let seq = 0
  for (const entry of journal?.entries ?? []) {
    const result = run(operations, world, entry)
    if (Result.isFailure(result)) {
      throw new Error(`journal entry ${entry.seq} (${entry.op}) failed on replay: ` +
        result.failure.message)
    }
    world = result.success.world
    seq = entry.seq
  }
  return {
    world: () => world,
    seq: () => seq,
    apply: (change) => {
      if (!Number.isInteger(change.idsCount) || change.idsCount < 0 ||
        change.idsCount > idsPerOperationMax) {
        throw new Error(`idsCount ${change.idsCount} out of 0..${idsPerOperationMax}`)
      }
      const ids: string[] = []
      for (let i = 0; i < change.idsCount; i++) ids.push(sources.newId())
      const entry: JournalEntry = {
        seq: seq + 1,
        atMs: sources.nowMs(),
        op: change.op,
        tenant: change.tenant,
        params: change.params,
        body: change.body,
        ids,
      }
      const result = run(operations, world, entry)
      if (Result.isFailure(result)) return Result.fail(result.failure)
      journal?.append(entry)
      world = result.success.world
      seq = entry.seq
      return Result.succeed(result.success.reply)
    },
    close: () => journal?.close(),
  }
}

function run<W>(
  operations: Operations<W>,
  world: W,
  entry: JournalEntry,
): Outcome<Applied<W>, OpError> {
  const operation = operations[entry.op]
  if (operation === undefined || !Object.hasOwn(operations, entry.op)) {
    throw new Error(`unknown operation ${entry.op}`)
  }
  return operation(world, entry)
}
