import type { Response } from 'express'
import type { DemoContext } from '../app.ts'

/** Epoch milliseconds with sub-millisecond precision: hop times are often below 1 ms. */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now()
}

/** One open Server-Sent Events response. */
export interface EventStream {
  /** Writes one event; resolves once it was handed to the socket (our back-pressure signal). */
  send: (event: string, data: unknown, id?: string) => Promise<void>
  /** True once the client went away or the stream was ended. */
  readonly closed: boolean
  end: () => void
}

/** Options of {@link openEventStream}. */
export interface EventStreamOptions {
  /** Heartbeat comment interval, ms. Default 10000 (proxies drop silent connections). */
  heartbeatMs?: number
  /** Reconnect delay the browser's EventSource should use, ms. Default 1000. */
  retryMs?: number
}

/**
 * Turns `res` into an event stream: headers, `retry:`, a heartbeat, registered with the
 * lifecycle so shutdown ends it. Everything it owns is released on the response's 'close'.
 */
export function openEventStream(ctx: DemoContext, res: Response, options: EventStreamOptions = {}): EventStream {
  res.status(200).set({
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache, no-transform',
    'X-Accel-Buffering': 'no',
  })
  res.flushHeaders()
  res.write(`retry: ${options.retryMs ?? 1000}\n\n`)
  let closed = false
  const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), options.heartbeatMs ?? 10_000)
  const end = () => {
    if (!closed)
      res.end()
  }
  ctx.lifecycle.hold(res, () => {
    res.write('event: shutdown\ndata: {}\n\n')
    end()
  })
  res.once('close', () => {
    closed = true
    clearInterval(heartbeat)
  })
  return {
    get closed() {
      return closed
    },
    end,
    // #region send
    send(event, data, id) {
      if (closed)
        return Promise.resolve()
      const frame = `${id ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`
      return new Promise(resolve => res.write(frame, () => resolve()))
    },
    // #endregion send
  }
}
