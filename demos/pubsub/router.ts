import type { ChannelModel } from 'amqplib'
import type { DemoContext } from '../app.ts'
import { Router } from 'express'
import { HttpError } from '../http.ts'
import type { EventStream } from '../push/bridge.ts'
import { openEventStream, preciseNow } from '../push/bridge.ts'
import { bindingKeyOf, declareExchanges, EXCHANGES, exchangeOf, messageOf, publishMessage, routingKeyOf } from './publisher.ts'
import { Subscriber } from './subscriber.ts'

/** The live subscribers of each demo server (the broker view reads them when it has no management API). */
export const subscribersOf = new WeakMap<DemoContext, Set<Subscriber>>()

/** Publish/subscribe through RabbitMQ, bridged to the browser over Server-Sent Events. */
export function pubsubRouter(ctx: DemoContext): Router {
  const router = Router()
  const subscribers = new Set<Subscriber>()
  subscribersOf.set(ctx, subscribers)
  let declared: Promise<void> | undefined
  ctx.broker.onUp((model) => {
    declared = declareExchanges(model)
    return declared
  })

  // #region publish-route
  /** POST /pubsub/publish — {message, routingKey?, exchange?}; 202 once RabbitMQ confirmed it. */
  router.post('/publish', async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>
    const type = exchangeOf(body.exchange)
    const routingKey = routingKeyOf(body.routingKey)
    const message = messageOf(body.message)
    ctx.broker.require() // 503 at once while the broker is down
    await declared
    const { messageId, routed, confirmMs, publishedAt } = await publishMessage(ctx.broker, type, routingKey, message)
    res.status(202).json({ status: 'confirmed', id: messageId, exchange: EXCHANGES[type], routingKey, routed, confirmMs, publishedAt })
  })
  // #endregion publish-route

  /** GET /pubsub/subscribe?bindingKey=video.*&exchange=topic — a new subscriber, as an event stream. */
  router.get('/subscribe', async (req, res) => {
    const type = exchangeOf(req.query.exchange)
    const bindingKey = bindingKeyOf(req.query.bindingKey, type)
    let seq = 0
    // Messages may arrive before the stream is open (between consume-ok and the 200): they wait.
    let open!: (s: EventStream) => void
    const ready = new Promise<EventStream>(resolve => (open = resolve))
    const sub: Subscriber = new Subscriber(type, bindingKey, async (msg) => {
      const stream = await ready
      const publishedAt = Number(msg.properties.headers?.['x-published-at']) || undefined
      const consumedAt = preciseNow()
      return stream.send('message', {
        seq: ++seq,
        id: msg.properties.messageId,
        message: msg.content.toString(),
        routingKey: msg.fields.routingKey,
        redelivered: msg.fields.redelivered,
        queue: sub.queue,
        publishedAt,
        consumedAt,
        sentAt: preciseNow(),
      }, String(seq))
    }, async () => {
      const stream = await ready
      void stream.send('cancelled', { reason: 'the broker cancelled this subscriber (its queue was deleted)' }).then(stream.end)
    })
    // Registered first: a client that leaves while the queue is being declared leaves nothing behind.
    let gone = false
    const onUp = (model: ChannelModel) => {
      // Broker restarted: the exclusive queue died with the old connection. Declare a new one and
      // keep the stream; messages published while the broker was down were refused (503).
      sub.attach(model).then(queue => ready.then(s => s.send('subscribed', { queue, exchange: EXCHANGES[type], bindingKey, reconnected: true })), () => {})
    }
    const onDown = () => void ready.then(s => s.send('broker', { state: 'down' }))
    res.once('close', () => {
      gone = true
      ctx.broker.off('up', onUp)
      ctx.broker.off('down', onDown)
      subscribers.delete(sub)
      void sub.close()
    })
    try {
      await sub.attach(ctx.broker.require()) // queue bound before the 200: nothing published after it is missed
    }
    catch (err) {
      await sub.close()
      if (gone) // we closed its channel ourselves: nobody is waiting for an answer
        return
      throw err instanceof HttpError ? err : new HttpError(503, `RabbitMQ refused the subscription: ${(err as Error).message}`)
    }
    if (gone)
      return
    const stream = openEventStream(ctx, res)
    open(stream)
    subscribers.add(sub)
    ctx.broker.on('up', onUp)
    ctx.broker.on('down', onDown)
    void stream.send('subscribed', { queue: sub.queue, exchange: EXCHANGES[type], bindingKey })
  })

  /** GET /pubsub/subscribers — who is subscribed right now (queue, exchange, binding key). */
  router.get('/subscribers', (_req, res) => {
    res.json([...subscribers].map(s => ({ queue: s.queue, exchange: EXCHANGES[s.type], bindingKey: s.bindingKey })))
  })

  ctx.lifecycle.onShutdown(async () => {
    await Promise.all([...subscribers].map(s => s.close()))
    subscribers.clear()
  })
  return router
}
