import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Exit, Layer } from "effect"
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest"
import { Driver } from "../core/driver/port.ts"
import { makeSdk, type SdkApi } from "../core/sdk/api.ts"
import type { SdkFailure } from "../core/sdk/connector.ts"
import { defaultSdkConfig } from "../core/sdk/state.ts"
import { liveQemuProcesses, makeQemuDriver, type QemuDriver, writeBacking }
  from "../adapters/qemu/driver.ts"
import { probedInventoryHost, probeHost } from "../adapters/probe/linux.ts"
import { host, inventoryOf } from "./builders.ts"

let dir = ""
let driver: QemuDriver
let sdk: SdkApi

const run = <A>(e: Effect.Effect<A, SdkFailure>) => Effect.runPromise(e)
const runFail = async <A>(e: Effect.Effect<A, SdkFailure>) => {
  const exit = await Effect.runPromiseExit(e)
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const f = exit.cause.reasons.find((r) => r._tag === "Fail")
  if (f === undefined || f._tag !== "Fail") throw new Error("expected a Fail")
  return f.error
}
const alive = (pid: number) => { try { process.kill(pid, 0); return true } catch { return false } }

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "corral-qemu-"))
  driver = makeQemuDriver({ workDir: dir, pmemRoomMb: 256 })
  const inv = inventoryOf(host("kvmhost").diskPool("ECKD:POOL1", 1024))
  sdk = await Effect.runPromise(makeSdk({ ...defaultSdkConfig, host: inv.hosts[0]!,
    defaultDiskPool: "ECKD:POOL1", imageRoot: dir }).pipe(
    Effect.provide(Layer.succeed(Driver, driver))))
})

afterEach(async () => {
  await driver.close()
  rmSync(dir, { recursive: true, force: true })
})

afterAll(() => {
  expect(liveQemuProcesses()).toBe(0)
})

describe("QEMU driver (real qemu-system-x86_64 over QMP)", () => {
  it("host_get_info reports this machine, probed from procfs and sysfs", async () => {
    const probed = probeHost()
    const host = probedInventoryHost({}, { diskPools: [{ name: "ECKD:POOL1", sizeMb: 2048 }] })
    const real = await Effect.runPromise(makeSdk({ ...defaultSdkConfig, host,
      defaultDiskPool: "ECKD:POOL1", imageRoot: dir }).pipe(
      Effect.provide(Layer.succeed(Driver, driver))))
    const info = await run(real.host_get_info())
    expect(info).toMatchObject({ vcpus: probed.vcpus, memory_mb: probed.ramMb, vcpus_used: 0,
      disk_total: 2, zvm_host: probed.name })
    expect(info.hypervisor_type).toMatch(/^qemu-(kvm|tcg)$/)
    expect(info.hypervisor_version).toMatch(/^\d+\.\d+/)
  })

  it("create, start, pause, unpause, reset, softstop, start, stop", async () => {
    await run(sdk.guest_create({ userid: "QVM1", vcpus: 1, memory: 64 }))
    expect(await run(sdk.guest_get_power_state("QVM1"))).toBe("off")
    await run(sdk.guest_start("QVM1"))
    const pid = driver.pid("QVM1")!
    expect(alive(pid)).toBe(true)
    expect(await run(sdk.guest_get_power_state("QVM1"))).toBe("on")
    await run(sdk.guest_pause("QVM1"))
    expect(await run(sdk.guest_get_power_state("QVM1"))).toBe("paused")
    await run(sdk.guest_unpause("QVM1"))
    expect(await run(sdk.guest_get_power_state("QVM1"))).toBe("on")
    await run(sdk.guest_reset("QVM1"))
    expect(await run(sdk.guest_get_power_state("QVM1"))).toBe("on")
    const info = await run(sdk.guest_get_info("QVM1"))
    expect(info).toMatchObject({ power_state: "on", max_mem_kb: 64 * 1024, num_cpu: 1 })
    expect(info.mem_kb).toBeGreaterThan(0)
    // no OS answers the ACPI power button: softstop waits out its timeout, then ends QEMU
    await run(sdk.guest_softstop("QVM1", { timeout: 1, poll_interval: 1 }))
    expect(await run(sdk.guest_get_power_state("QVM1"))).toBe("off")
    expect(alive(pid)).toBe(false)
    await run(sdk.guest_start("QVM1"))
    expect(await run(sdk.guest_get_power_state("QVM1"))).toBe("on")
    const pci = await Effect.runPromise(driver.pciFunctions("QVM1"))
    expect(pci.some((f) => f.vendorId === "8086")).toBe(true)
    const f = await runFail(sdk.guest_unpause("NOSUCH"))
    expect(f.httpStatus).toBe(404)
    await run(sdk.guest_stop("QVM1", { timeout: 5, poll_interval: 1 }))
    expect(await run(sdk.guest_get_power_state("QVM1"))).toBe("off")
    expect((await run(sdk.guest_get_info("QVM1"))).cpu_time_us).toBeGreaterThan(0)
    const conflict = await runFail(sdk.guest_pause("QVM1"))
    expect(conflict.httpStatus).toBe(409)
    await run(sdk.guest_delete("QVM1"))
    expect(liveQemuProcesses()).toBe(0)
  })

  it("pmem: NVDIMMs cold-plugged and hot-added; the backing file survives a restart", async () => {
    const p = (e: Effect.Effect<unknown, unknown>) => Effect.runPromise(e)
    await p(driver.define({ userid: "QVM2", vcpus: 1, memoryMb: 64 }))
    await p(driver.addPmem("QVM2", { name: "vol0", sizeMb: 16 }))
    await p(driver.start("QVM2"))
    expect(await driver.memoryDevices("QVM2")).toEqual([
      { type: "nvdimm", id: "nv-vol0", sizeBytes: 16 * 1024 * 1024 }])
    const marker = new TextEncoder().encode("corral pmem survives restart")
    await writeBacking(driver.pmemPath("QVM2", "vol0"), 4096, marker)
    await p(driver.addPmem("QVM2", { name: "vol1", sizeMb: 16 }))
    expect((await driver.memoryDevices("QVM2")).map((d) => d.id)).toEqual(["nv-vol0", "nv-vol1"])
    const refused = await Effect.runPromiseExit(driver.removePmem("QVM2", "vol1"))
    expect(Exit.isFailure(refused) && JSON.stringify(refused.cause)).toContain("hot-unplug")
    await p(driver.stop("QVM2"))
    expect(await p(driver.powerState("QVM2"))).toBe("off")
    await p(driver.start("QVM2"))
    expect((await driver.memoryDevices("QVM2")).map((d) => d.id)).toEqual(["nv-vol0", "nv-vol1"])
    const bytes = readFileSync(driver.pmemPath("QVM2", "vol0")).subarray(4096, 4096 + marker.length)
    expect(new TextDecoder().decode(bytes)).toBe("corral pmem survives restart")
    await p(driver.stop("QVM2"))
    await p(driver.removePmem("QVM2", "vol1"))
    await p(driver.start("QVM2"))
    expect((await driver.memoryDevices("QVM2")).map((d) => d.id)).toEqual(["nv-vol0"])
  })
})
