/**
 * A minimal QMP client over a unix socket: connect (retrying while QEMU creates the socket),
 * negotiate capabilities, then `execute(command, arguments)` one request at a time. Events are
 * kept (bounded) for inspection; an `error` reply rejects with the QEMU error class and text.
 */
import { createConnection, type Socket } from "node:net"

/** Bounds of the client. */
export const qmpLimits = {
  connectAttemptsMax: 250,
  connectRetryMs: 20,
  eventsKeptMax: 256,
  replyTimeoutMs: 30_000,
  lineBytesMax: 16 * 1024 * 1024,
} as const

/** A QMP error reply. */
export class QmpError extends Error {
  constructor(readonly errorClass: string, readonly description: string, readonly command: string) {
    super(`QMP ${command} failed: ${errorClass}: ${description}`)
  }
}

interface Pending {
  readonly command: string
  readonly resolve: (value: unknown) => void
  readonly reject: (error: Error) => void
  readonly timer: NodeJS.Timeout
}

/** A connected QMP session. */
export class QmpClient {
  private buffer = ""
  private readonly queue: Pending[] = []
  private closedError: Error | undefined
  /** Events received, oldest first (at most `qmpLimits.eventsKeptMax`). */
  readonly events: Array<{ event: string; data?: unknown }> = []

  private constructor(private readonly socket: Socket) {
    socket.setEncoding("utf8")
    socket.on("data", (chunk: string) => this.onData(chunk))
    socket.on("close", () => this.fail(new Error("QMP connection closed")))
    socket.on("error", (e) => this.fail(e))
  }

  /** Connects to `path`, retrying until QEMU has created it, and negotiates capabilities. */
  static async connect(path: string): Promise<QmpClient> {
    let lastError: unknown
    for (let attempt = 0; attempt < qmpLimits.connectAttemptsMax; attempt++) {
      try {
        const socket = await new Promise<Socket>((resolve, reject) => {
          const s = createConnection(path)
          s.once("connect", () => resolve(s))
          s.once("error", reject)
        })
        const client = new QmpClient(socket)
        await client.greeting()
        await client.execute("qmp_capabilities")
        return client
      } catch (e) {
        lastError = e
        await new Promise((r) => setTimeout(r, qmpLimits.connectRetryMs))
      }
    }
    throw new Error(`cannot connect to QMP at ${path}: ${String(lastError)}`)
  }

  private greetingWaiter: ((ok: boolean) => void) | undefined
  private greeted = false
  private greeting(): Promise<void> {
    if (this.greeted) return Promise.resolve()
    return new Promise((resolve, reject) => {
      this.greetingWaiter = (ok) => (ok ? resolve() : reject(new Error("no QMP greeting")))
    })
  }

  /** Sends a command and resolves with its `return` value. */
  execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    if (this.closedError !== undefined) return Promise.reject(this.closedError)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const k = this.queue.findIndex((p) => p.timer === timer)
        if (k >= 0) this.queue.splice(k, 1)
        reject(new Error(`QMP ${command}: no reply within ${qmpLimits.replyTimeoutMs} ms`))
      }, qmpLimits.replyTimeoutMs)
      this.queue.push({ command, resolve, reject, timer })
      this.socket.write(JSON.stringify(args === undefined ? { execute: command }
        : { execute: command, arguments: args }) + "\n")
    })
  }

  /** Closes the connection. */
  close(): void {
    this.socket.destroy()
  }

  private onData(chunk: string): void {
    this.buffer += chunk
    if (this.buffer.length > qmpLimits.lineBytesMax) {
      this.fail(new Error("QMP line too long"))
      this.socket.destroy()
      return
    }
    let nl: number
    while ((nl = this.buffer.indexOf("\n")) >= 0) {
      const line = this.buffer.slice(0, nl).trim()
      this.buffer = this.buffer.slice(nl + 1)
      if (line !== "") this.onMessage(JSON.parse(line) as Record<string, unknown>)
    }
  }

  private onMessage(m: Record<string, unknown>): void {
    if ("QMP" in m) {
      this.greeted = true
      this.greetingWaiter?.(true)
      return
    }
    if ("event" in m) {
      this.events.push({ event: String(m["event"]), data: m["data"] })
      if (this.events.length > qmpLimits.eventsKeptMax) this.events.shift()
      return
    }
    const pending = this.queue.shift()
    if (pending === undefined) return
    clearTimeout(pending.timer)
    if ("error" in m) {
      const e = m["error"] as { class?: string; desc?: string }
      pending.reject(new QmpError(e.class ?? "GenericError", e.desc ?? "", pending.command))
    } else pending.resolve(m["return"])
  }

  private fail(error: Error): void {
    if (this.closedError !== undefined) return
    this.closedError = error
    this.greetingWaiter?.(false)
    for (const p of this.queue.splice(0)) {
      clearTimeout(p.timer)
      p.reject(error)
    }
  }
}
