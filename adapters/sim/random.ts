/**
 * The simulator's only source of randomness: one seed, from which every random stream is derived
 * by name. Streams are independent of each other's consumption, so adding a fault stream does
 * not change the workload a seed produces.
 *
 * The generator is sfc32 (Chris Doty-Humphrey's small fast chaotic PRNG, public domain): four
 * 32-bit words of state, a period of at least 2^32, good statistical quality and no allocation.
 */

/** Largest seed accepted: seeds are integers in [0, 2^53). */
export const seedMax = Number.MAX_SAFE_INTEGER

/** 32-bit string hash (FNV-1a), used to derive a stream from a name. */
export function hash32(text: string, basis = 0x811c9dc5): number {
  let h = basis >>> 0
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h
}

/**
 * A seeded random stream. `next()` is uniform on [0, 1) with 32 bits of resolution.
 *
 * The four words are kept as signed 32-bit integers (`| 0`): the same bits as unsigned words,
 * but small integers to V8, so a draw allocates no heap numbers (unsigned words above 2^31 were
 * doubles, boxed on every call that was not inlined).
 */
export class Random {
  private a: number
  private b: number
  private c: number
  private d: number

  /** A stream from four words of state; use `rootRandom`/`derive` rather than this. */
  constructor(a: number, b: number, c: number, d: number) {
    this.a = a | 0
    this.b = b | 0
    this.c = c | 0
    this.d = d | 0
    for (let i = 0; i < 15; i++) this.nextInt32()
  }

  /** The next 32-bit word, as a signed integer (its bits are the generator's output). */
  private nextInt32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0
    this.d = (this.d + 1) | 0
    this.a = this.b ^ (this.b >>> 9)
    this.b = (this.c + (this.c << 3)) | 0
    this.c = (this.c << 21) | (this.c >>> 11)
    this.c = (this.c + t) | 0
    return t
  }

  /** The next 32-bit unsigned integer. */
  nextUint32(): number {
    return this.nextInt32() >>> 0
  }

  /** Uniform on [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296
  }

  /** Uniform on (0, 1]: safe to take a logarithm of. */
  nextOpen(): number {
    return (this.nextUint32() + 1) / 4294967296
  }

  /** A uniform integer in [0, n). `n` must be a positive integer below 2^32. */
  int(n: number): number {
    if (!(Number.isInteger(n) && n > 0 && n <= 4294967296)) throw new Error(`int(${n}): bad bound`)
    return Math.floor(this.next() * n)
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p
  }

  /** A standard normal variate (Box-Muller, one of the pair). */
  normal(): number {
    return Math.sqrt(-2 * Math.log(this.nextOpen())) * Math.cos(2 * Math.PI * this.next())
  }
}

/** The root stream of a run. `seed` must be an integer in [0, 2^53). */
export function rootRandom(seed: number): Random {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`seed ${seed}: an integer ≥ 0`)
  const lo = seed >>> 0
  const hi = Math.floor(seed / 4294967296) >>> 0
  return new Random(lo, hi, 0x9e3779b9, hash32(`${seed}`))
}

/**
 * The stream named `name` of the run seeded with `seed`: the same (seed, name) always gives the
 * same sequence, whatever other streams have drawn.
 */
export function derive(seed: number, name: string): Random {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`seed ${seed}: an integer ≥ 0`)
  const lo = seed >>> 0
  const hi = Math.floor(seed / 4294967296) >>> 0
  return new Random(hash32(name, lo ^ 0x811c9dc5), hash32(name, hi ^ 0x01000193),
    hash32(name) ^ lo, 0x6a09e667 ^ hi)
}
