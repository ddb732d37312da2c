// The file the sweep's worker threads load: registers tsx in this thread (Node 20 does not run
// `--import` hooks for worker threads), then hands Piscina the TypeScript worker's default export.
import { register } from "tsx/esm/api"

register()
const worker = await import("./sweep-worker.ts")
export default worker.default
