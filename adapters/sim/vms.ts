/**
 * The simulator's VMs as a table of typed-array columns indexed by VM index, with each host's
 * VMs as an intrusive doubly linked list (insertion order). A run creates one row per VM it ever
 * placed (a 1,000,000-request run: about 30 MB), so the hot events (ready, depart, stopped) touch
 * a few array cells instead of a garbage-collected object and a per-host hash set.
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
export const vmRowsMax = 1 << 30

/** Every VM of a run. */
export class VmTable {
  phase = new Uint8Array(1024)
  host = new Int32Array(1024)
  mix = new Int32Array(1024)
  /** The request that made it (requests are bounded by scenarioLimits.requestsMax < 2^31). */
  private request = new Int32Array(1024)
  /** Member number within a vcluster, -1 for a lone VM. */
  private member = new Int32Array(1024)
  private flags = new Uint8Array(1024)
  private next = new Int32Array(1024)
  private prev = new Int32Array(1024)
  private readonly head: Int32Array
  private readonly tail: Int32Array
  /** The cluster record of VMs that run on their replica's record (after a failover). */
  private readonly records = new Map<number, string>()
  /** Rows created. */
  count = 0
  /** VMs not gone. */
  live = 0

  constructor(hostCount: number) {
    this.head = new Int32Array(hostCount).fill(-1)
    this.tail = new Int32Array(hostCount).fill(-1)
  }

  /** A new VM (phase booting) on `host`; returns its index. */
  add(request: number, member: number, mix: number, host: number): number {
    if (this.count === this.phase.length) this.grow()
    const i = this.count++
    this.live++
    this.phase[i] = Phase.booting
    this.mix[i] = mix
    this.request[i] = request
    this.member[i] = member
    this.flags[i] = 0
    this.host[i] = host
    this.link(i, host)
    return i
  }

  /** Marks a VM gone and takes it off its host. */
  remove(i: number): void {
    if (this.phase[i] === Phase.gone) throw new Error(`VM #${i} removed twice`)
    this.unlink(i, this.host[i]!)
    this.phase[i] = Phase.gone
    if ((this.flags[i]! & flagRecord) !== 0) this.records.delete(i)
    this.flags[i] = 0
    this.live--
  }

  /** Moves a VM's row to another host's list. */
  move(i: number, host: number): void {
    this.unlink(i, this.host[i]!)
    this.host[i] = host
    this.link(i, host)
  }

  /** The VMs on a host, oldest arrival there first (a copy: safe to change the table while). */
  on(host: number): number[] {
    const out: number[] = []
    for (let i = this.head[host]!; i >= 0; i = this.next[i]!) out.push(i)
    return out
  }

  /** The VM's name: `vm-<request>` or, in a vcluster, `vm-<request>-<member>`. */
  uuidOf(i: number): string {
    const m = this.member[i]!
    return m < 0 ? `vm-${this.request[i]}` : `vm-${this.request[i]}-${m}`
  }

  /** The cluster record of the running copy. */
  recordOf(i: number): string {
    return (this.flags[i]! & flagRecord) === 0 ? this.uuidOf(i) : this.records.get(i)!
  }

  /** Sets the cluster record of the running copy. */
  setRecord(i: number, record: string): void {
    const own = record === this.uuidOf(i)
    if (own) this.records.delete(i)
    else this.records.set(i, record)
    this.setFlag(i, flagRecord, !own)
  }

  flag(i: number, bit: number): boolean {
    return (this.flags[i]! & bit) !== 0
  }

  setFlag(i: number, bit: number, on: boolean): void {
    this.flags[i] = on ? this.flags[i]! | bit : this.flags[i]! & ~bit
  }

  private link(i: number, host: number): void {
    const t = this.tail[host]!
    this.prev[i] = t
    this.next[i] = -1
    if (t < 0) this.head[host] = i
    else this.next[t] = i
    this.tail[host] = i
  }

  private unlink(i: number, host: number): void {
    const p = this.prev[i]!
    const n = this.next[i]!
    if (p < 0) this.head[host] = n
    else this.next[p] = n
    if (n < 0) this.tail[host] = p
    else this.prev[n] = p
  }

  private grow(): void {
    const size = this.phase.length * 2
    if (size > vmRowsMax) throw new Error(`more than ${vmRowsMax} VMs in one run`)
    const grown = <T extends Uint8Array | Int32Array | Float64Array>(a: T, b: T): T => {
      b.set(a)
      return b
    }
    this.phase = grown(this.phase, new Uint8Array(size))
    this.host = grown(this.host, new Int32Array(size))
    this.mix = grown(this.mix, new Int32Array(size))
    this.request = grown(this.request, new Int32Array(size))
    this.member = grown(this.member, new Int32Array(size))
    this.flags = grown(this.flags, new Uint8Array(size))
    this.next = grown(this.next, new Int32Array(size))
    this.prev = grown(this.prev, new Int32Array(size))
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
    return this.table.mix[this.index]!
  }

  /** The host it runs on (change it with `Simulation.moveVm`). */
  get host(): number {
    return this.table.host[this.index]!
  }

  get phase(): VmPhase {
    return phaseNames[this.table.phase[this.index]!]!
  }

  set phase(phase: VmPhase) {
    this.table.phase[this.index] = Phase[phase]
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
