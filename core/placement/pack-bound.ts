/**
 * A lower bound on the cost of any packing of a problem, the packer's early stop: when a packing
 * costs this much, no search can do better.
 */
import type { PackProblem } from "./pack-state.ts"

/**
 * The least total cost of the bins a packing must use beyond the free ones (cost 0): the larger
 * of a volume bound (per dimension, the fewest of the largest paying bins that hold what the free
 * bins cannot) and a clique bound (items no two of which fit together in any bin, less the free
 * bins), charged at the cheapest paying bins' costs.
 */
export function costLowerBound(p: PackProblem): number {
  const paying: number[] = []
  let freeBins = 0
  for (let b = 0; b < p.bins; b++) {
    if (p.binCost[b]! > 0) paying.push(b)
    else freeBins++
  }
  const needed = Math.max(volumeBins(p, paying), cliqueSize(p) - freeBins, 0)
  const costs = paying.map((b) => p.binCost[b]!).sort((a, b) => a - b)
  let total = 0
  for (let k = 0; k < Math.min(needed, costs.length); k++) total += costs[k]!
  return total
}

function volumeBins(p: PackProblem, paying: ReadonlyArray<number>): number {
  let needed = 0
  for (let d = 0; d < p.dims; d++) {
    let demand = 0
    for (let i = 0; i < p.items; i++) demand += p.itemSize[i * p.dims + d]!
    for (let b = 0; b < p.bins; b++) {
      if (p.binCost[b]! === 0) demand -= Math.max(0, p.binFree[b * p.dims + d]!)
    }
    if (demand <= 0) continue
    const room = paying.map((b) => Math.max(0, p.binFree[b * p.dims + d]!)).sort((a, b) => b - a)
    let k = 0
    // A relative tolerance: sums of floating sizes must not round the bound up by one bin.
    const slack = 1e-9 * Math.max(1, demand)
    while (k < room.length && demand > slack) demand -= room[k++]!
    needed = Math.max(needed, k)
  }
  return needed
}

/** A greedy clique of pairwise incompatible items, largest first (by their largest dimension). */
function cliqueSize(p: PackProblem): number {
  const dims = p.dims
  const peak = new Float64Array(p.items)
  for (let i = 0; i < p.items; i++) {
    let m = 0
    for (let d = 0; d < dims; d++) {
      if (p.scale[d]! > 0) m = Math.max(m, p.itemSize[i * dims + d]! / p.scale[d]!)
    }
    peak[i] = m
  }
  const order = Int32Array.from({ length: p.items }, (_, i) => i)
    .sort((a, b) => peak[b]! - peak[a]! || a - b)
  const clique: number[] = []
  for (const i of order) {
    let clash = true
    for (const j of clique) {
      let apart = false
      for (let d = 0; d < dims; d++) {
        if (p.itemSize[i * dims + d]! + p.itemSize[j * dims + d]! > p.scale[d]!) {
          apart = true
          break
        }
      }
      if (!apart) { clash = false; break }
    }
    if (clash) clique.push(i)
  }
  return clique.length
}
