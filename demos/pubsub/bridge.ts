import type { Request, Response } from 'express'
import type { DemoContext } from '../platform/context.ts'
import type { SseSession } from '../platform/sse-session.ts'
import { epochMs } from '../../wire/clock.ts'
import { HttpError } from '../platform/http.ts'
import { openSseSession } from '../platform/sse-session.ts'
import type { ExchangeType } from './publisher.ts'
import { declareExchanges, EXCHANGES, exchangeRefused, redeclareExchange } from './publisher.ts'
import type { SubscriberClient } from './subscriber.ts'
import { Subscriber } from './subscriber.ts'
import type { SubscriberEvents, SubscriberMessage } from '../../wire/pubsub.ts'

/** The pub/sub router's machinery: the topology on every reconnect, parked queues, and the SSE bridge. */

/**
 * Queues of subscribers whose client left, kept `pubsubResumeMs` for one that comes back with
 * `Last-Event-ID` (`<message id>@<queue>`, as every message frame's `id:` says).
 */
export class ParkedQueues {
  private readonly parked = new Map<string, { type: ExchangeType, bindingKey: string, until: number }>()

  constructor(private readonly resumeMs: number) {}

  /** Keeps `queue` for a reconnect during `resumeMs`; forgets the ones the broker has deleted (x-expires). */
  park(queue: string, type: ExchangeType, bindingKey: string): void {
    const now = Date.now()
    for (const [q, p] of this.parked) {
      if (p.until < now)
        this.parked.delete(q)
    }
    this.parked.set(queue, { type, bindingKey, until: now + this.resumeMs })
  }

  /** The parked queue `lastEventId` names, if it is still there and bound the same way (taken out); else undefined. */
  resume(lastEventId: string | undefined, type: ExchangeType, bindingKey: string): string | undefined {
    const queue = lastEventId?.slice(lastEventId.lastIndexOf('@') + 1)
    const p = queue ? this.parked.get(queue) : undefined
    if (!queue || !p || p.type !== type || p.bindingKey !== bindingKey || p.until < Date.now())
      return undefined
    this.parked.delete(queue)
    return queue
  }

  /** Forgets them all (their exclusive queues died with the connection). */
  clear(): void {
    this.parked.clear()
  }
}

/**
 * Declares the exchanges after every (re)connect, then re-attaches every subscriber (each gets a
 * new queue); on 'down' tells them and forgets the parked queues. One listener for all of them.
 * Returns what the publish route awaits: `(type)` resolves once that exchange is declared (undefined
 * when it is already); an exchange the broker refused at the last (re)connect is declared again (503
 * naming the conflict if it still is).
 */
export function declareOnEveryUp(ctx: DemoContext, subscribers: Set<Subscriber>, parked: ParkedQueues): (type: ExchangeType) => Promise<void> | undefined {
  /** The exchanges declared after the last (re)connect; resolves with those the broker refused. */
  let declared: Promise<Map<ExchangeType, string>> | undefined
  /** What `declared` resolved with, once it has: then a publish to an exchange it declared waits for nothing. */
  let refusals: Map<ExchangeType, string> | undefined
  ctx.broker.onUp(async (model) => {
    const current = declared = declareExchanges(model)
    refusals = undefined
    const refused = await current
    if (declared === current)
      refusals = refused
    for (const [type, reason] of refused)
      console.warn(`[demos] ${exchangeRefused(type, reason).message}`)
    // Subscribers to a refused exchange fail to re-attach on their own; the others carry on.
    await Promise.all([...subscribers].map(s => s.reattach(model)))
  })
  ctx.broker.on('down', () => {
    subscribers.forEach(s => s.brokerDown())
    parked.clear()
  })
  return (type) => {
    if (refusals && !refusals.has(type))
      return undefined // declared at the last (re)connect: no promise, no timer per publish
    return (async () => {
      const refused = declared && await ctx.broker.within(declared, 'declaring the exchanges')
      if (refused?.has(type)) { // refused at (re)connect: declared again, in case it was fixed meanwhile
        await redeclareExchange(ctx.broker, type)
        refused.delete(type)
      }
    })()
  }
}

/** Who is subscribing: the exchange, the binding key, and the parked queue it resumes (if any). */
export interface Subscription { type: ExchangeType, bindingKey: string, resumed: string | undefined }

/**
 * The SSE bridge: a new subscriber whose queue is bound before the 200 (nothing published after it
 * is missed), each message and event written to `res` as an event stream; when the client leaves,
 * its queue is parked for a reconnect. 503 when RabbitMQ refuses the queue.
 */
export async function subscribeOverSse(ctx: DemoContext, req: Request, res: Response, subscription: Subscription, subscribers: Set<Subscriber>, parked: ParkedQueues): Promise<void> {
  const { type, bindingKey, resumed } = subscription
  // Messages may arrive before the stream is open (between consume-ok and the 200): they wait.
  let open!: (s: SseSession) => void
  const ready = new Promise<SseSession>(resolve => (open = resolve))
  const sub: Subscriber = new Subscriber(type, bindingKey, bridgeTo(ready, () => sub.queue), ctx.config.pubsubResumeMs, resumed)
  // Registered first: a client that leaves while the queue is being declared leaves nothing behind.
  let gone = false
  res.once('close', () => {
    gone = true
    if (!subscribers.delete(sub))
      return void sub.close() // never subscribed: nothing to come back to
    void sub.park() // its queue waits pubsubResumeMs for a reconnect with Last-Event-ID
    parked.park(sub.queue!, type, bindingKey)
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
}

/** What a subscriber does with what it consumes: each message, then each event, down the stream once it is open. */
function bridgeTo(ready: Promise<SseSession>, queue: () => string | undefined): SubscriberClient {
  let seq = 0
  return {
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
        queue: queue(),
        publishedAt,
        consumedAt,
        sentAt: epochMs(),
      } satisfies SubscriberMessage, `${msg.properties.messageId}@${queue()}`)
    },
    tell: (event, data) => void ready.then(async (stream) => {
      await stream.send(event, data)
      if (event === 'cancelled')
        stream.end()
    }),
  }
}
