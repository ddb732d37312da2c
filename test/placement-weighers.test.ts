import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { placeOne } from "../core/placement/index.ts"
import { host } from "./builders.ts"
import { createServer } from "../core/cluster/index.ts"
import type { ClusterState } from "../core/cluster/types.ts"
import { clusterOf, server, type ServerBuilder } from "./placement-builders.ts"

/** Puts a server on a named host (no solver involved). */
function on(state: ClusterState, s: ServerBuilder, hostName: string): ClusterState {
  return Result.getOrThrow(createServer(state, s.build(), hostName)).state
}

describe("the special-hardware weigher", () => {
  // A half-full GPU host is what pack would choose; an empty plain host is what keeps the GPU free.
  const gpu = host("gpu").cpus(64).pci({ address: "0000:17:00.0", vendor_id: "10de",
    product_id: "20b0" })
  const pmem = host("pm").cpus(64).pmem("NVDIMM0", 4096)
  const plain = host("plain").cpus(64)

  it("keeps ordinary instances off hosts with PCI or pmem devices, even when pack prefers them", () => {
    const state = on(on(clusterOf(gpu, pmem, plain), server("x").cpus(32).ram(32768), "gpu"),
      server("y").cpus(32).ram(32768), "pm")
    const where = (s: ServerBuilder) => {
      const r = placeOne(state, s.instance(), { policy: "pack" })
      if (Result.isFailure(r)) throw new Error(r.failure.message)
      return r.success.host
    }
    expect(where(server("web").cpus(2).ram(4096))).toBe("plain")
  })

  it("gives way when the plain hosts are full, and can be turned off", () => {
    const state = on(clusterOf(gpu, plain), server("big").cpus(64).ram(65536), "plain")
    const r = placeOne(state, server("web").cpus(2).ram(4096).instance(), { policy: "pack" })
    expect(Result.getOrThrow(r).host).toBe("gpu")
    const off = placeOne(clusterOf(gpu, plain), server("web").instance(),
      { policy: "pack", weights: { policy: 1, softAffinity: 1, softAntiAffinity: 1,
        specialHardware: 0 } })
    expect(Result.getOrThrow(off).host).toBe("gpu")
  })
})
