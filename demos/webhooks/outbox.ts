import type { DemoContext } from '../platform/context.ts'
import type { Delivery, Target } from './sender.ts'
import { randomBytes } from 'node:crypto'
import { HttpError } from '../platform/http.ts'
import { deliver } from './sender.ts'

/** Deliveries kept at once; the oldest finished ones are forgotten first. */
const MAX_DELIVERIES = 100

export interface WebhooksOptions {
  /** The first retry's wait, ms; each further one doubles. Default 400. */
  baseDelayMs?: number
  /** An attempt unanswered after this long failed, ms. Default 2000. */
  timeoutMs?: number
}

/**
 * Reelbox's side of the webhooks demo: the deliveries it keeps (at most 100), each delivered in
 * the background after the route answered, with every attempt told to the watchers (the slide's
 * event stream). Shutdown (registered here) stops waits and requests in flight and waits for them.
 */
export class Outbox {
  readonly deliveries = new Map<string, Delivery>()
  /** Told of every attempt as it starts and ends (`GET /webhooks/events`). */
  readonly watchers = new Set<(event: string, data: object) => void>()
  private readonly stop = new AbortController()
  private readonly running = new Set<Promise<void>>()

  constructor(private readonly ctx: DemoContext, private readonly secret: Buffer, private readonly options: WebhooksOptions = {}) {
    ctx.lifecycle.onShutdown(async () => {
      this.stop.abort() // waits and requests in flight end now
      await Promise.allSettled(this.running)
      this.deliveries.clear()
    })
  }

  /** A new "video ready" webhook, kept with at most MAX_DELIVERIES others (429 when all are in flight). */
  create(): Delivery {
    if (this.deliveries.size >= MAX_DELIVERIES) {
      const done = [...this.deliveries.values()].find(d => d.state !== 'delivering')
      if (!done)
        throw new HttpError(429, `${MAX_DELIVERIES} deliveries are in flight; try again later`)
      this.deliveries.delete(done.id)
    }
    const id = `msg_${randomBytes(9).toString('base64url')}`
    const videoId = `v_${randomBytes(4).toString('hex')}`
    const body = JSON.stringify({ type: 'video.ready', timestamp: new Date().toISOString(), data: { videoId } })
    const d: Delivery = { id, body, state: 'delivering', attempts: [] }
    this.deliveries.set(id, d)
    return d
  }

  /** The same webhook (same id, same body) sent again, as a "resend" button or a lost answer would (404, 409 while in flight). */
  again(id: string): Delivery {
    const d = this.deliveries.get(id)
    if (!d)
      throw new HttpError(404, `no delivery ${id} to send again`)
    if (d.state === 'delivering')
      throw new HttpError(409, `delivery ${id} is still being delivered`)
    d.state = 'delivering'
    return d
  }

  /** Delivers `d` to `url` after the answer has gone; shutdown waits for it (and stops its waits and requests). 503 once shutting down. */
  inBackground(d: Delivery, url: string): void {
    if (this.ctx.lifecycle.closing)
      throw new HttpError(503, 'demo server is shutting down')
    const run = deliver(d, this.target(url)).catch((err: unknown) => {
      if (!this.stop.signal.aborted)
        console.error('[demos] webhook delivery failed:', err)
      d.state = 'stopped'
    })
    this.running.add(run)
    void run.finally(() => this.running.delete(run))
  }

  private target(url: string): Target {
    return {
      url,
      secret: this.secret,
      baseDelayMs: this.options.baseDelayMs ?? 400,
      timeoutMs: this.options.timeoutMs ?? 2000,
      signal: this.stop.signal,
      onEvent: (event, data) => this.watchers.forEach(w => w(event, data)),
    }
  }
}
