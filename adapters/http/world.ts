/**
 * The HTTP server's world: the core states it serves, plus what only the façade knows (which
 * tenant owns which server, the flavors it offers). Immutable; operations return a new world.
 *
 * The world starts from an offer (adapters/offer.ts: a scenario file's fleet, flavors and PCI
 * aliases). Everything after that comes from journalled operations.
 */
import { HashMap } from "effect"
import { createCluster } from "../../core/cluster/state.ts"
import type { ClusterState } from "../../core/cluster/types.ts"
import { emptyReplicationState, type ReplicationState } from "../../core/replication/model.ts"
import type { VclusterRecord } from "../../core/vcluster/index.ts"
import type { Offer } from "../offer.ts"

/** A server as the façade knows it, beside the cluster's record of what it holds. */
export interface ServerMeta {
  readonly id: string
  readonly name: string
  readonly tenant: string
  readonly flavor: string
  readonly createdAtMs: number
}

/**
 * The whole state the HTTP server serves. The cluster state holds the PCI and pmem states too
 * (`cluster.pci`, `cluster.pmem`): servers claim devices and volumes through it.
 */
export interface World {
  readonly offer: Offer
  readonly cluster: ClusterState
  readonly servers: ReadonlyMap<string, ServerMeta>
  readonly replication: ReplicationState
  readonly vclusters: HashMap.HashMap<string, VclusterRecord>
}

/** The world before any operation. */
export function initialWorld(offer: Offer): World {
  return {
    offer,
    cluster: createCluster(offer.inventory),
    servers: new Map(),
    replication: emptyReplicationState,
    vclusters: HashMap.empty(),
  }
}

export { withEntry, withoutEntry } from "../../core/readonly-map.ts"
