import type { Response } from 'express'

/**
 * Tracks what a demo keeps open (SSE streams, held long polls, timers owned by a
 * feature) so that shutdown can end it and /health can count it.
 */
export class Lifecycle {
  private readonly held = new Set<() => void>()
  private readonly closers: Array<() => Promise<void> | void> = []
  closing = false

  /**
   * Keeps `res` open until it closes or the server shuts down; `end` is called on shutdown
   * (write a last event, then end the response). Returns the function that forgets it,
   * also called automatically when the response closes.
   */
  hold(res: Response, end: () => void = () => res.end()): () => void {
    const entry = () => end()
    this.held.add(entry)
    const release = () => {
      this.held.delete(entry)
    }
    res.on('close', release) // 'close' comes once; on() keeps no once() wrapper per response
    return release
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
    for (const end of [...this.held]) {
      try {
        end()
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
