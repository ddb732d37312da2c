import { describe, expect, it, vi } from "vitest"
import { command } from "../adapters/cli/commands/guest.ts"
import { liveQemuProcesses } from "../adapters/qemu/driver.ts"

describe("corral guest run (QEMU)", () => {
  it("prints each result and the power state QEMU reports; a conflict fails the run", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined)
    let code: number
    let calls: unknown[][] = []
    try {
      code = await command.run(["run", "--memory", "64", "start", "pause", "stop", "unpause"])
      calls = [...log.mock.calls]
    } finally { log.mockRestore() }
    const lines = calls.map((c) => JSON.parse(String(c[0])) as {
      op: string; power_state: string | null; result: { overallRC: number } })
    expect(lines.map((l) => [l.op, l.power_state, l.result.overallRC])).toEqual([
      ["guest_create", "off", 0], ["start", "on", 0], ["pause", "paused", 0], ["stop", "off", 0],
      ["unpause", "off", 409], ["guest_delete", null, 0]])
    expect(code).toBe(1)
    expect(liveQemuProcesses()).toBe(0)
  })

  it("rejects an unknown operation with usage", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => undefined)
    try {
      expect(await command.run(["run", "explode"])).toBe(2)
      expect(String(error.mock.calls[0]?.[0])).toContain("unknown operation explode")
    } finally { error.mockRestore() }
  })
})
