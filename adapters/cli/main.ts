/**
 * The `corral` command line. Each command is a module `adapters/cli/commands/<name>.ts` exporting
 * `command: CliCommand`; this file only finds it and runs it, so adding a command touches nothing
 * else. `corral help` lists them.
 */
import { readdirSync } from "node:fs"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import type { CliCommand } from "./command.ts"

const dir = join(import.meta.dirname, "commands")

function commandNames(): string[] {
  return readdirSync(dir).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"))
    .map((f) => f.slice(0, -3)).sort()
}

async function load(name: string): Promise<CliCommand> {
  const module = (await import(pathToFileURL(join(dir, `${name}.ts`)).href)) as {
    command: CliCommand
  }
  return module.command
}

async function help(): Promise<void> {
  console.log("usage: corral <command> [args]\n\ncommands:")
  for (const name of commandNames()) {
    const c = await load(name)
    console.log(`  ${name.padEnd(18)} ${c.summary}`)
  }
  console.log("\n`corral <command> --help` describes one command.")
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    await help()
    return 0
  }
  if (!commandNames().includes(name)) {
    console.error(`corral: unknown command '${name}'. Run 'corral help' for the list.`)
    return 2
  }
  const command = await load(name)
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(command.usage)
    return 0
  }
  return command.run(rest)
}

process.exitCode = await main(process.argv.slice(2))
