import type { DemoContext } from '../platform/context.ts'
import type { AudienceHub } from './hub.ts'
import { HttpError } from '../platform/http.ts'

/** The fanout exchange the presenter publishes the room's news to. */
export const AUDIENCE_EXCHANGE = 'wire.audience'

/**
 * Audience mode through RabbitMQ: a fanout exchange, and this server's own exclusive queue bound
 * to it, whose consumer hands every message to the hub (which pushes it to every phone, `via:
 * 'rabbitmq'`). Declared again after every reconnect. Publishing goes through `publishToRoom`,
 * with publisher confirms. In production each server instance would have its own queue on the
 * same exchange, so every instance reaches its own phones: the fanout lesson, at room scale.
 */
export function bridgeAudience(ctx: DemoContext, hub: AudienceHub): void {
  const stop = ctx.broker.onUp(async (model) => {
    hub.viaBroker = false
    const ch = await model.createChannel()
    ch.on('error', () => {}) // closed with the connection; declared again on the next 'up'
    ch.on('close', () => (hub.viaBroker = false))
    await ch.assertExchange(AUDIENCE_EXCHANGE, 'fanout', { durable: false })
    const { queue } = await ch.assertQueue('', { exclusive: true, autoDelete: true })
    await ch.bindQueue(queue, AUDIENCE_EXCHANGE, '')
    await ch.consume(queue, (msg) => {
      if (!msg)
        return
      try {
        const { text } = JSON.parse(msg.content.toString()) as { text: string }
        if (typeof text === 'string')
          hub.push(text, 'rabbitmq')
      }
      catch {} // not ours: dropped (acked below)
      ch.ack(msg)
    })
    hub.viaBroker = true
  })
  ctx.lifecycle.onShutdown(stop)
}

/** Publishes `text` to the room through RabbitMQ; resolves once the broker confirmed it (503 while it is down or the room's queue is not bound yet). */
export async function publishToRoom(ctx: DemoContext, hub: AudienceHub, text: string): Promise<void> {
  if (!hub.viaBroker)
    throw new HttpError(503, 'the room\'s queue on RabbitMQ is not bound yet (is the broker up?)', { 'Retry-After': '2' })
  await ctx.broker.publish(AUDIENCE_EXCHANGE, '', Buffer.from(JSON.stringify({ text })), { contentType: 'application/json' })
}
