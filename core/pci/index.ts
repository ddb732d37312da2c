/**
 * `corral/pci`: PCI device accounting with Nova's PCI tracker semantics.
 *
 * Stable API (other capabilities build on these names):
 * - `pciStateOf(inventory)` → `PciState`, an immutable value. Device ids are global integers from
 *   1 in inventory order; `compute_node_id` is the host's index + 1.
 * - Lifecycle, each pure and returning `Result<{ state, devices }, error>`:
 *   `claim(state, {host, instanceUuid, requests, numaPolicy?, instanceNumaCells?})`,
 *   `allocate(state, {host, instanceUuid})`, `free(state, {instanceUuid, host?})`,
 *   `removeDevice(state, {id})`. A dry run is the same call with the result dropped.
 * - Scheduler queries: `pciFits(state, host, requests, {numaPolicy?, instanceNumaCells?})` is
 *   `claim`'s own decision as a boolean; `pciFreeByHost(state, request, out?)` fills a column of
 *   free matching devices per host; `pciHostPools(state, hostIndex, spec)` and
 *   `pciHostFreeCount(state, hostIndex, pools)` give one host's entry of it (the pools kept by
 *   the caller, the count read in O(pools)); `pciPools(state, host)` lists pools with free counts.
 * - Input: `decodePciRequests(input, aliases?)`, `decodePciAliases(input)`,
 *   `decodePciClaim(input, aliases?)` (Effect Schema, every
 *   issue with its path).
 * - Views in the seed's shapes: `pciList`, `pciDetail`, `pciShow`, `serverPciDevices`,
 *   `hypervisorPciStats`.
 * - `checkPciInvariants(state)` lists broken invariants (for tests, the simulator, loaded states).
 */
export {
  allocate,
  claim,
  claimAllocated,
  free,
  type PciChange,
  type PciClaimError,
  type PciClaimInput,
  pciFits,
  removeDevice,
} from "./lifecycle.ts"
export { checkPciInvariants, pciStatusTotals } from "./invariants.ts"
export {
  type PciDeviceInfo, type PciHostLayout, type PciLayout, type PciPoolInfo,
} from "./layout.ts"
export {
  pciFreeByHost, pciHostFreeCount, pciHostPools, type PciPoolFree, pciPools,
} from "./queries.ts"
export {
  decodePciAliases,
  decodePciClaim,
  PciClaimWire,
  decodePciRequests,
  type PciAliases,
  PciAliasesWire,
  PciNumaPolicy,
  type PciRequest,
  pciRequestLimits,
  PciRequestsWire,
  PciRequestWire,
  type PciSpec,
  NovaAliasListWire,
} from "./request.ts"
export { type PciNuma, resourceOf } from "./select.ts"
export {
  type DeviceUse,
  type Holding,
  type HostUsage,
  type PciState,
  type PciStatus,
  pciStateOf,
  pciStatuses,
} from "./state.ts"
export {
  hypervisorPciStats,
  pciDetail,
  type PciDeviceDetail,
  type PciDeviceSummary,
  pciList,
  type PciListFilter,
  type PciPoolStat,
  pciShow,
  serverPciDevices,
} from "./views.ts"
