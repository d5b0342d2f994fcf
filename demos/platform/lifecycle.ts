import type { Response } from 'express'

/**
 * Tracks what a demo keeps open (SSE streams, held long polls, timers owned by a
 * feature) so that shutdown can end it and /health can count it.
 */
export class Lifecycle {
  /** Held responses, each with how it ends on shutdown. */
  private readonly held = new Map<Response, (res: Response) => void>()
  private readonly closers: Array<() => Promise<void> | void> = []
  closing = false
  /** The one 'close' listener of every held response (an emitter calls it with `this` = the response): no closure per response. */
  private readonly onClose: (this: Response) => void

  constructor() {
    const held = this.held
    this.onClose = function (this: Response) {
      held.delete(this)
    }
  }

  /**
   * Keeps `res` open until it closes or the server shuts down; `end(res)` is called on shutdown
   * (write a last event, then end the response; default: end it). Returns the function that
   * forgets it, which the response's `close` does by itself. Holding 10,000 responses costs a
   * map entry each, and a closure only for those whose caller keeps the returned function.
   */
  hold(res: Response, end: (res: Response) => void = endResponse): () => void {
    this.held.set(res, end)
    res.on('close', this.onClose) // 'close' comes once; on() keeps no once() wrapper per response
    return () => void this.held.delete(res)
  }

  /** Number of responses currently held open. */
  get openCount(): number {
    return this.held.size
  }

  /** Registers work to do on shutdown (close a channel, stop a child process). Run in reverse order. */
  onShutdown(fn: () => Promise<void> | void): void {
    this.closers.push(fn)
  }

  /** Ends every held response, then runs the shutdown hooks, newest first. */
  async shutdown(): Promise<void> {
    if (this.closing)
      return
    this.closing = true
    for (const [res, end] of [...this.held]) {
      try {
        end(res)
      }
      catch {}
    }
    this.held.clear()
    for (const fn of this.closers.reverse()) {
      try {
        await fn()
      }
      catch (err) {
        console.error('[demos] shutdown step failed:', err)
      }
    }
  }
}

function endResponse(res: Response): void {
  res.end()
}
