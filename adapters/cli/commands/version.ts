import { readFileSync } from "node:fs"
import { join } from "node:path"
import type { CliCommand } from "../command.ts"

/** `corral version`: the package version. */
export const command: CliCommand = {
  summary: "print Corral's version",
  usage: "usage: corral version",
  run: async () => {
    const pkg = JSON.parse(
      readFileSync(join(import.meta.dirname, "..", "..", "..", "package.json"), "utf8"),
    ) as { version: string }
    console.log(`corral ${pkg.version}`)
    return 0
  },
}
