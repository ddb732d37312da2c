/**
 * The replica agent as a process: `node --import tsx adapters/replica/agent-main.ts --dir D
 * [--port N]`. Prints `listening <port>` on stdout once it accepts connections.
 */
import { parseArgs } from "node:util"
import { referenceKernels } from "../../core/kernels/index.ts"
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
const agent = await startAgent(values.dir, referenceKernels(), port)
process.stdout.write(`listening ${agent.port}\n`)
process.on("SIGTERM", () => { void agent.close().then(() => process.exit(0)) })
