/**
 * The records of a pmem state — each pmem host's devices and each server's volumes — as one
 * rerootable lineage (`../persistent/reroot.ts`): the newest state reads and writes a `Map` of
 * servers and an array of hosts in place, and every older state rereads by undoing the log back
 * to it. An operation changes one server and one host, so it publishes one version with a
 * four-entry undo log (the server's and the host's record before it) instead of two versions of
 * two maps.
 *
 * A cell is a server uuid (a string: its record, `undefined` when it holds no volume) or a host's
 * index (a number: its record; the hosts with pmem are fixed by the inventory).
 */
import { Lineage, publishWrites, reroot, type Version, writeFrom } from "../persistent/reroot.ts"
import type { HostPmem, ServerPmem } from "./state.ts"

type Cell = string | number
type Record = HostPmem | ServerPmem | undefined

class RecordStore extends Lineage<Cell, Record> {
  constructor(
    /** Host name → index into `hosts`; the same for every copy (hosts never change set). */
    readonly hostIndex: ReadonlyMap<string, number>,
    readonly hosts: HostPmem[],
    readonly servers: Map<string, ServerPmem>,
  ) {
    super()
  }

  read(cell: Cell): Record {
    return typeof cell === "number" ? this.hosts[cell] : this.servers.get(cell)
  }

  write(cell: Cell, value: Record): Record {
    if (typeof cell === "number") {
      const was = this.hosts[cell]
      this.hosts[cell] = value as HostPmem
      return was
    }
    const was = this.servers.get(cell)
    if (value === undefined) this.servers.delete(cell)
    else if (value !== was) this.servers.set(cell, value as ServerPmem)
    return was
  }

  size(): number {
    return this.servers.size + this.hosts.length
  }

  copy(): RecordStore {
    return new RecordStore(this.hostIndex, this.hosts.slice(), new Map(this.servers))
  }
}

/** The hosts and servers of one pmem state (a version of its records lineage). Immutable. */
export type PmemRecords = Version<Cell, Record>

function storeOf(records: PmemRecords): RecordStore {
  if (records.next !== null) reroot(records)
  return records.lineage as RecordStore
}

/** Records holding `hosts` (distinct names) and no server. */
export function pmemRecordsOf(hosts: ReadonlyArray<HostPmem>): PmemRecords {
  const hostIndex = new Map<string, number>()
  hosts.forEach((h, k) => hostIndex.set(h.host, k))
  if (hostIndex.size !== hosts.length) throw new Error("pmemRecordsOf: a host is listed twice")
  return new RecordStore(hostIndex, hosts.slice(), new Map()).root
}

/** The record of host `name`, or undefined for a host without pmem or an unknown host. */
export function recordHost(records: PmemRecords, name: string): HostPmem | undefined {
  const store = storeOf(records)
  const k = store.hostIndex.get(name)
  return k === undefined ? undefined : store.hosts[k]
}

/** The record of server `serverUuid`, or undefined when it holds no volume. */
export function recordServer(records: PmemRecords, serverUuid: string): ServerPmem | undefined {
  return storeOf(records).servers.get(serverUuid)
}

/**
 * A new version with `server` as the record of `serverUuid` (undefined: it holds no volume any
 * more) and `host` as the record of its host, which must be one of the records' hosts.
 * `wasServer` is what `records` holds for `serverUuid` (the caller has just read it there; it
 * becomes the undo log's entry, so the write needs no second lookup).
 */
export function writeRecords(
  records: PmemRecords,
  serverUuid: string,
  wasServer: ServerPmem | undefined,
  server: ServerPmem | undefined,
  host: HostPmem,
): PmemRecords {
  const from = writeFrom(records)
  const store = from.lineage as RecordStore
  const k = store.hostIndex.get(host.host)
  if (k === undefined) throw new Error(`writeRecords: ${host.host} is not a pmem host`)
  const wasHost = store.hosts[k]
  if (server === undefined) store.servers.delete(serverUuid)
  else store.servers.set(serverUuid, server)
  store.hosts[k] = host
  return publishWrites(from, [serverUuid, wasServer, k, wasHost])
}

/** Every server record, by ascending uuid (a fresh array). */
export function recordServers(records: PmemRecords): ServerPmem[] {
  const servers = [...storeOf(records).servers.values()]
  return servers.sort((a, b) => (a.serverUuid < b.serverUuid ? -1 : 1))
}

/** Every host record, in inventory order (a fresh array). */
export function recordHosts(records: PmemRecords): HostPmem[] {
  return storeOf(records).hosts.slice()
}
