import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib'
import { EXCHANGES, type ExchangeType } from './publisher.ts'

/** How many unacknowledged messages the broker may push to one subscriber before it waits. */
export const SUBSCRIBER_PREFETCH = 100

/**
 * One subscriber: its own queue, bound to an exchange with a binding key, and a consumer.
 * `attach` runs again after a broker reconnect (the old queue died with the old connection).
 */
export class Subscriber {
  queue?: string
  private channel?: Channel
  private closed = false

  constructor(
    readonly type: ExchangeType,
    readonly bindingKey: string,
    /** Called per message; resolve when it was passed on: the message is acked then. */
    private readonly deliver: (msg: ConsumeMessage) => Promise<void>,
    /** The broker cancelled the consumer (queue deleted from the management UI...). */
    private readonly cancelled: () => void,
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
        return this.closed ? undefined : this.cancelled()
      void this.deliver(msg).then(() => this.ack(ch, msg))
    }, { noAck: false })
    // #endregion consume
    if (this.closed) // the client left while we were declaring
      await this.close()
    return queue
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
