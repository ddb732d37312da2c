import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Exit, Layer } from "effect"
import { Driver } from "../../../core/driver/port.ts"
import { makeSdk, type SdkApi } from "../../../core/sdk/api.ts"
import { connectorResult, type SdkFailure } from "../../../core/sdk/connector.ts"
import { defaultSdkConfig } from "../../../core/sdk/state.ts"
import { probedInventoryHost } from "../../probe/linux.ts"
import { makeQemuDriver } from "../../qemu/driver.ts"
import type { CliCommand } from "../command.ts"

const usage = `usage: corral guest run [--vcpus N] [--memory MB] OPERATION...

Creates a guest on a real QEMU process (KVM or TCG, no OS), applies the operations in order
through the connector SDK, and prints each operation's connector result and the power state
read back from QEMU; the guest is deleted at the end.

operations: start, stop, softstop[:TIMEOUT_S], reboot, reset, pause, unpause, info, stats

example: corral guest run --memory 64 start pause unpause reset softstop:1 start stop`

/** Most operations one run applies. */
export const guestRunOpsMax = 64

type Op = (sdk: SdkApi, userid: string) => Effect.Effect<unknown, SdkFailure>

function operation(word: string): Op | undefined {
  const [name, arg] = word.split(":")
  const timeout = arg === undefined ? undefined : Number(arg)
  switch (name) {
    case "start": return (s, u) => s.guest_start(u)
    case "stop": return (s, u) => s.guest_stop(u, { timeout: 30, poll_interval: 1 })
    case "softstop": return (s, u) => s.guest_softstop(u, { timeout: timeout ?? 10,
      poll_interval: 1 })
    case "reboot": return (s, u) => s.guest_reboot(u)
    case "reset": return (s, u) => s.guest_reset(u)
    case "pause": return (s, u) => s.guest_pause(u)
    case "unpause": return (s, u) => s.guest_unpause(u)
    case "info": return (s, u) => s.guest_get_info(u)
    case "stats": return (s, u) => s.guest_inspect_stats(u)
    default: return undefined
  }
}

function parse(args: ReadonlyArray<string>) {
  if (args[0] !== "run") return "the only subcommand is run"
  let vcpus = 1, memory = 64
  const ops: Array<[string, Op]> = []
  for (let i = 1; i < args.length; i++) {
    const a = args[i]!
    if (a === "--vcpus" || a === "--memory") {
      const n = Number(args[++i])
      if (!Number.isInteger(n) || n < 1) return `${a} needs a positive integer`
      if (a === "--vcpus") vcpus = n
      else memory = n
      continue
    }
    const op = operation(a)
    if (op === undefined) return `unknown operation ${a}`
    ops.push([a, op])
  }
  if (ops.length === 0 || ops.length > guestRunOpsMax) {
    return `1 to ${guestRunOpsMax} operations`
  }
  return { vcpus, memory, ops }
}

/** `corral guest run`: a guest's lifecycle on a real QEMU process, step by step. */
export const command: CliCommand = {
  summary: "run connector operations on a real QEMU guest and print the states QEMU reports",
  usage,
  run: async (args) => {
    const p = parse(args)
    if (typeof p === "string") {
      console.error(`corral guest: ${p}\n${usage}`)
      return 2
    }
    const workDir = mkdtempSync(join(tmpdir(), "corral-guest-"))
    const driver = makeQemuDriver({ workDir, pmemRoomMb: 256 })
    try {
      const sdk = await Effect.runPromise(makeSdk({ ...defaultSdkConfig, imageRoot: workDir,
        host: probedInventoryHost() }).pipe(Effect.provide(Layer.succeed(Driver, driver))))
      const show = async (label: string, e: Effect.Effect<unknown, SdkFailure>) => {
        const result = connectorResult(await Effect.runPromiseExit(e))
        const state = await Effect.runPromiseExit(sdk.guest_get_power_state("CLIVM"))
        console.log(JSON.stringify({ op: label, result,
          power_state: Exit.isSuccess(state) ? state.value : null }))
        return result.overallRC === 0
      }
      let failed = !(await show("guest_create", sdk.guest_create({ userid: "CLIVM",
        vcpus: p.vcpus, memory: p.memory })))
      for (const [label, op] of p.ops) failed = !(await show(label, op(sdk, "CLIVM"))) || failed
      await show("guest_delete", sdk.guest_delete("CLIVM"))
      return failed ? 1 : 0
    } finally {
      await driver.close()
      rmSync(workDir, { recursive: true, force: true })
    }
  },
}
