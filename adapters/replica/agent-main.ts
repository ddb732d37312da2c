/**
 * The replica agent as a process: `node --import tsx adapters/replica/agent-main.ts --dir D
 * [--port N]`. Prints `listening <port> <backend>` on stdout once it accepts connections. The
 * block kernels are the library's choice (WebAssembly, or the TypeScript reference where it is
 * unavailable or CORRAL_KERNELS=ts).
 */
import { parseArgs } from "node:util"
import { Result } from "effect"
import { loadKernels } from "../kernels.ts"
import { startAgent } from "./agent.ts"

const { values } = parseArgs({ options: { dir: { type: "string" }, port: { type: "string" } } })
if (values.dir === undefined) {
  console.error("usage: agent-main --dir DIR [--port N]")
  process.exit(2)
}
const port = Number(values.port ?? "0")
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port: a TCP port (0-65535), got ${values.port}`)
  process.exit(2)
}
const selection = loadKernels()
if (Result.isFailure(selection)) {
  console.error(selection.failure.message)
  process.exit(2)
}
const kernels = selection.success.kernels
const agent = await startAgent(values.dir, kernels, port)
process.stdout.write(`listening ${agent.port} ${kernels.backend}\n`)
process.on("SIGTERM", () => { void agent.close().then(() => process.exit(0)) })
