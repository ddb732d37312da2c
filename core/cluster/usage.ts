/**
 * Per-host usage as a persistent vector (`corral/pci`'s 64-way trie), so a commit that changes one
 * host copies O(log64 hosts) slots instead of an array of every host, and an older state keeps
 * reading its own numbers.
 */
import { type PVec, pvecGet, pvecOf, pvecSet, pvecToArray } from "../pci/pvec.ts"
import type { HostUsage } from "./types.ts"

/** The usage of every host, aligned with `inventory.hosts` (read with `usageAt`). */
export type UsageVec = PVec<HostUsage>

/** A usage vector holding `usage` (copied), one entry per host. */
export const usageVecOf = (usage: ReadonlyArray<HostUsage>): UsageVec => pvecOf(usage)

/**
 * The usage of host `hostIndex` in `state` (O(log64 hosts)); throws a RangeError for an index
 * outside the inventory (a caller's bug).
 */
export const usageAt = (state: { readonly usage: UsageVec }, hostIndex: number): HostUsage =>
  pvecGet(state.usage, hostIndex)

/** Every host's usage in host order, as a fresh array (O(hosts): for views and tests). */
export const usageList = (state: { readonly usage: UsageVec }): HostUsage[] =>
  pvecToArray(state.usage)

/** A new vector with host `hostIndex`'s usage replaced; `usage` itself is unchanged. */
export const withUsageAt = (usage: UsageVec, hostIndex: number, hostUsage: HostUsage): UsageVec =>
  pvecSet(usage, hostIndex, hostUsage)
