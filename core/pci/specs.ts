/**
 * Which pools of a host a request spec may draw from, worked out once per (host, spec) and kept.
 *
 * The answer depends on the layout only, never on usage, and specs are plain data: a caller
 * builds a new request (and a new spec object) for every placement. So a spec is recognised by
 * its content: `SpecMemo` keeps up to `specMemoLimits.specsMax` distinct specs of one layout,
 * each with its alternatives lower-cased once and an id, and each host keeps the matching pools
 * of the specs it was asked about, by that id. A claim then costs one content comparison of its
 * spec and one array read instead of a `toLowerCase` per key per alternative per pool and the
 * arrays built from them. Beyond the bound a spec is matched afresh on every call (same answer).
 */
import type { PciDevType } from "../model/index.ts"
import type { PciSpec } from "./request.ts"

/** Bounds on what a layout remembers. */
export const specMemoLimits = {
  /** Distinct specs remembered per layout (a cloud has a few aliases, not thousands). */
  specsMax: 64,
} as const

/** A spec as matching reads it: per alternative, its keys and lower-cased values. */
export interface SpecEntry {
  /** Index into every host's `matched`, or -1 for a spec past the memo's bound. */
  readonly id: number
  /** A frozen copy of the spec as first given (values in their original case). */
  readonly spec: ReadonlyArray<PciSpec>
  readonly keys: ReadonlyArray<ReadonlyArray<string>>
  readonly values: ReadonlyArray<ReadonlyArray<string>>
  /** Whether an alternative asks for PFs (otherwise PF pools are not candidates). */
  readonly pfOk: boolean
}

/** One host's pools for one spec: in pool order, and in taking order (PFs last). */
export interface HostMatch {
  readonly pools: ReadonlyArray<number>
  readonly ranked: ReadonlyArray<number>
}

/** The pool fields matching reads (a structural subset of `PciPoolInfo`). */
interface MatchPool {
  readonly index: number
  readonly devType: PciDevType
  readonly props: ReadonlyMap<string, string>
}

/** The host fields matching reads (a structural subset of `PciHostLayout`). */
export interface MatchHost {
  readonly pools: ReadonlyArray<MatchPool>
  readonly specs: SpecMemo
  /** Spec id → this host's match, filled on first use. */
  readonly matched: Array<HostMatch | undefined>
}

const noPools: ReadonlyArray<number> = Object.freeze([])
const emptyMatch: HostMatch = Object.freeze({ pools: noPools, ranked: noPools })

/** The specs one layout has been asked about (shared by all its hosts and every state). */
export class SpecMemo {
  private readonly entries: SpecEntry[] = []
  private last: SpecEntry | undefined = undefined

  /** The entry for `spec`: the remembered one with the same content, else a new one. */
  entryOf(spec: ReadonlyArray<PciSpec>): SpecEntry {
    const last = this.last
    if (last !== undefined && sameSpec(last.spec, spec)) return last
    const entries = this.entries
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!
      if (sameSpec(e.spec, spec)) {
        this.last = e
        return e
      }
    }
    const id = entries.length < specMemoLimits.specsMax ? entries.length : -1
    const entry = entryFor(id, spec)
    if (id >= 0) {
      entries.push(entry)
      this.last = entry
    }
    return entry
  }

  /** How many specs are remembered. */
  get size(): number {
    return this.entries.length
  }
}

/** Host `host`'s pools for `spec`, from its memo when known. */
export function hostMatchOf(host: MatchHost, spec: ReadonlyArray<PciSpec>): HostMatch {
  if (host.pools.length === 0) return emptyMatch
  return hostMatchFor(host, host.specs.entryOf(spec))
}

/** Host `host`'s pools for a spec already looked up in its layout's memo (`entryOf`). */
export function hostMatchFor(host: MatchHost, entry: SpecEntry): HostMatch {
  if (host.pools.length === 0) return emptyMatch
  if (entry.id < 0) return matchOf(host, entry)
  const known = host.matched[entry.id]
  if (known !== undefined) return known
  const match = matchOf(host, entry)
  while (host.matched.length < entry.id) host.matched.push(undefined)
  host.matched[entry.id] = match
  return match
}

/** Host `host`'s pools for `spec`, NUMA aside, in pool order (see `hostMatchOf`). */
export function poolsMatching(host: MatchHost, spec: ReadonlyArray<PciSpec>):
  ReadonlyArray<number> {
  return hostMatchOf(host, spec).pools
}

function entryFor(id: number, spec: ReadonlyArray<PciSpec>): SpecEntry {
  const copy: PciSpec[] = []
  const keys: string[][] = []
  const values: string[][] = []
  let pfOk = false
  for (const alt of spec) {
    const altCopy: Record<string, string> = {}
    const altKeys: string[] = []
    const altValues: string[] = []
    for (const key in alt) {
      if (!Object.hasOwn(alt, key)) continue
      const value = alt[key]!
      altCopy[key] = value
      altKeys.push(key)
      altValues.push(value.toLowerCase())
      if (key === "dev_type" && value.toLowerCase() === "type-pf") pfOk = true
    }
    copy.push(Object.freeze(altCopy))
    keys.push(altKeys)
    values.push(altValues)
  }
  return Object.freeze({ id, spec: Object.freeze(copy), keys, values, pfOk })
}

function matchOf(host: MatchHost, entry: SpecEntry): HostMatch {
  const pools: number[] = []
  let pfs = 0
  for (const pool of host.pools) {
    const isPf = pool.devType === "type-PF"
    if (isPf && !entry.pfOk) continue
    for (let a = 0; a < entry.keys.length; a++) {
      if (matchesAlternative(pool, entry.keys[a]!, entry.values[a]!)) {
        pools.push(pool.index)
        if (isPf) pfs++
        break
      }
    }
  }
  if (pools.length === 0) return emptyMatch
  if (pfs === 0 || pfs === pools.length) {
    const frozen = Object.freeze(pools)
    return Object.freeze({ pools: frozen, ranked: frozen })
  }
  // Plain devices and VFs before PFs (a PF costs all its VFs); stable otherwise.
  const ranked: number[] = []
  for (const p of pools) if (host.pools[p]!.devType !== "type-PF") ranked.push(p)
  for (const p of pools) if (host.pools[p]!.devType === "type-PF") ranked.push(p)
  return Object.freeze({ pools: Object.freeze(pools), ranked: Object.freeze(ranked) })
}

/** Whether `pool` has every key of one alternative with the (lower-cased) value. */
function matchesAlternative(pool: MatchPool, keys: ReadonlyArray<string>,
  values: ReadonlyArray<string>): boolean {
  for (let k = 0; k < keys.length; k++) {
    if (pool.props.get(keys[k]!) !== values[k]) return false
  }
  return true
}

/** Whether two specs have the same alternatives in the same order, values compared exactly. */
function sameSpec(a: ReadonlyArray<PciSpec>, b: ReadonlyArray<PciSpec>): boolean {
  if (a === b) return true
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!
    const y = b[i]!
    if (x === y) continue
    let keys = 0
    for (const key in y) {
      if (!Object.hasOwn(y, key)) continue
      if (x[key] !== y[key]) return false
      keys++
    }
    for (const key in x) if (Object.hasOwn(x, key)) keys--
    if (keys !== 0) return false
  }
  return true
}
