/**
 * The event queue, ordered by (time, sequence number): two events at the same virtual time leave
 * in the order they were scheduled, so a run is a pure function of its seed.
 *
 * A binary heap over every pending event costs a cache miss per level once the queue outgrows the
 * cache (a 10,000-host run keeps ~350,000 events pending: ~18 misses a pop). So the queue is a
 * calendar in three tiers, all typed arrays, allocating nothing once grown:
 * - `near`: a 4-ary heap of the events in the current bucket (time < `(bucket + 1) · width`);
 * - the ring: `ringSize` buckets of `width` seconds after it, each an unsorted linked list;
 * - `far`: a 4-ary heap of the events beyond the ring.
 * Scheduling into the ring is O(1); when `near` runs dry the next bucket moves into it. The width
 * is a power of two (so bucket boundaries are exact), re-chosen every `adaptEveryPops` pops from
 * the observed event rate so a bucket holds about `eventsPerBucket` events. Which tier holds an
 * event never changes the order events leave in: `near` holds exactly the earliest bucket.
 */

/** Most events that may wait in the queue at once; past this the run is a defect (a leak). */
export const queueLengthMax = 1 << 26

/** Event kinds are integers in [0, kindsMax); subjects integers in [0, subjectMax]. */
export const kindsMax = 64
export const subjectMax = 2 ** 40

/** Buckets in the ring (after the current one). */
export const ringSize = 1 << 16

/** The bucket width aims at this many events per bucket. */
export const eventsPerBucket = 32

/** Bucket widths are 2^k seconds with k in [widthExponentMin, widthExponentMax]. */
const widthExponentMin = -30
const widthExponentMax = 30
/**
 * Bucket numbers stay below 2^bucketBits, so that stepping to the next bucket (+1) is exact: a
 * width too fine for the latest time pushed would make bucket numbers past 2^53, where +1 is lost
 * and the ring never reaches its events.
 */
const bucketBits = 50

/** The finest width exponent whose bucket numbers stay below 2^bucketBits up to `timeS`. */
const finestExponentFor = (timeS: number): number =>
  timeS <= 1 ? widthExponentMin : Math.ceil(Math.log2(timeS)) - bucketBits + 1

/** A scheduled event as `pop` returns it (the same object every call: copy what you keep). */
export interface QueuedEvent {
  timeS: number
  kind: number
  subject: number
}

/** A 4-ary min-heap of (time, sequence, payload) triples in one Float64Array. */
class Heap4 {
  h = new Float64Array(3 * 256)
  length = 0

  push(t: number, s: number, p: number): void {
    if (3 * this.length === this.h.length) {
      const b = new Float64Array(this.h.length * 2)
      b.set(this.h)
      this.h = b
    }
    const h = this.h
    let i = this.length++
    while (i > 0) {
      const parent = (i - 1) >> 2
      const pt = h[3 * parent]!
      if (pt < t || (pt === t && h[3 * parent + 1]! < s)) break
      h[3 * i] = pt
      h[3 * i + 1] = h[3 * parent + 1]!
      h[3 * i + 2] = h[3 * parent + 2]!
      i = parent
    }
    h[3 * i] = t
    h[3 * i + 1] = s
    h[3 * i + 2] = p
  }

  /** Removes the top (the caller read it from `h[0..2]`). */
  removeTop(): void {
    const n = --this.length
    if (n === 0) return
    const h = this.h
    const t = h[3 * n]!
    const s = h[3 * n + 1]!
    const p = h[3 * n + 2]!
    let i = 0
    for (;;) {
      const first = 4 * i + 1
      if (first >= n) break
      let c = first
      let ct = h[3 * c]!
      let cs = h[3 * c + 1]!
      const end = first + 4 < n ? first + 4 : n
      for (let k = first + 1; k < end; k++) {
        const kt = h[3 * k]!
        if (kt < ct || (kt === ct && h[3 * k + 1]! < cs)) {
          c = k
          ct = kt
          cs = h[3 * k + 1]!
        }
      }
      if (t < ct || (t === ct && s < cs)) break
      h[3 * i] = ct
      h[3 * i + 1] = cs
      h[3 * i + 2] = h[3 * c + 2]!
      i = c
    }
    h[3 * i] = t
    h[3 * i + 1] = s
    h[3 * i + 2] = p
  }
}

/** Tuning of the calendar (tests shrink it to exercise every path). */
export interface QueueOptions {
  /** Pops between two looks at the event rate (a power of two; default 8192). */
  readonly adaptEveryPops?: number
  /** Initial bucket width exponent: width 2^k seconds (default 0). */
  readonly widthExponent?: number
}

/** A deterministic event queue. */
export class EventQueue {
  private readonly near = new Heap4()
  private readonly far = new Heap4()
  /** Ring bucket `b % ringSize`: head node of its list, -1 when empty. */
  private readonly heads = new Int32Array(ringSize).fill(-1)
  /**
   * Ring nodes: (time, sequence, payload) at 3·node, the next node of the list at `links`. A
   * free node's sequence is -1.
   */
  private nodes = new Float64Array(3 * 1024)
  private links = new Int32Array(1024)
  private freeNode = -1
  private nodesUsed = 0
  private ringCount = 0
  /** The current bucket: `near` holds every event with `floor(time / width) <= bucket`. */
  private bucket = 0
  private widthExponent: number
  private perWidth: number
  private length = 0
  private nextSeq = 0
  private pops = 0
  private readonly adaptMask: number
  private adaptFromS = 0
  /** The latest time pushed. */
  private maxTimeS = 0
  private readonly out: QueuedEvent = { timeS: 0, kind: 0, subject: 0 }

  constructor(options: QueueOptions = {}) {
    const every = options.adaptEveryPops ?? 8192
    if (!(Number.isInteger(every) && every > 0 && (every & (every - 1)) === 0)) {
      throw new Error(`adaptEveryPops ${every}: a power of two`)
    }
    this.adaptMask = every - 1
    this.widthExponent = Math.max(options.widthExponent ?? 0, widthExponentMin)
    this.perWidth = 2 ** -this.widthExponent
  }

  /** How many events wait. */
  get size(): number {
    return this.length
  }

  /** The bucket width in seconds (for tests and diagnostics). */
  get widthS(): number {
    return 2 ** this.widthExponent
  }

  /** Schedules `kind` for `subject` at `timeS` (finite, ≥ 0). */
  push(timeS: number, kind: number, subject: number): void {
    if (!(timeS >= 0 && timeS < Infinity)) throw new Error(`event at time ${timeS}`)
    if (!(kind >= 0 && kind < kindsMax && subject >= 0 && subject <= subjectMax)) {
      throw new Error(`event kind ${kind} for subject ${subject}: out of range`)
    }
    if (this.length >= queueLengthMax) throw new Error(`event queue over ${queueLengthMax} events`)
    if (timeS > this.maxTimeS) {
      this.maxTimeS = timeS
      const finest = finestExponentFor(timeS)
      if (this.widthExponent < finest) this.rebucket(finest, this.bucket / this.perWidth)
    }
    this.length++
    this.insert(timeS, this.nextSeq++, subject * kindsMax + kind)
  }

  private insert(t: number, s: number, p: number): void {
    const b = Math.floor(t * this.perWidth)
    if (b <= this.bucket) this.near.push(t, s, p)
    else if (b < this.bucket + ringSize) this.ringAdd(b, t, s, p)
    else this.far.push(t, s, p)
  }

  private ringAdd(b: number, t: number, s: number, p: number): void {
    let node = this.freeNode
    if (node >= 0) this.freeNode = this.links[node]!
    else {
      if (this.nodesUsed === this.links.length) this.growNodes()
      node = this.nodesUsed++
    }
    const slot = b % ringSize
    this.nodes[3 * node] = t
    this.nodes[3 * node + 1] = s
    this.nodes[3 * node + 2] = p
    this.links[node] = this.heads[slot]!
    this.heads[slot] = node
    this.ringCount++
  }

  private growNodes(): void {
    const nodes = new Float64Array(this.nodes.length * 2)
    nodes.set(this.nodes)
    this.nodes = nodes
    const links = new Int32Array(this.links.length * 2)
    links.set(this.links)
    this.links = links
  }

  /** The earliest event's time, or Infinity when empty. */
  peekTime(): number {
    if (this.near.length === 0 && !this.refill()) return Infinity
    return this.near.h[0]!
  }

  /** Removes and returns the earliest event (ties: first scheduled first); undefined if empty. */
  pop(): QueuedEvent | undefined {
    if (this.near.length === 0 && !this.refill()) return undefined
    const near = this.near
    const out = this.out
    const t = near.h[0]!
    const p = near.h[2]!
    near.removeTop()
    this.length--
    out.timeS = t
    out.kind = p % kindsMax
    out.subject = (p - out.kind) / kindsMax
    if ((++this.pops & this.adaptMask) === 0) this.adapt(t)
    return out
  }

  /** Moves buckets into `near` until it holds something; false when the queue is empty. */
  private refill(): boolean {
    for (let steps = 0; this.near.length === 0; steps++) {
      if (this.ringCount === 0 && this.far.length === 0) return false
      if (steps > ringSize + 1) throw new Error("event queue: refill did not converge")
      this.advance()
    }
    return true
  }

  /** The next bucket becomes current: far events now within the ring's reach come in. */
  private advance(): void {
    const far = this.far
    if (this.ringCount === 0) this.bucket = Math.floor(far.h[0]! * this.perWidth)
    else this.bucket++
    const reach = this.bucket + ringSize
    while (far.length > 0) {
      const t = far.h[0]!
      const b = Math.floor(t * this.perWidth)
      if (b >= reach) break
      const s = far.h[1]!
      const p = far.h[2]!
      far.removeTop()
      if (b <= this.bucket) this.near.push(t, s, p)
      else this.ringAdd(b, t, s, p)
    }
    const slot = this.bucket % ringSize
    let node = this.heads[slot]!
    this.heads[slot] = -1
    const nodes = this.nodes
    while (node >= 0) {
      this.near.push(nodes[3 * node]!, nodes[3 * node + 1]!, nodes[3 * node + 2]!)
      nodes[3 * node + 1] = -1
      const next = this.links[node]!
      this.links[node] = this.freeNode
      this.freeNode = node
      this.ringCount--
      node = next
    }
  }

  /** Re-chooses the width from the rate of the last `adaptEveryPops` pops. */
  private adapt(nowS: number): void {
    const spanS = nowS - this.adaptFromS
    this.adaptFromS = nowS
    if (!(spanS > 0)) return
    const wantS = (eventsPerBucket * spanS) / (this.adaptMask + 1)
    const k = Math.min(widthExponentMax, Math.max(widthExponentMin,
      finestExponentFor(this.maxTimeS), Math.round(Math.log2(wantS))))
    if (Math.abs(k - this.widthExponent) >= 2) this.rebucket(k, nowS)
  }

  /** Re-files every pending event under a new width (O(pending), rare). */
  private rebucket(exponent: number, nowS: number): void {
    const pending = new Float64Array(3 * this.length)
    let n = 0
    const take = (t: number, s: number, p: number) => {
      pending[n++] = t
      pending[n++] = s
      pending[n++] = p
    }
    for (const heap of [this.near, this.far]) {
      const h = heap.h
      for (let i = 0; i < heap.length; i++) take(h[3 * i]!, h[3 * i + 1]!, h[3 * i + 2]!)
      heap.length = 0
    }
    const nodes = this.nodes
    for (let node = 0; node < this.nodesUsed; node++) {
      const seq = nodes[3 * node + 1]!
      if (seq >= 0) take(nodes[3 * node]!, seq, nodes[3 * node + 2]!)
    }
    this.heads.fill(-1)
    this.freeNode = -1
    this.nodesUsed = 0
    this.ringCount = 0
    this.widthExponent = exponent
    this.perWidth = 2 ** -exponent
    this.bucket = Math.floor(nowS * this.perWidth)
    for (let i = 0; i < n; i += 3) this.insert(pending[i]!, pending[i + 1]!, pending[i + 2]!)
  }
}
