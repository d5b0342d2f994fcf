import type { Request } from 'express'
import type { DemoContext } from '../platform/context.ts'
import type { RawBodyRequest } from '../platform/http.ts'
import { Router } from 'express'
import { openSseSession } from '../platform/sse-session.ts'
import { HttpError } from '../platform/http.ts'
import { Partner } from './partner.ts'
import type { WebhooksOptions } from './outbox.ts'
import { Outbox } from './outbox.ts'
import { MAX_ATTEMPTS } from './sender.ts'
import { newSecret, verify } from './signature.ts'

/** The partner's answer while it is "down". */
const DOWN = { error: 'partner is down (the demo said so): try again later' }

/**
 * Webhooks: Reelbox tells another server (a partner's CMS) that a video is ready, with a signed
 * POST to a URL the partner registered; it retries with backoff until a 2xx, and the partner
 * dedupes by the webhook's id. Both sides live on this server, talking real HTTP over loopback.
 */
export function webhooksRouter(ctx: DemoContext, options: WebhooksOptions = {}): Router {
  const router = Router()
  const secret = newSecret() // what the partner got when it registered its URL
  const partner = new Partner()
  ctx.lifecycle.onShutdown(() => partner.clear()) // after the outbox's (newest first): nothing in flight by then
  const outbox = new Outbox(ctx, secret, options) // Reelbox's side: outbox.ts, sender.ts

  // #region deliveries
  /** POST /webhooks/deliveries {failFirst, redeliver} — Reelbox sends a "video ready" webhook (or sends one again). */
  router.post('/deliveries', (req, res) => {
    const { failFirst, redeliver } = deliveryInput(req.body)
    const d = redeliver === undefined ? outbox.create() : outbox.again(redeliver)
    partner.goDownFor(d.id, failFirst) // the demo's outage
    outbox.inBackground(d, `${ownUrl(ctx, req)}/webhooks/partner`) // retries after we answer
    res.status(202).location(`/webhooks/deliveries/${d.id}`).json({ id: d.id, state: d.state })
  })
  // #endregion deliveries

  /** GET /webhooks/deliveries/:id — one webhook and every attempt to deliver it. */
  router.get('/deliveries/:id', (req, res) => {
    const d = outbox.deliveries.get(req.params.id)
    if (!d)
      throw new HttpError(404, `no delivery ${req.params.id}`)
    res.set('Cache-Control', 'no-store').json(d)
  })

  // #region receive
  /** POST /webhooks/partner — the partner's endpoint. */
  router.post('/partner', (req, res) => {
    if (partner.isDown(req)) // the demo's outage
      return res.status(503).json(DOWN)
    const id = verified(req, secret, partner) // or 400/401
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
    const stream = openSseSession(ctx, res, () => outbox.watchers.delete(watch))
    outbox.watchers.add(watch)
  })

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

/** Counts what verification refused, then lets the error handler answer it (400/401 JSON). */
function verified(req: Request, key: Buffer, partner: Partner): string {
  try {
    return verify(key, req.headers, (req as RawBodyRequest).rawBody)
  }
  catch (err) {
    partner.rejected++
    throw err
  }
}

/** This server's own base URL (the partner's endpoint lives here too): its host, and the port the request reached. */
function ownUrl(ctx: DemoContext, req: Request): string {
  const bound = ctx.config.host
  const host = bound === '0.0.0.0' ? '127.0.0.1' : bound === '::' ? '::1' : bound
  return `http://${host.includes(':') ? `[${host.replace(/^\[|\]$/g, '')}]` : host}:${req.socket.localPort}`
}
