import type { Channel, ChannelModel } from 'amqplib'
import type { BrokerConnection, Confirmed } from '../platform/broker.ts'
import { HttpError } from '../platform/http.ts'
import { epochMs } from '../../wire/clock.ts'

/** The three exchanges of the pub/sub demos, one per exchange type, named after it. */
export const EXCHANGES = { fanout: 'wire.fanout', direct: 'wire.direct', topic: 'wire.topic' } as const
export type ExchangeType = keyof typeof EXCHANGES

/** Longest message the demos accept, bytes (a slide shows it; RabbitMQ itself takes far more). */
export const MAX_MESSAGE_BYTES = 4096
const WORD = '[A-Za-z0-9_-]+'
/** A routing key names a message: dot-separated words, e.g. `video.uploaded`. */
const ROUTING_KEY = new RegExp(`^(${WORD}(\\.${WORD})*)?$`)
/** A binding key selects messages: words, `*` (exactly one word) or `#` (zero or more words). */
const BINDING_KEY = new RegExp(`^(${WORD}|\\*|#)(\\.(${WORD}|\\*|#))*$`)

/** `exchange` from a query or body: fanout, direct or topic (default topic). */
export function exchangeOf(value: unknown): ExchangeType {
  if (value === undefined || value === '')
    return 'topic'
  if (typeof value === 'string' && Object.hasOwn(EXCHANGES, value))
    return value as ExchangeType
  throw new HttpError(400, `unknown exchange type ${JSON.stringify(value)}: use fanout, direct or topic`)
}

/** Checks a routing key (publish side): at most 255 bytes (AMQP shortstr), no wildcards. */
export function routingKeyOf(value: unknown): string {
  if (value === undefined)
    return ''
  if (typeof value !== 'string' || Buffer.byteLength(value) > 255 || !ROUTING_KEY.test(value))
    throw new HttpError(400, `invalid routing key ${JSON.stringify(value)}: dot-separated words of letters, digits, _ or - (e.g. video.uploaded), at most 255 bytes; wildcards belong in binding keys`)
  return value
}

/** Checks a binding key (subscribe side); default `#`, everything. Direct exchanges match exactly. */
export function bindingKeyOf(value: unknown, type: ExchangeType): string {
  if (value === undefined || value === '')
    return type === 'direct' ? '' : '#'
  if (typeof value !== 'string' || Buffer.byteLength(value) > 255 || !(type === 'direct' ? ROUTING_KEY : BINDING_KEY).test(value))
    throw new HttpError(400, `invalid binding key ${JSON.stringify(value)}: dot-separated words${type === 'direct' ? '' : ', * (one word) or # (any number of words)'}, at most 255 bytes`)
  return value
}

/** Checks the message text: a non-empty string of at most MAX_MESSAGE_BYTES (413 beyond). */
export function messageOf(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '')
    throw new HttpError(400, 'message must be a non-empty string')
  const bytes = Buffer.byteLength(value)
  if (bytes > MAX_MESSAGE_BYTES)
    throw new HttpError(413, `message is ${bytes} bytes; the limit is ${MAX_MESSAGE_BYTES}`)
  return value
}

/** The body of `POST /pubsub/publish`, checked: exchange type, routing key, message (400 / 413 otherwise). */
export function publishRequestOf(body: unknown): { type: ExchangeType, routingKey: string, message: string } {
  const b = (body ?? {}) as Record<string, unknown>
  return { type: exchangeOf(b.exchange), routingKey: routingKeyOf(b.routingKey), message: messageOf(b.message) }
}

/**
 * Declares the exchanges. Durable, so they outlive a broker restart; the demo server
 * declares them again after every reconnect anyway (declaring is idempotent).
 *
 * Each on its own: an exchange the broker refuses (one of that name exists with another type or
 * other arguments: 406 PRECONDITION_FAILED, which closes the channel, never the connection) costs
 * only the routes that use it. Never rejects: resolves with the refusals, by exchange type, as the
 * broker worded them (empty when all were declared).
 */
export async function declareExchanges(model: ChannelModel): Promise<Map<ExchangeType, string>> {
  const refused = new Map<ExchangeType, string>()
  let ch: Channel | undefined
  for (const [type, name] of Object.entries(EXCHANGES) as Array<[ExchangeType, string]>) {
    try {
      if (!ch) {
        ch = await model.createChannel()
        ch.on('error', () => {}) // a refusal closes this channel: reported by the rejected declare
      }
      await ch.assertExchange(name, type, { durable: true })
    }
    catch (err) {
      refused.set(type, (err as Error).message)
      ch = undefined // closed by the broker (or the connection went): the next one opens another
    }
  }
  await ch?.close().catch(() => {})
  return refused
}

/**
 * Declares the exchange of `type` again on a channel of its own (`broker.withChannel`): resolves if
 * the broker now has it as the demos need it; else a 503 (Retry-After: 2) naming the exchange and
 * the conflict, or withChannel's 503 while the broker is down or does not answer.
 */
export async function redeclareExchange(broker: BrokerConnection, type: ExchangeType): Promise<void> {
  let refusal: Error | undefined // the broker's own words (withChannel's 503 keeps only their gist)
  await broker.withChannel(ch => ch.assertExchange(EXCHANGES[type], type, { durable: true }).catch((err: Error) => {
    refusal = err
    throw err
  })).catch((err: unknown) => {
    throw refusal ? exchangeRefused(type, refusal.message) : err // down or silent: its own 503
  })
}

/** A 503 (Retry-After: 2) for an exchange the broker refused to declare, naming it and the conflict. */
export function exchangeRefused(type: ExchangeType, reason: string): HttpError {
  const why = /with message "(.*)"/.exec(reason)?.[1] ?? reason
  return new HttpError(503, `RabbitMQ refused the exchange ${EXCHANGES[type]} (${why}); an exchange of that name exists with other settings: delete it, and the demo server declares it as a durable ${type} exchange on the next request`, { 'Retry-After': '2' })
}

/**
 * Publishes one message and resolves once RabbitMQ confirmed it. Not persistent: the
 * subscribers' queues are exclusive and die with their connection anyway. The publish
 * time travels in a header so each subscriber can time the hops.
 */
// #region publish
export async function publishMessage(
  broker: BrokerConnection,
  type: ExchangeType,
  routingKey: string,
  message: string,
): Promise<Confirmed & { publishedAt: number }> {
  const publishedAt = epochMs()
  const confirmed = await broker.publish(EXCHANGES[type], routingKey, Buffer.from(message), {
    contentType: 'text/plain',
    persistent: false,
    headers: { 'x-published-at': publishedAt },
  })
  return { ...confirmed, publishedAt }
}
// #endregion publish
