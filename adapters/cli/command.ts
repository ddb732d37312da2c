/** The shape of one `corral` command module (`adapters/cli/commands/<name>.ts`). */
export interface CliCommand {
  /** One line for `corral help`. */
  readonly summary: string
  /** The full usage text for `corral <name> --help`. */
  readonly usage: string
  /** Runs the command; resolves to the process exit code (0 ok, 1 failed, 2 bad usage). */
  readonly run: (args: ReadonlyArray<string>) => Promise<number>
}
