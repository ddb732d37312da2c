/**
 * Block kernels: changed-block bitmaps between two images, one xxHash64 or XXH3-64 per 4 KiB
 * block, and the bitmap of differing entries between two block-hash lists. One interface
 * (BlockKernels), two backends: `ts` (the reference, and the fallback) and `wasm`
 * (AssemblyScript with SIMD).
 * `selectKernels("auto")` is the usual entry; adapters/kernels.ts applies CORRAL_KERNELS.
 * The placement scan (ScanKernel) has the same two backends; `defaultScanKernel()` is what the
 * placement fast path uses, `usePlacementScan` changes it.
 */
export {
  BLOCK_FINGERPRINTS, BLOCK_SHIFT, BLOCK_SIZE_BYTES, MAX_BLOCKS, MAX_IMAGE_BYTES, bitmapBytes,
  blocksOf, changedBlocks, countChanged, fingerprintBlocksInto, isChanged,
  type BlockDiff, type BlockFingerprint, type BlockKernels, type KernelBackend,
} from "./types.ts"
export { referenceKernels } from "./reference.ts"
export {
  KERNEL_PREFERENCES, selectKernels, wasmSupport,
  type KernelPreference, type KernelSelection, type WasmSupport,
} from "./select.ts"
export { xxh64 } from "./xxhash64.ts"
export { XXH3_DEFAULT_SECRET, xxh3 } from "./xxh3.ts"
export {
  anyDiskKind, newScanResult, scanPciMax, scanSlotCount, scanSlots,
  type ScanInput, type ScanKernel, type ScanRequest, type ScanResult,
} from "./scan-types.ts"
export { referenceScan } from "./scan-reference.ts"
export {
  defaultScanKernel, newScanKernel, setPlacementScan, usePlacementScan,
} from "./scan-select.ts"
export { scanWasmModule } from "./scan-wasm.ts"
