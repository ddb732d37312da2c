// Starts the scan worker thread (scan-worker.ts): registers tsx's loader in this thread (Node 20
// does not pass the parent's --import to worker threads), as bin/corral.js does for the CLI,
// then loads the TypeScript entry.
import { register } from "tsx/esm/api"

register()
await import("./scan-worker-main.ts")
