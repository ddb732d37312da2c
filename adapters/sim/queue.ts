/**
 * The event queue: a binary min-heap over (time, sequence number). Two events at the same virtual
 * time leave in the order they were scheduled, so a run is a pure function of its seed.
 *
 * Events are two small integers (a kind and a subject) kept in typed arrays: scheduling and
 * popping allocate nothing once the arrays have grown to the run's peak queue length.
 */

/** Most events that may wait in the queue at once; past this the run is a defect (a leak). */
export const queueLengthMax = 1 << 26

/** A scheduled event as `pop` returns it (the same object every call: copy what you keep). */
export interface QueuedEvent {
  timeS: number
  kind: number
  subject: number
}

/** A deterministic event queue. */
export class EventQueue {
  private times = new Float64Array(1024)
  private seqs = new Float64Array(1024)
  private kinds = new Int32Array(1024)
  private subjects = new Int32Array(1024)
  private length = 0
  private nextSeq = 0
  private readonly out: QueuedEvent = { timeS: 0, kind: 0, subject: 0 }

  /** How many events wait. */
  get size(): number {
    return this.length
  }

  /** Schedules `kind` for `subject` at `timeS` (finite, ≥ 0). */
  push(timeS: number, kind: number, subject: number): void {
    if (!(timeS >= 0 && timeS < Infinity)) throw new Error(`event at time ${timeS}`)
    if (this.length === this.times.length) this.grow()
    let i = this.length++
    const seq = this.nextSeq++
    while (i > 0) {
      const parent = (i - 1) >> 1
      const pt = this.times[parent]!
      if (pt < timeS || (pt === timeS && this.seqs[parent]! < seq)) break
      this.move(parent, i)
      i = parent
    }
    this.set(i, timeS, seq, kind, subject)
  }

  /** The earliest event's time, or Infinity when empty. */
  peekTime(): number {
    return this.length === 0 ? Infinity : this.times[0]!
  }

  /** Removes and returns the earliest event (ties: first scheduled first); undefined if empty. */
  pop(): QueuedEvent | undefined {
    if (this.length === 0) return undefined
    const out = this.out
    out.timeS = this.times[0]!
    out.kind = this.kinds[0]!
    out.subject = this.subjects[0]!
    const last = --this.length
    if (last > 0) this.siftDown(last)
    return out
  }

  private siftDown(from: number): void {
    const t = this.times[from]!
    const s = this.seqs[from]!
    const k = this.kinds[from]!
    const subj = this.subjects[from]!
    const n = this.length
    let i = 0
    for (;;) {
      let child = 2 * i + 1
      if (child >= n) break
      const right = child + 1
      if (right < n && this.less(right, child)) child = right
      const ct = this.times[child]!
      if (t < ct || (t === ct && s < this.seqs[child]!)) break
      this.move(child, i)
      i = child
    }
    this.set(i, t, s, k, subj)
  }

  private less(a: number, b: number): boolean {
    const ta = this.times[a]!
    const tb = this.times[b]!
    return ta < tb || (ta === tb && this.seqs[a]! < this.seqs[b]!)
  }

  private move(from: number, to: number): void {
    this.times[to] = this.times[from]!
    this.seqs[to] = this.seqs[from]!
    this.kinds[to] = this.kinds[from]!
    this.subjects[to] = this.subjects[from]!
  }

  private set(i: number, t: number, s: number, k: number, subject: number): void {
    this.times[i] = t
    this.seqs[i] = s
    this.kinds[i] = k
    this.subjects[i] = subject
  }

  private grow(): void {
    const size = this.times.length * 2
    if (size > queueLengthMax) throw new Error(`event queue over ${queueLengthMax} events`)
    const grow = <T extends Float64Array | Int32Array>(a: T, make: (n: number) => T): T => {
      const b = make(size)
      b.set(a)
      return b
    }
    this.times = grow(this.times, (n) => new Float64Array(n))
    this.seqs = grow(this.seqs, (n) => new Float64Array(n))
    this.kinds = grow(this.kinds, (n) => new Int32Array(n))
    this.subjects = grow(this.subjects, (n) => new Int32Array(n))
  }
}
