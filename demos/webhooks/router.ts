import type { Request } from 'express'
import type { DemoContext } from '../platform/context.ts'
import type { RawBodyRequest } from '../platform/http.ts'
import type { Delivery, Target } from './sender.ts'
import { randomBytes } from 'node:crypto'
import { Router } from 'express'
import { openSseSession } from '../platform/sse-session.ts'
import { HttpError } from '../platform/http.ts'
import { Partner } from './partner.ts'
import { deliver, MAX_ATTEMPTS } from './sender.ts'
import { newSecret, verify } from './signature.ts'

/** The partner's answer while it is "down". */
const DOWN = { error: 'partner is down (the demo said so): try again later' }

/** Deliveries kept at once; the oldest finished ones are forgotten first. */
const MAX_DELIVERIES = 100

export interface WebhooksOptions {
  /** The first retry's wait, ms; each further one doubles. Default 400. */
  baseDelayMs?: number
  /** An attempt unanswered after this long failed, ms. Default 2000. */
  timeoutMs?: number
}

/**
 * Webhooks: Reelbox tells another server (a partner's CMS) that a video is ready, with a signed
 * POST to a URL the partner registered; it retries with backoff until a 2xx, and the partner
 * dedupes by the webhook's id. Both sides live on this server, talking real HTTP over loopback.
 */
export function webhooksRouter(ctx: DemoContext, options: WebhooksOptions = {}): Router {
  const router = Router()
  const secret = newSecret() // what the partner got when it registered its URL
  const partner = new Partner()
  const deliveries = new Map<string, Delivery>()
  const watchers = new Set<(event: string, data: object) => void>()
  const stop = new AbortController()
  const running = new Set<Promise<void>>()
  ctx.lifecycle.onShutdown(async () => {
    stop.abort() // waits and requests in flight end now
    await Promise.allSettled(running)
    deliveries.clear()
    partner.clear()
  })
  const target = (req: Request): Target => ({
    url: `${ownUrl(ctx, req)}/webhooks/partner`,
    secret,
    baseDelayMs: options.baseDelayMs ?? 400,
    timeoutMs: options.timeoutMs ?? 2000,
    signal: stop.signal,
    onEvent: (event, data) => watchers.forEach(w => w(event, data)),
  })

  // #region deliveries
  /** POST /webhooks/deliveries {failFirst, redeliver} — Reelbox sends a "video ready" webhook (or sends one again). */
  router.post('/deliveries', (req, res) => {
    const { failFirst, redeliver } = deliveryInput(req.body)
    const d = redeliver === undefined ? newDelivery(deliveries) : again(deliveries, redeliver)
    partner.goDownFor(d.id, failFirst) // the demo's outage
    inBackground(d, target(req)) // retries after we answer
    res.status(202).location(`/webhooks/deliveries/${d.id}`).json({ id: d.id, state: d.state })
  })
  // #endregion deliveries

  /** GET /webhooks/deliveries/:id — one webhook and every attempt to deliver it. */
  router.get('/deliveries/:id', (req, res) => {
    const d = deliveries.get(req.params.id)
    if (!d)
      throw new HttpError(404, `no delivery ${req.params.id}`)
    res.set('Cache-Control', 'no-store').json(d)
  })

  // #region receive
  /** POST /webhooks/partner — the partner's endpoint. */
  router.post('/partner', (req, res) => {
    if (partner.isDown(req)) // the demo's outage
      return res.status(503).json(DOWN)
    const id = verified(req, secret) // or 400/401
    if (partner.seen.has(id)) { // a retry: done already
      partner.ignore()
      return res.json({ duplicate: true })
    }
    partner.process(id, req.body) // publish the video
    res.json({ duplicate: false })
  })
  // #endregion receive

  /** GET /webhooks/partner — what the partner processed, and how many it ignored or refused. */
  router.get('/partner', (_req, res) => {
    res.set('Cache-Control', 'no-store').json({
      processed: [...partner.seen.values()],
      duplicates: partner.duplicates,
      rejected: partner.rejected,
    })
  })

  /** GET /webhooks/events — text/event-stream of every attempt as it starts and ends (the slide draws them). */
  router.get('/events', (_req, res) => {
    const watch = (event: string, data: object) => void stream.send(event, data)
    const stream = openSseSession(ctx, res, () => watchers.delete(watch))
    watchers.add(watch)
  })

  /** Delivers `d` after the answer has gone; shutdown waits for it (and stops its waits and requests). 503 once shutting down. */
  function inBackground(d: Delivery, to: Target): void {
    if (ctx.lifecycle.closing)
      throw new HttpError(503, 'demo server is shutting down')
    const run = deliver(d, to).catch((err: unknown) => {
      if (!stop.signal.aborted)
        console.error('[demos] webhook delivery failed:', err)
      d.state = 'stopped'
    })
    running.add(run)
    void run.finally(() => running.delete(run))
  }

  /** Counts what verification refused, then lets the error handler answer it (400/401 JSON). */
  function verified(req: Request, key: Buffer): string {
    try {
      return verify(key, req.headers, (req as RawBodyRequest).rawBody)
    }
    catch (err) {
      partner.rejected++
      throw err
    }
  }

  return router
}

/** `{failFirst?: 0..5, redeliver?: id}`, or a 400. */
function deliveryInput(body: unknown): { failFirst: number, redeliver?: string } {
  if (body !== undefined && (typeof body !== 'object' || body === null || Array.isArray(body)))
    throw new HttpError(400, 'expected a JSON object: {"failFirst": 0-5, "redeliver": "<id>"}')
  const { failFirst = 0, redeliver } = (body ?? {}) as { failFirst?: unknown, redeliver?: unknown }
  if (!Number.isInteger(failFirst) || (failFirst as number) < 0 || (failFirst as number) > MAX_ATTEMPTS)
    throw new HttpError(400, `failFirst must be an integer from 0 to ${MAX_ATTEMPTS}`)
  if (redeliver !== undefined && (typeof redeliver !== 'string' || !redeliver))
    throw new HttpError(400, 'redeliver must be the id of an earlier delivery')
  return { failFirst: failFirst as number, redeliver: redeliver as string | undefined }
}

/** A new "video ready" webhook, kept with at most MAX_DELIVERIES others (429 when all are in flight). */
function newDelivery(deliveries: Map<string, Delivery>): Delivery {
  if (deliveries.size >= MAX_DELIVERIES) {
    const done = [...deliveries.values()].find(d => d.state !== 'delivering')
    if (!done)
      throw new HttpError(429, `${MAX_DELIVERIES} deliveries are in flight; try again later`)
    deliveries.delete(done.id)
  }
  const id = `msg_${randomBytes(9).toString('base64url')}`
  const videoId = `v_${randomBytes(4).toString('hex')}`
  const body = JSON.stringify({ type: 'video.ready', timestamp: new Date().toISOString(), data: { videoId } })
  const d: Delivery = { id, body, state: 'delivering', attempts: [] }
  deliveries.set(id, d)
  return d
}

/** The same webhook (same id, same body) sent again, as a "resend" button or a lost answer would. */
function again(deliveries: Map<string, Delivery>, id: string): Delivery {
  const d = deliveries.get(id)
  if (!d)
    throw new HttpError(404, `no delivery ${id} to send again`)
  if (d.state === 'delivering')
    throw new HttpError(409, `delivery ${id} is still being delivered`)
  d.state = 'delivering'
  return d
}

/** This server's own base URL (the partner's endpoint lives here too): its host, and the port the request reached. */
function ownUrl(ctx: DemoContext, req: Request): string {
  const bound = ctx.config.host
  const host = bound === '0.0.0.0' ? '127.0.0.1' : bound === '::' ? '::1' : bound
  return `http://${host.includes(':') ? `[${host.replace(/^\[|\]$/g, '')}]` : host}:${req.socket.localPort}`
}
