import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib'
import { EXCHANGES, type ExchangeType } from './publisher.ts'

/** How many unacknowledged messages the broker may push to one subscriber before it waits. */
export const SUBSCRIBER_PREFETCH = 100

/** Where a subscriber's news goes: its client (an event stream in the demo server). */
export interface SubscriberClient {
  /** Called per message; resolve when it was passed on: the message is acked then. */
  deliver: (msg: ConsumeMessage) => Promise<void>
  /**
   * Everything else the client should hear: `subscribed` again after a broker restart (on a new
   * queue), `broker` down, `cancelled` when the broker cancelled the consumer (queue deleted).
   */
  tell: (event: 'subscribed' | 'broker' | 'cancelled', data: object) => void
}

/**
 * One subscriber: its own queue, bound to an exchange with a binding key, and a consumer.
 * After a broker restart `reattach` declares a new queue (the old one died with the old connection).
 */
export class Subscriber {
  queue?: string
  private channel?: Channel
  private closed = false

  constructor(
    readonly type: ExchangeType,
    readonly bindingKey: string,
    private readonly client: SubscriberClient,
  ) {}

  /** Declares the subscriber's queue, binds it and starts consuming. Returns the queue name. */
  async attach(model: ChannelModel): Promise<string> {
    const ch = await model.createChannel()
    ch.on('error', () => {}) // a dead channel is replaced on the next 'up'
    this.channel = ch
    const exchange = EXCHANGES[this.type]
    // #region declare
    await ch.assertExchange(exchange, this.type, { durable: true })
    // '' = server-named (amq.gen-...); exclusive = only this connection may use it, and the
    // broker deletes it when the connection goes; autoDelete = gone as soon as its consumer
    // is cancelled. A private mailbox that cannot outlive its subscriber.
    const { queue } = await ch.assertQueue('', { exclusive: true, autoDelete: true, durable: false })
    this.queue = queue
    await ch.bindQueue(queue, exchange, this.bindingKey)
    // #endregion declare
    // #region consume
    // Manual ack after the event reached the socket + prefetch: a slow browser slows the
    // broker's push down instead of filling the demo server's memory.
    await ch.prefetch(SUBSCRIBER_PREFETCH)
    await ch.consume(queue, (msg) => {
      if (!msg)
        return this.closed ? undefined : this.client.tell('cancelled', { reason: 'the broker cancelled this subscriber (its queue was deleted)' })
      void this.client.deliver(msg).then(() => this.ack(ch, msg))
    }, { noAck: false })
    // #endregion consume
    if (this.closed) // the client left while we were declaring
      await this.close()
    return queue
  }

  /** The broker is back: a new queue and consumer for the same binding; the client hears the new queue. */
  async reattach(model: ChannelModel): Promise<void> {
    const queue = await this.attach(model).catch(() => undefined) // failed: the next 'up' tries again
    if (queue && !this.closed)
      this.client.tell('subscribed', { queue, exchange: EXCHANGES[this.type], bindingKey: this.bindingKey, reconnected: true })
  }

  /** The broker went away; messages published meanwhile are refused (503), not lost. */
  brokerDown(): void {
    this.client.tell('broker', { state: 'down' })
  }

  private ack(ch: Channel, msg: ConsumeMessage): void {
    try {
      ch.ack(msg)
    }
    catch {} // channel already closed: the queue is gone with it
  }

  /** Deletes the queue (which cancels the consumer) and closes the channel. */
  async close(): Promise<void> {
    this.closed = true
    const ch = this.channel
    this.channel = undefined
    if (!ch)
      return
    if (this.queue)
      await ch.deleteQueue(this.queue).catch(() => {})
    await ch.close().catch(() => {})
  }
}
