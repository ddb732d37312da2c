/**
 * The little of the WebAssembly JS API the kernel wrappers use, reached through `globalThis` so
 * that a host without WebAssembly is detected (and the reference used) instead of crashing, and
 * the linear memory each wrapper owns: its layout above the module's static data, its growth, and
 * the views over it (made once, remade only after `memory.grow`).
 */
import { decodeBase64 } from "./base64.ts"

/** A WebAssembly.Memory, as far as the wrappers use it. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer
  grow(deltaPages: number): number
}

interface WasmInstance {
  readonly exports: Record<string, unknown>
}

interface WasmApi {
  readonly Module: new (bytes: Uint8Array) => object
  readonly Instance: new (module: object, imports: object) => WasmInstance
  validate(bytes: Uint8Array): boolean
}

/** Bytes per WebAssembly page. */
export const PAGE_BYTES = 65536
/** Alignment of every region the wrappers place in linear memory (a cache line). */
export const REGION_ALIGN_BYTES = 64

/** Whether this host has WebAssembly, and whether it compiled a given kernel. */
export type KernelModule =
  | { readonly ok: true; readonly module: object }
  | { readonly ok: false; readonly reason: string }

function api(): WasmApi | undefined {
  return (globalThis as { readonly WebAssembly?: WasmApi }).WebAssembly
}

/** Compiles a kernel's base64 bytes; says why not when this host cannot (no WebAssembly/SIMD). */
export function compileKernel(name: string, base64: string): KernelModule {
  const wasm = api()
  if (wasm === undefined) return { ok: false, reason: "this runtime has no WebAssembly" }
  const bytes = decodeBase64(base64)
  if (!wasm.validate(bytes)) {
    return { ok: false, reason: `${name}: this runtime does not accept the module (SIMD?)` }
  }
  try {
    return { ok: true, module: new wasm.Module(bytes) }
  } catch (e) {
    return { ok: false, reason: `${name}: ${e instanceof Error ? e.message : String(e)}` }
  }
}

/** A kernel instance's exported functions, looked up by name (a missing one is a build defect). */
export function instantiate(module: object): Record<string, unknown> {
  const wasm = api()
  if (wasm === undefined) throw new Error("WebAssembly disappeared after compiling")
  const imports = {
    env: {
      abort: (): never => {
        throw new Error("kernel aborted: an AssemblyScript runtime check failed")
      },
    },
  }
  return new wasm.Instance(module, imports).exports
}

/** The export `name` of a kernel, checked to be a function. */
export function exportedFunction<F>(exports: Record<string, unknown>, name: string): F {
  const value = exports[name]
  if (typeof value !== "function") throw new Error(`kernel export ${name} is missing`)
  return value as F
}

/** Rounds `n` up to the region alignment. */
export function alignUp(n: number): number {
  return Math.ceil(n / REGION_ALIGN_BYTES) * REGION_ALIGN_BYTES
}

/**
 * A kernel instance's linear memory: regions start at `base` (above static data); `reserve`
 * grows it to hold a layout and remakes the views, which are otherwise made once.
 */
export class LinearMemory {
  /** The whole memory as bytes; remade after each growth. */
  bytes: Uint8Array
  /** The whole memory as u64 words (for hash lists); remade after each growth. */
  words: BigUint64Array

  constructor(private readonly memory: WasmMemory, readonly base: number) {
    if (base % REGION_ALIGN_BYTES !== 0) throw new Error(`unaligned region base ${base}`)
    this.bytes = new Uint8Array(memory.buffer)
    this.words = new BigUint64Array(memory.buffer)
  }

  /** The ArrayBuffer currently backing the memory (changes when it grows). */
  get buffer(): ArrayBuffer {
    return this.memory.buffer
  }

  /** Makes sure bytes [0, endBytes) exist, growing the memory (and remaking views) if needed. */
  reserve(endBytes: number): void {
    const haveBytes = this.memory.buffer.byteLength
    if (endBytes > haveBytes) {
      this.memory.grow(Math.ceil((endBytes - haveBytes) / PAGE_BYTES))
    }
    if (this.bytes.buffer !== this.memory.buffer) {
      this.bytes = new Uint8Array(this.memory.buffer)
      this.words = new BigUint64Array(this.memory.buffer)
    }
    if (this.bytes.length < endBytes) throw new Error("linear memory did not grow as asked")
  }

  /** Whether `view` already lies at byte `offset` of this memory. */
  holdsAt(view: ArrayBufferView, offset: number): boolean {
    return view.buffer === this.memory.buffer && view.byteOffset === offset
  }

  /** Whether `view` lies anywhere in this memory. */
  holds(view: ArrayBufferView): boolean {
    return view.buffer === this.memory.buffer
  }
}

/** The first region offset of a kernel instance: its heap base, rounded up to the alignment. */
export function regionBase(exports: Record<string, unknown>): number {
  return alignUp(exportedFunction<() => number>(exports, "heapBase")())
}

/** The kernel instance's memory export. */
export function memoryOf(exports: Record<string, unknown>): WasmMemory {
  const memory = exports["memory"] as WasmMemory | undefined
  if (memory === undefined || !(memory.buffer instanceof ArrayBuffer)) {
    throw new Error("kernel does not export its memory")
  }
  return memory
}
