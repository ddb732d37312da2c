/**
 * wrk (the C load generator, Debian package `wrk`, installed by scripts/system-deps.sh) as a
 * bench client: one thread, keep-alive connections, no pipelining, run in a child process
 * (pinned with taskset when asked). Its report is parsed into requests/s, p50/p99 latency,
 * transfer and error counts; its own CPU time is read from the shell that waited for it.
 */
import { spawn } from "node:child_process"

/** What one wrk run measured. */
export interface WrkResult {
  /** Requests per second (wrk's `Requests/sec`). */
  readonly requestsPerS: number
  readonly total: number
  readonly p50Ms: number
  readonly p99Ms: number
  /** Bytes read per second (wrk's `Transfer/sec`). */
  readonly bytesPerS: number
  /** Responses with a status of 400 or above (wrk's `Non-2xx or 3xx responses`). */
  readonly non2xx: number
  /** Connect, read, write errors and timeouts. */
  readonly errors: number
  /** wrk's user + system CPU time in µs (NaN where /proc is absent). */
  readonly cpuUs: number
}

const units: Record<string, number> = { us: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }
const sizes: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 }

function duration(text: string, what: string): number {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(text)
  if (m === null) throw new Error(`wrk: ${what} "${text}" is not a duration`)
  return Number(m[1]) * units[m[2]!]!
}

/**
 * Parses wrk's report (`--latency`). Throws naming the line that is missing, so a changed wrk
 * output fails the bench instead of printing zeros.
 */
export function parseWrk(report: string): Omit<WrkResult, "cpuUs"> {
  const need = (re: RegExp, what: string) => {
    const m = re.exec(report)
    if (m === null) throw new Error(`wrk: no ${what} in its report:\n${report}`)
    return m
  }
  const rate = Number(need(/^Requests\/sec:\s+([\d.]+)/m, "Requests/sec")[1])
  const total = Number(need(/^\s*(\d+) requests in /m, "request count")[1])
  const p50 = duration(need(/^\s+50%\s+(\S+)/m, "50% latency")[1]!, "p50")
  const p99 = duration(need(/^\s+99%\s+(\S+)/m, "99% latency")[1]!, "p99")
  const transfer = need(/^Transfer\/sec:\s+([\d.]+)(B|KB|MB|GB|TB)/m, "Transfer/sec")
  const non2xx = Number(/^\s*Non-2xx or 3xx responses:\s+(\d+)/m.exec(report)?.[1] ?? 0)
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/
    .exec(report)
  const errors = socket === null ? 0 : socket.slice(1).reduce((a, b) => a + Number(b), 0)
  return { requestsPerS: rate, total, p50Ms: p50, p99Ms: p99,
    bytesPerS: Number(transfer[1]) * sizes[transfer[2]!]!, non2xx, errors }
}

/** Clock ticks per second of /proc's CPU times (Linux: 100). */
const ticksPerS = 100

/**
 * Runs wrk against `url` for `durationS` seconds (whole seconds, at least 1: wrk takes no
 * fractions) with `connections` connections and the given
 * headers; `cpu` pins it to one CPU. Resolves with the parsed report and wrk's CPU time.
 */
export function runWrk(url: string, options: { durationS: number; connections: number;
  headers?: Record<string, string>; cpu?: number }): Promise<WrkResult> {
  const args = ["-t1", `-c${options.connections}`, `-d${Math.max(1, Math.round(options.durationS))}s`, "--latency"]
  for (const [k, v] of Object.entries(options.headers ?? {})) args.push("-H", `${k}: ${v}`)
  args.push(url)
  const wrk = options.cpu === undefined ? ["wrk", ...args]
    : ["taskset", "-c", String(options.cpu), "wrk", ...args]
  // The shell waits for wrk, then prints its own /proc stat: fields cutime and cstime hold the
  // CPU time of the children it waited for.
  const script = '"$@"; s=$?; echo; echo "corral-stat $(cat /proc/$$/stat 2>/dev/null)"; exit $s'
  const child = spawn("sh", ["-c", script, "sh", ...wrk], { stdio: ["ignore", "pipe", "pipe"] })
  let out = ""
  let err = ""
  child.stdout.on("data", (d: Buffer) => { out += d.toString() })
  child.stderr.on("data", (d: Buffer) => { err += d.toString() })
  return new Promise((resolve, reject) => {
    child.on("error", reject)
    child.on("close", (code) => {
      if (code !== 0) {
        reject(new Error(`wrk exited ${code}: ${err.trim() || out.trim()}`))
        return
      }
      try {
        const stat = /^corral-stat .*\) (.*)$/m.exec(out)?.[1]?.split(" ")
        const cpuUs = stat === undefined ? Number.NaN
          : (Number(stat[13]) + Number(stat[14])) * 1e6 / ticksPerS
        resolve({ ...parseWrk(out), cpuUs })
      } catch (e) {
        reject(e)
      }
    })
  })
}
