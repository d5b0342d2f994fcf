import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib'
import type { DemoContext } from '../platform/context.ts'
import { chapterState } from '../platform/context.ts'
import { EXCHANGES, type ExchangeType } from './publisher.ts'

/** How many unacknowledged messages the broker may push to one subscriber before it waits. */
export const SUBSCRIBER_PREFETCH = 100
/**
 * Longest a delivered message waits for its ack, ms: the acks of what was passed on meanwhile go as
 * one (`ack(msg, allUpTo)`), at the latest after this or once half the prefetch waits. At 100
 * messages a second per subscriber that is a tenth of the ack frames the broker reads and the
 * demo server writes: fanout to 100 subscribers spends most of its CPU per delivery in the broker.
 */
export const ACK_EVERY_MS = 50

/** Where a subscriber's news goes: its client (an event stream in the demo server). */
export interface SubscriberClient {
  /** Called per message; resolves `true` once it was passed on (the message is acked then), `false` if it could not be (it is not acked: the broker gives it to the next consumer of the queue). */
  deliver: (msg: ConsumeMessage) => Promise<boolean>
  /**
   * Everything else the client should hear: `subscribed` again after a broker restart (on a new
   * queue), `broker` down, `cancelled` when the broker cancelled the consumer (queue deleted).
   */
  tell: (event: 'subscribed' | 'broker' | 'cancelled', data: object) => void
}

/**
 * One subscriber: its own queue, bound to an exchange with a binding key, and a consumer.
 * After a broker restart `reattach` declares a new queue (the old one died with the old connection).
 * When its client leaves, `park` keeps the queue for `graceMs` (x-expires): messages published
 * meanwhile wait in it for a client that comes back with `Last-Event-ID` (see `ParkedQueues` in bridge.ts).
 */
export class Subscriber {
  queue?: string
  private channel?: Channel
  private closed = false
  /** The last message passed on and not acked yet (acking it acks every one before it), its channel, and how many wait. */
  private unacked?: { ch: Channel, msg: ConsumeMessage, count: number }
  private ackTimer?: NodeJS.Timeout

  constructor(
    readonly type: ExchangeType,
    readonly bindingKey: string,
    private readonly client: SubscriberClient,
    /** How long the queue outlives its consumer, ms (the broker deletes it then: x-expires). */
    private readonly graceMs: number,
    /** A parked queue to consume from again (a client back with Last-Event-ID); default a new one. */
    private resume?: string,
  ) {}

  /** Declares the subscriber's queue, binds it and starts consuming. Returns the queue name. */
  async attach(model: ChannelModel): Promise<string> {
    let ch = await this.open(model)
    // Back within the grace period? Its queue, if the broker still has it (a passive declare).
    let queue = this.resume && await ch.checkQueue(this.resume).then(q => q.queue, () => undefined)
    if (this.resume && !queue)
      ch = await this.open(model) // expired meanwhile: the failed check closed the channel
    this.resume = undefined
    const exchange = EXCHANGES[this.type]
    // #region declare
    await ch.assertExchange(exchange, this.type, { durable: true })
    // exclusive: only this connection may use it, and it goes with the connection;
    // x-expires: deleted once unused for graceMs (a client that reconnects finds it meanwhile)
    const options = { exclusive: true, durable: false, arguments: { 'x-expires': this.graceMs } }
    queue ||= (await ch.assertQueue('', options)).queue // '': the server names it amq.gen-…
    this.queue = queue
    await ch.bindQueue(queue, exchange, this.bindingKey)
    // #endregion declare
    // #region consume
    // Manual ack after the event reached the socket + prefetch: a slow browser slows the
    // broker's push down instead of filling the demo server's memory.
    await ch.prefetch(SUBSCRIBER_PREFETCH)
    await ch.consume(queue, (msg) => {
      if (!msg) // the broker cancelled the consumer: its queue was deleted
        return this.cancelledByBroker()
      void this.client.deliver(msg).then(passedOn => passedOn && this.ack(ch, msg))
    }, { noAck: false })
    // #endregion consume
    if (this.closed) // the client left while we were declaring
      await this.close()
    return queue
  }

  /** The broker cancelled our consumer (its queue was deleted): the client hears it, unless it left already. */
  private cancelledByBroker(): void {
    if (!this.closed)
      this.client.tell('cancelled', { reason: 'the broker cancelled this subscriber (its queue was deleted)' })
  }

  private async open(model: ChannelModel): Promise<Channel> {
    const ch = await model.createChannel()
    ch.on('error', () => {}) // a failed call rejects; a dead channel is replaced on the next 'up'
    this.channel = ch
    return ch
  }

  /** The broker is back: a new queue and consumer for the same binding; the client hears the new queue. */
  async reattach(model: ChannelModel): Promise<void> {
    this.resume = undefined // the old queue died with the old connection
    const queue = await this.attach(model).catch(() => undefined) // failed: the next 'up' tries again
    if (queue && !this.closed)
      this.client.tell('subscribed', { queue, exchange: EXCHANGES[this.type], bindingKey: this.bindingKey, reconnected: true })
  }

  /** The broker went away; messages published meanwhile are refused (503), not lost. */
  brokerDown(): void {
    this.client.tell('broker', { state: 'down' })
  }

  /**
   * Acks `msg` and every message before it on `ch` (they were passed on in order, and a client
   * once gone takes none after), within ACK_EVERY_MS or at once when half the prefetch waits.
   */
  private ack(ch: Channel, msg: ConsumeMessage): void {
    const count = this.unacked?.ch === ch ? this.unacked.count + 1 : 1
    if (this.unacked && this.unacked.ch !== ch)
      this.flushAcks() // a new channel (after a reconnect): the old one's acks first
    this.unacked = { ch, msg, count }
    if (count >= SUBSCRIBER_PREFETCH / 2 || this.closed) // closed: passed on as its client left, no timer to leave behind
      this.flushAcks()
    else
      this.ackTimer ??= setTimeout(() => this.flushAcks(), ACK_EVERY_MS)
  }

  /** Sends the pending acks now (one frame: `allUpTo`). */
  private flushAcks(): void {
    clearTimeout(this.ackTimer)
    this.ackTimer = undefined
    const pending = this.unacked
    this.unacked = undefined
    try {
      pending?.ch.ack(pending.msg, true)
    }
    catch {} // channel already closed: the queue is gone with it
  }

  /**
   * The client left: closes the channel (its consumer goes, unacked messages go back to the queue)
   * and keeps the queue for `graceMs`, for a client that reconnects.
   */
  async park(): Promise<void> {
    this.closed = true
    this.flushAcks() // what was passed on stays acked: a client that comes back gets only the rest
    const ch = this.channel
    this.channel = undefined
    await ch?.close().catch(() => {})
  }

  /** Deletes the queue (which cancels the consumer) and closes the channel. */
  async close(): Promise<void> {
    this.closed = true
    this.flushAcks()
    const ch = this.channel
    this.channel = undefined
    if (!ch)
      return
    if (this.queue)
      await ch.deleteQueue(this.queue).catch(() => {})
    await ch.close().catch(() => {})
  }
}

/**
 * This server's open pub/sub subscribers, created on first use with the shutdown that closes them.
 * The pub/sub router adds and removes them; the broker view (demos/broker-view/) lists their
 * queues: it imports this accessor, pub/sub never imports the broker view.
 */
export function pubsubSubscribers(ctx: DemoContext): Set<Subscriber> {
  return chapterState(ctx, 'pubsub.subscribers', () => {
    const subscribers = new Set<Subscriber>()
    ctx.lifecycle.onShutdown(async () => {
      await Promise.all([...subscribers].map(s => s.close()))
      subscribers.clear()
    })
    return subscribers
  })
}
