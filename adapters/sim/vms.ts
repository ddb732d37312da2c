/**
 * The simulator's VMs as one Int32Array of fixed-size rows indexed by VM index, with each host's
 * VMs as an intrusive doubly linked list (insertion order). A run creates one row per VM it ever
 * placed (a 1,000,000-request run: about 32 MB, and 8 MB of name references), so the hot events
 * (ready, depart, stopped) touch one cache line instead of a garbage-collected object and a
 * per-host hash set.
 *
 * Rows are never reused: an event scheduled for a VM that is gone finds it `gone`.
 * `SimVm` is a handle over one row for the colder code (replication, invariant checks).
 */

/** A VM's life in the simulator. */
export type VmPhase = "booting" | "running" | "restarting" | "failingOver" | "stopping" | "gone"

/** Phase codes stored in the table. */
export const Phase = {
  booting: 0, running: 1, restarting: 2, failingOver: 3, stopping: 4, gone: 5,
} as const satisfies Record<VmPhase, number>

const phaseNames: ReadonlyArray<VmPhase> =
  ["booting", "running", "restarting", "failingOver", "stopping", "gone"]

const flagPmemWarm = 1
const flagReplicated = 2
/** The VM runs on another record than its uuid (kept in `records`). */
const flagRecord = 4

/** Most VM rows one run may create. */
export const vmRowsMax = 1 << 26

/** Int32 cells per VM row (32 bytes: two rows per cache line). */
const rowCells = 8
const cellPhase = 0
const cellFlags = 1
const cellHost = 2
const cellMix = 3
/** The request that made it (requests are bounded by scenarioLimits.requestsMax < 2^31). */
const cellRequest = 4
/** Member number within a vcluster, -1 for a lone VM. */
const cellMember = 5
const cellNext = 6
const cellPrev = 7

/** Every VM of a run: one interleaved row per VM, so an event touches one cache line. */
export class VmTable {
  private rows = new Int32Array(rowCells * 1024)
  private readonly head: Int32Array
  private readonly tail: Int32Array
  /** The cluster record of VMs that run on their replica's record (after a failover). */
  private readonly records = new Map<number, string>()
  /**
   * Per row, the VM's name as the run gave it to the cluster (the same string the cluster keeps),
   * so a release does not build it again; undefined once the VM is gone.
   */
  private readonly names: Array<string | undefined> = []
  /** Rows created. */
  count = 0
  /** VMs not gone. */
  live = 0

  /**
   * `trackHosts` false keeps no per-host lists (`on` is then a defect): a run without host
   * faults never asks which VMs a host holds, and the lists cost a placement and a release two
   * or three cache misses each (the neighbours' rows and the host's head and tail).
   */
  constructor(hostCount: number, private readonly trackHosts = true) {
    this.head = new Int32Array(trackHosts ? hostCount : 0).fill(-1)
    this.tail = new Int32Array(trackHosts ? hostCount : 0).fill(-1)
  }

  /**
   * A new VM (phase booting) on `host`; returns its index. `name`, when given, must be
   * `vm-<request>` (or `vm-<request>-<member>`), what `uuidOf` would build.
   */
  add(request: number, member: number, mix: number, host: number, name?: string): number {
    if (rowCells * this.count === this.rows.length) this.grow()
    const i = this.count++
    this.names.push(name)
    this.live++
    const r = this.rows
    const at = rowCells * i
    r[at + cellPhase] = Phase.booting
    r[at + cellFlags] = 0
    r[at + cellMix] = mix
    r[at + cellRequest] = request
    r[at + cellMember] = member
    r[at + cellHost] = host
    if (this.trackHosts) this.link(i, host)
    return i
  }

  /** Marks a VM gone and takes it off its host. */
  remove(i: number): void {
    const at = rowCells * i
    const r = this.rows
    if (r[at + cellPhase] === Phase.gone) throw new Error(`VM #${i} removed twice`)
    if (this.trackHosts) this.unlink(i, r[at + cellHost]!)
    r[at + cellPhase] = Phase.gone
    if ((r[at + cellFlags]! & flagRecord) !== 0) this.records.delete(i)
    this.names[i] = undefined
    r[at + cellFlags] = 0
    this.live--
  }

  /** Moves a VM's row to another host's list. */
  move(i: number, host: number): void {
    if (this.trackHosts) this.unlink(i, this.hostOf(i))
    this.rows[rowCells * i + cellHost] = host
    if (this.trackHosts) this.link(i, host)
  }

  /** The VMs on a host, oldest arrival there first (a copy: safe to change the table while). */
  on(host: number): number[] {
    if (!this.trackHosts) throw new Error("VmTable.on: this table keeps no per-host lists")
    const out: number[] = []
    for (let i = this.head[host]!; i >= 0; i = this.rows[rowCells * i + cellNext]!) out.push(i)
    return out
  }

  /** Phase code (`Phase`) of VM `i`; rows past `count` read as gone. */
  phaseOf(i: number): number {
    return i >= 0 && i < this.count ? this.rows[rowCells * i + cellPhase]! : Phase.gone
  }

  setPhase(i: number, phase: number): void {
    this.rows[rowCells * i + cellPhase] = phase
  }

  hostOf(i: number): number {
    return this.rows[rowCells * i + cellHost]!
  }

  mixOf(i: number): number {
    return this.rows[rowCells * i + cellMix]!
  }

  /** The VM's name: `vm-<request>` or, in a vcluster, `vm-<request>-<member>`. */
  uuidOf(i: number): string {
    const name = this.names[i]
    if (name !== undefined) return name
    const at = rowCells * i
    const m = this.rows[at + cellMember]!
    const request = this.rows[at + cellRequest]!
    return m < 0 ? `vm-${request}` : `vm-${request}-${m}`
  }

  /** The cluster record of the running copy. */
  recordOf(i: number): string {
    return this.flag(i, flagRecord) ? this.records.get(i)! : this.uuidOf(i)
  }

  /** Sets the cluster record of the running copy. */
  setRecord(i: number, record: string): void {
    const own = record === this.uuidOf(i)
    if (own) this.records.delete(i)
    else this.records.set(i, record)
    this.setFlag(i, flagRecord, !own)
  }

  flag(i: number, bit: number): boolean {
    return (this.rows[rowCells * i + cellFlags]! & bit) !== 0
  }

  setFlag(i: number, bit: number, on: boolean): void {
    const at = rowCells * i + cellFlags
    this.rows[at] = on ? this.rows[at]! | bit : this.rows[at]! & ~bit
  }

  private link(i: number, host: number): void {
    const r = this.rows
    const t = this.tail[host]!
    r[rowCells * i + cellPrev] = t
    r[rowCells * i + cellNext] = -1
    if (t < 0) this.head[host] = i
    else r[rowCells * t + cellNext] = i
    this.tail[host] = i
  }

  private unlink(i: number, host: number): void {
    const r = this.rows
    const p = r[rowCells * i + cellPrev]!
    const n = r[rowCells * i + cellNext]!
    if (p < 0) this.head[host] = n
    else r[rowCells * p + cellNext] = n
    if (n < 0) this.tail[host] = p
    else r[rowCells * n + cellPrev] = p
  }

  private grow(): void {
    const size = (this.rows.length / rowCells) * 2
    if (size > vmRowsMax) throw new Error(`more than ${vmRowsMax} VMs in one run`)
    const rows = new Int32Array(rowCells * size)
    rows.set(this.rows)
    this.rows = rows
  }
}

/** A handle on one VM's row (cheap to make; read and write through it). */
export class SimVm {
  constructor(private readonly table: VmTable, readonly index: number) {}

  get uuid(): string {
    return this.table.uuidOf(this.index)
  }

  /** The cluster record of the running copy (`uuid`, or its replica's after a failover). */
  get record(): string {
    return this.table.recordOf(this.index)
  }

  set record(record: string) {
    this.table.setRecord(this.index, record)
  }

  get mix(): number {
    return this.table.mixOf(this.index)
  }

  /** The host it runs on (change it with `Simulation.moveVm`). */
  get host(): number {
    return this.table.hostOf(this.index)
  }

  get phase(): VmPhase {
    return phaseNames[this.table.phaseOf(this.index)]!
  }

  set phase(phase: VmPhase) {
    this.table.setPhase(this.index, Phase[phase])
  }

  /** Whether its pmem volumes still hold the working set on `host` (a warm boot is possible). */
  get pmemWarm(): boolean {
    return this.table.flag(this.index, flagPmemWarm)
  }

  set pmemWarm(on: boolean) {
    this.table.setFlag(this.index, flagPmemWarm, on)
  }

  get replicated(): boolean {
    return this.table.flag(this.index, flagReplicated)
  }

  set replicated(on: boolean) {
    this.table.setFlag(this.index, flagReplicated, on)
  }
}

/** Flag bits, for the engine's hot paths. */
export const VmFlag = { pmemWarm: flagPmemWarm, replicated: flagReplicated } as const
