// Starts a scan helper thread (scan-helpers.ts): registers tsx's loader in this thread, as
// bin/corral.js does for the CLI, then loads the TypeScript entry.
import { register } from "tsx/esm/api"

register()
await import("./scan-helper-main.ts")
