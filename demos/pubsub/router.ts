import type { DemoContext } from '../platform/context.ts'
import type { SseSession } from '../platform/sse-session.ts'
import { Router } from 'express'
import { epochMs } from '../../wire/clock.ts'
import { HttpError } from '../platform/http.ts'
import { openSseSession } from '../platform/sse-session.ts'
import type { ExchangeType } from './publisher.ts'
import { bindingKeyOf, declareExchanges, exchangeOf, EXCHANGES, publishMessage, publishRequestOf } from './publisher.ts'
import { pubsubSubscribers, Subscriber } from './subscriber.ts'
import type { PublishAnswer, SubscriberEvents, SubscriberMessage } from '../../wire/pubsub.ts'

/** Publish/subscribe through RabbitMQ, bridged to the browser over Server-Sent Events. */
export function pubsubRouter(ctx: DemoContext): Router {
  const router = Router()
  const subscribers = pubsubSubscribers(ctx)
  let declared: Promise<void> | undefined
  // One listener for every subscriber: after a broker restart each one gets a new queue.
  ctx.broker.onUp(async (model) => {
    declared = declareExchanges(model)
    await declared
    await Promise.all([...subscribers].map(s => s.reattach(model)))
  })
  ctx.broker.on('down', () => {
    subscribers.forEach(s => s.brokerDown())
    parked.clear() // their exclusive queues died with the connection
  })
  /** Queues of subscribers whose client left, kept `pubsubResumeMs` for one that comes back. */
  const parked = new Map<string, { type: ExchangeType, bindingKey: string, until: number }>()

  /**
   * The parked queue a reconnecting client names in `Last-Event-ID` (`<message id>@<queue>`, as
   * every message frame's `id:` says), if it is still there and bound the same way; else undefined.
   */
  function resumable(lastEventId: string | undefined, type: ExchangeType, bindingKey: string): string | undefined {
    const queue = lastEventId?.slice(lastEventId.lastIndexOf('@') + 1)
    const p = queue ? parked.get(queue) : undefined
    if (!queue || !p || p.type !== type || p.bindingKey !== bindingKey || p.until < Date.now())
      return undefined
    parked.delete(queue)
    return queue
  }

  // #region publish-route
  /** POST /pubsub/publish — {message, routingKey?, exchange?}; 202 once RabbitMQ confirmed it. */
  router.post('/publish', async (req, res) => {
    const { type, routingKey, message } = publishRequestOf(req.body) // 400 or 413 if invalid
    ctx.broker.require() // 503 at once while the broker is down
    await declared
    const { messageId: id, ...confirmed } = await publishMessage(ctx.broker, type, routingKey, message)
    const exchange = EXCHANGES[type]
    res.status(202).json({ status: 'confirmed', id, exchange, routingKey, ...confirmed } satisfies PublishAnswer)
  })
  // #endregion publish-route

  /** GET /pubsub/subscribe?bindingKey=video.*&exchange=topic — a new subscriber, as an event stream. */
  router.get('/subscribe', async (req, res) => {
    const type = exchangeOf(req.query.exchange)
    const bindingKey = bindingKeyOf(req.query.bindingKey, type)
    const max = ctx.config.pubsubMaxSubscribers // each one holds a queue and a channel: refuse before they run out
    if (subscribers.size >= max)
      throw new HttpError(429, `too many subscribers (limit ${max}); try again when one leaves`, { 'Retry-After': '5' })
    const resumed = resumable(req.get('Last-Event-ID'), type, bindingKey)
    let seq = 0
    // Messages may arrive before the stream is open (between consume-ok and the 200): they wait.
    let open!: (s: SseSession) => void
    const ready = new Promise<SseSession>(resolve => (open = resolve))
    const sub: Subscriber = new Subscriber(type, bindingKey, {
      async deliver(msg) {
        const stream = await ready
        const publishedAt = Number(msg.properties.headers?.['x-published-at']) || undefined
        const consumedAt = epochMs()
        return stream.send('message', {
          seq: ++seq,
          id: String(msg.properties.messageId),
          message: msg.content.toString(),
          routingKey: msg.fields.routingKey,
          redelivered: msg.fields.redelivered,
          queue: sub.queue,
          publishedAt,
          consumedAt,
          sentAt: epochMs(),
        } satisfies SubscriberMessage, `${msg.properties.messageId}@${sub.queue}`)
      },
      tell: (event, data) => void ready.then(async (stream) => {
        await stream.send(event, data)
        if (event === 'cancelled')
          stream.end()
      }),
    }, ctx.config.pubsubResumeMs, resumed)
    // Registered first: a client that leaves while the queue is being declared leaves nothing behind.
    let gone = false
    res.once('close', () => {
      gone = true
      if (!subscribers.delete(sub))
        return void sub.close() // never subscribed: nothing to come back to
      void sub.park() // its queue waits pubsubResumeMs for a reconnect with Last-Event-ID
      const now = Date.now()
      for (const [queue, p] of parked) {
        if (p.until < now)
          parked.delete(queue) // the broker has deleted it (x-expires)
      }
      parked.set(sub.queue!, { type, bindingKey, until: now + ctx.config.pubsubResumeMs })
    })
    try { // the queue is bound before the 200: nothing published after it is missed
      await ctx.broker.within(sub.attach(ctx.broker.require()), 'declaring the subscriber\'s queue')
    }
    catch (err) {
      void sub.close() // not awaited: a frozen broker answers later, and then the queue goes
      if (gone) // we closed its channel ourselves: nobody is waiting for an answer
        return
      throw err instanceof HttpError ? err : new HttpError(503, `RabbitMQ refused the subscription: ${(err as Error).message}`, { 'Retry-After': '2' })
    }
    if (gone || req.socket.destroyed) { // left before we could even see it leave (its 'close' came first)
      await sub.close()
      return
    }
    const stream = openSseSession(ctx, res)
    open(stream)
    subscribers.add(sub)
    void stream.send('subscribed', { queue: sub.queue!, exchange: EXCHANGES[type], bindingKey, ...(resumed === sub.queue ? { resumed: true } : {}) } satisfies SubscriberEvents['subscribed'])
  })

  /** GET /pubsub/subscribers — who is subscribed right now (queue, exchange, binding key). */
  router.get('/subscribers', (_req, res) => {
    res.json([...subscribers].map(s => ({ queue: s.queue, exchange: EXCHANGES[s.type], bindingKey: s.bindingKey })))
  })

  return router
}
