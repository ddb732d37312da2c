import { readFileSync } from "node:fs"
import { parseArgs } from "node:util"
import { Result } from "effect"
import { startApp } from "../../http/app.ts"
import { parseConfig, type ServerConfig } from "../../http/config.ts"
import { defaultScenarioPath, parseOffer } from "../../offer.ts"
import type { CliCommand } from "../command.ts"

const usage = `usage: corral serve [--config FILE] [--port N] [--host 127.0.0.1] [--journal FILE]
                    [--scenario scenarios/default.json] [--quiet]

Serves the seeds' REST APIs (servers, hypervisors, PCI, pmem, replicas, vclusters, the z/VM
connector) over the scenario's fleet with the in-memory driver.

  --config FILE     JSON: {"tokens": [{"token", "tenant", "role": "member"|"admin"}],
                    "bodyLimitBytes": 1048576}. Without it, no token is accepted.
  --port N          TCP port (default 8080; 0 picks a free one)
  --host ADDR       address to bind (default 127.0.0.1)
  --journal FILE    durable journal (JSON lines, fsync per change); replayed on start.
                    Without it, state lives in memory only.
  --scenario FILE   fleet, flavors and PCI aliases (default scenarios/default.json)
  --quiet           no request logs (they are JSON lines on stdout otherwise)

Prints "listening on http://HOST:PORT" once ready; SIGTERM or SIGINT stops it gracefully.`

const portMax = 65_535

function readOrFail<T>(path: string, parse: (text: string) => Result.Result<T, { message: string }>,
  what: string): T | string {
  let text: string
  try {
    text = readFileSync(path, "utf8")
  } catch (e) {
    return `cannot read ${what} ${path}: ${e instanceof Error ? e.message : String(e)}`
  }
  const parsed = parse(text)
  return Result.isFailure(parsed) ? `${what} ${path}:\n${parsed.failure.message}` : parsed.success
}

/** `corral serve`: the HTTP API over the core, with a durable journal. */
export const command: CliCommand = {
  summary: "serve the REST APIs of the seeds over a scenario's fleet",
  usage,
  run: async (args) => {
    let values
    try {
      values = parseArgs({ args: [...args], options: {
        config: { type: "string" }, port: { type: "string", default: "8080" },
        host: { type: "string", default: "127.0.0.1" }, journal: { type: "string" },
        scenario: { type: "string", default: defaultScenarioPath },
        quiet: { type: "boolean", default: false },
      } }).values
    } catch (e) {
      console.error(`corral serve: ${e instanceof Error ? e.message : String(e)}\n${usage}`)
      return 2
    }
    const port = Number(values.port)
    if (!Number.isInteger(port) || port < 0 || port > portMax) {
      console.error(`corral serve: --port must be an integer 0-${portMax}`)
      return 2
    }
    const config: ServerConfig | string = values.config === undefined
      ? { tokens: [], bodyLimitBytes: 1_048_576 }
      : readOrFail(values.config, parseConfig, "config")
    const offer = readOrFail(values.scenario, parseOffer, "scenario")
    for (const problem of [config, offer]) {
      if (typeof problem === "string") {
        console.error(`corral serve: ${problem}`)
        return 1
      }
    }
    if (typeof config === "string" || typeof offer === "string") return 1
    let started
    try {
      started = startApp({ config, offer, journalPath: values.journal ?? null,
        logger: !values.quiet })
    } catch (e) {
      console.error(`corral serve: cannot start: ${e instanceof Error ? e.message : String(e)}`)
      return 1
    }
    const { app } = started
    if (started.replayed > 0 || started.tornBytes > 0) {
      console.error(`corral serve: replayed ${started.replayed} journal entries` +
        (started.tornBytes > 0 ? `, dropped a torn tail of ${started.tornBytes} bytes` : ""))
    }
    const address = await app.listen({ port, host: values.host })
    console.log(`listening on ${address}`)
    return await new Promise<number>((resolve) => {
      const stop = (signal: string) => {
        app.log.info({ signal }, "shutting down")
        app.close().then(() => resolve(0), (e: unknown) => {
          console.error(`corral serve: shutdown failed: ${String(e)}`)
          resolve(1)
        })
      }
      process.once("SIGTERM", () => stop("SIGTERM"))
      process.once("SIGINT", () => stop("SIGINT"))
    })
  },
}
