/**
 * The server's state machine: an immutable world, a table of named operations over it, and the
 * journal that makes every accepted operation durable.
 *
 * A change is an operation applied to the current world with its inputs (tenant, path params,
 * raw body) and the ids and time the adapter drew for it. The operation is pure: it decodes the
 * body with the core's schemas, calls the core, and returns the next world and the reply, or an
 * expected error. An error changes nothing. A success is written to the journal and becomes the
 * head that the next change builds on; changes are fsynced in batches (group commit), and only
 * once its batch is on disk is a change acknowledged and visible to readers (`world()` is the
 * durable world). Replay runs the same operations on the same entries.
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
  /**
   * What the operation chose that a later version might choose differently (a server's host):
   * recorded in the journal entry, and given back on replay so the world rebuilds the same.
   */
  readonly decided?: Readonly<Record<string, string>>
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
  /** The durable world: every acknowledged change, nothing that is not yet on disk. */
  readonly world: () => W
  /**
   * Applies a change; resolves once it is durable (or at once with the expected error). Rejects
   * if the journal cannot be written: the engine then refuses every later change.
   */
  readonly apply: (change: Change) => Promise<Outcome<Reply, OpError>>
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
  let head = initial
  let seq = 0
  for (const entry of journal?.entries ?? []) {
    const result = run(operations, head, entry)
    if (Result.isFailure(result)) {
      throw new Error(`journal entry ${entry.seq} (${entry.op}) failed on replay: ` +
        result.failure.message)
    }
    head = result.success.world
    seq = entry.seq
  }
  let durable = head
  const commit = groupCommit(journal, (world: W) => { durable = world })
  return {
    world: () => durable,
    seq: () => seq,
    apply: (change) => {
      try {
        commit.check()
        const entry = entryOf(change, seq + 1, sources)
        const result = run(operations, head, entry)
        if (Result.isFailure(result)) return Promise.resolve(Result.fail(result.failure))
        const decided = result.success.decided
        commit.write(decided === undefined ? entry : { ...entry, decided })
        head = result.success.world
        seq = entry.seq
        return commit.after(head, result.success.reply)
      } catch (e) {
        return Promise.reject(e)
      }
    },
    close: () => journal?.close(),
  }
}

function entryOf(change: Change, seq: number, sources: Sources): JournalEntry {
  if (!Number.isInteger(change.idsCount) || change.idsCount < 0 ||
    change.idsCount > idsPerOperationMax) {
    throw new Error(`idsCount ${change.idsCount} out of 0..${idsPerOperationMax}`)
  }
  const ids: string[] = []
  for (let i = 0; i < change.idsCount; i++) ids.push(sources.newId())
  return { seq, atMs: sources.nowMs(), op: change.op, tenant: change.tenant,
    params: change.params, body: change.body, ids }
}

/**
 * Group commit: changes written while an fsync runs wait for the next one, which covers them
 * all. `after(world, reply)` resolves once a flush that includes the change completes, then
 * publishes `world` as durable. A failed fsync rejects its batch and breaks the engine.
 */
function groupCommit<W>(journal: Journal | null, publish: (world: W) => void) {
  type Waiter = { reply: Reply; resolve: (o: Outcome<Reply, OpError>) => void;
    reject: (e: unknown) => void }
  let waiting: Waiter[] = []
  let newest: W | undefined
  let flushing = false
  let broken: unknown = undefined
  const flush = (): void => {
    if (flushing || waiting.length === 0 || journal === null) return
    flushing = true
    // Every waiting change is already written: this fsync covers them all.
    const batch = waiting
    waiting = []
    const upTo = newest as W
    journal.flush().then(() => {
      flushing = false
      publish(upTo)
      for (const w of batch) w.resolve(Result.succeed(w.reply))
      flush()
    }, (e: unknown) => {
      broken = e
      for (const w of [...batch, ...waiting.splice(0)]) w.reject(e)
    })
  }
  return {
    /** Writes an entry; a failed write (possibly half a line) breaks the engine. */
    write: (entry: JournalEntry) => {
      try {
        journal?.write(entry)
      } catch (e) {
        broken = e
        throw e
      }
    },
    check: () => {
      if (broken !== undefined) throw new Error(`journal failed; changes are refused: ${broken}`)
    },
    after: (world: W, reply: Reply): Promise<Outcome<Reply, OpError>> => {
      if (journal === null) {
        publish(world)
        return Promise.resolve(Result.succeed(reply))
      }
      newest = world
      return new Promise((resolve, reject) => {
        waiting.push({ reply, resolve, reject })
        flush()
      })
    },
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
