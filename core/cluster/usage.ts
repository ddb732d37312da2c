/**
 * Per-host usage as a rerootable persistent vector (`core/persistent`): the newest state reads and
 * writes one plain array, so a commit that changes one host costs O(1) and copies nothing; an
 * older state stays valid and reads its own numbers after a reroot (O(changes in between)).
 */
import { type RVec, rvecGet, rvecOf, rvecSet, rvecToArray } from "../persistent/vec.ts"
import type { HostUsage } from "./types.ts"

/** The usage of every host, aligned with `inventory.hosts` (read with `usageAt`). */
export type UsageVec = RVec<HostUsage>

/** A usage vector holding `usage` (copied), one entry per host. */
export const usageVecOf = (usage: ReadonlyArray<HostUsage>): UsageVec => rvecOf(usage)

/**
 * The usage of host `hostIndex` in `state` (O(1) on the newest state); throws a RangeError for an
 * index outside the inventory (a caller's bug).
 */
export const usageAt = (state: { readonly usage: UsageVec }, hostIndex: number): HostUsage =>
  rvecGet(state.usage, hostIndex)

/** Every host's usage in host order, as a fresh array (O(hosts): for views and tests). */
export const usageList = (state: { readonly usage: UsageVec }): HostUsage[] =>
  rvecToArray(state.usage)

/** A new vector with host `hostIndex`'s usage replaced; `usage` itself is unchanged. */
export const withUsageAt = (usage: UsageVec, hostIndex: number, hostUsage: HostUsage): UsageVec =>
  rvecSet(usage, hostIndex, hostUsage)
