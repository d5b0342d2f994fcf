import type { DemoContext } from '../platform/context.ts'
import { Router } from 'express'
import { HttpError } from '../platform/http.ts'
import { bindingKeyOf, exchangeOf, EXCHANGES, publishMessage, publishRequestOf } from './publisher.ts'
import { declareOnEveryUp, ParkedQueues, subscribeOverSse } from './bridge.ts'
import { pubsubSubscribers } from './subscriber.ts'
import type { PublishAnswer } from '../../wire/pubsub.ts'

/** Publish/subscribe through RabbitMQ, bridged to the browser over Server-Sent Events (bridge.ts). */
export function pubsubRouter(ctx: DemoContext): Router {
  const router = Router()
  const subscribers = pubsubSubscribers(ctx)
  const parked = new ParkedQueues(ctx.config.pubsubResumeMs)
  const declared = declareOnEveryUp(ctx, subscribers, parked)

  // #region publish-route
  /** POST /pubsub/publish — {message, routingKey?, exchange?}; 202 once RabbitMQ confirmed it. */
  router.post('/publish', async (req, res) => {
    const { type, routingKey, message } = publishRequestOf(req.body) // 400 or 413 if invalid
    ctx.broker.requirePublishing() // 503 at once while the broker is down or blocks publishing
    await declared(type) // as declared at the last (re)connect; 503 naming the conflict if RabbitMQ refused it
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
    const resumed = parked.resume(req.get('Last-Event-ID'), type, bindingKey)
    await subscribeOverSse(ctx, req, res, { type, bindingKey, resumed }, subscribers, parked)
  })

  /** GET /pubsub/subscribers — who is subscribed right now (queue, exchange, binding key). */
  router.get('/subscribers', (_req, res) => {
    res.json([...subscribers].map(s => ({ queue: s.queue, exchange: EXCHANGES[s.type], bindingKey: s.bindingKey })))
  })

  return router
}
