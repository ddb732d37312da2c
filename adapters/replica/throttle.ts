/**
 * A token bucket for `bwlimit`: `rateBytesPerS` tokens per second, at most `burstBytes` saved.
 * `take(n)` resolves once `n` bytes may be sent; a frame larger than the burst is allowed and
 * paid for by waiting (the bucket goes into debt), so the long-run rate never exceeds the limit.
 * The clock is injected so tests can drive it.
 */

/** The clock the bucket uses: now in milliseconds, and a sleep. */
export interface ThrottleClock {
  readonly nowMs: () => number
  readonly sleepMs: (ms: number) => Promise<void>
}

/** The real clock. */
export const realClock: ThrottleClock = {
  nowMs: () => performance.now(),
  sleepMs: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
}

/** Token bucket state; one per transfer. */
export class TokenBucket {
  private tokens: number
  private lastMs: number
  /** Total time this bucket made its caller wait. */
  waitedMs = 0

  constructor(
    private readonly rateBytesPerS: number,
    private readonly burstBytes: number,
    private readonly clock: ThrottleClock = realClock,
  ) {
    if (!(rateBytesPerS > 0) || !(burstBytes > 0)) throw new Error("rate and burst must be > 0")
    this.tokens = burstBytes
    this.lastMs = clock.nowMs()
  }

  /** Waits until `bytes` may be sent, and takes them. */
  async take(bytes: number): Promise<void> {
    if (bytes < 0) throw new Error("negative take")
    const now = this.clock.nowMs()
    this.tokens = Math.min(this.burstBytes,
      this.tokens + ((now - this.lastMs) * this.rateBytesPerS) / 1000)
    this.lastMs = now
    this.tokens -= bytes
    if (this.tokens >= 0) return
    const waitMs = (-this.tokens * 1000) / this.rateBytesPerS
    this.waitedMs += waitMs
    await this.clock.sleepMs(waitMs)
  }
}

/** The burst a transfer at `rateBytesPerS` gets: a tenth of a second, at least one frame. */
export function burstBytesFor(rateBytesPerS: number, frameBytes: number): number {
  return Math.max(frameBytes, Math.floor(rateBytesPerS / 10))
}
