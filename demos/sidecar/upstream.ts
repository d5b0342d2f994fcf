import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createServer } from 'node:http'

/** One request the price service received. */
export interface UpstreamAttempt {
  n: number
  status: number
  /** The W3C trace header, if the caller sent one. */
  traceparent?: string
  /** performance.now() in the demo server when it arrived. */
  at: number
}

/**
 * The flaky price service, in the demo server's own process: of every `failures + 1`
 * requests, the first `failures` get a 503. Deterministic, so a test can count retries.
 */
export class FlakyUpstream {
  /** Failing requests per cycle. Default 1 (every other request fails). */
  failures = 1
  readonly attempts: UpstreamAttempt[] = []
  private server?: Server
  private count = 0

  async start(): Promise<string> {
    if (!this.server) {
      const server = createServer((req, res) => {
        const n = ++this.count
        const fail = (n - 1) % (this.failures + 1) < this.failures
        const status = fail ? 503 : 200
        this.attempts.push({ n, status, traceparent: req.headers.traceparent as string | undefined, at: performance.now() })
        if (this.attempts.length > 500)
          this.attempts.splice(0, 100)
        res.writeHead(status, { 'Content-Type': 'application/json' })
        res.end(JSON.stringify(fail ? { error: 'price service overloaded' } : { price: 42, attempt: n }))
      })
      this.server = server
      await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    }
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
  }

  /** Forgets the counters (a fresh cycle starts with a failure). */
  reset(): void {
    this.count = 0
    this.attempts.length = 0
  }

  async stop(): Promise<void> {
    const server = this.server
    this.server = undefined
    if (!server)
      return
    server.closeAllConnections()
    await new Promise<void>(resolve => server.close(() => resolve()))
  }
}
