import type { Channel, ChannelModel, ConfirmChannel, Options, RecoveringChannelModel } from 'amqplib'
import { EventEmitter } from 'node:events'
import { connect } from 'amqplib'
import { HttpError } from './http.ts'

export type BrokerState = 'idle' | 'connecting' | 'up' | 'down' | 'closed'

/** Options of {@link BrokerConnection}. */
export interface BrokerOptions {
  /** First reconnect delay, ms. Default 250. */
  initialDelayMs?: number
  /** Longest reconnect delay, ms. Default 2000, so a broker restarted mid-talk is back within seconds. */
  maxDelayMs?: number
  /**
   * How long any broker operation may take before the request gets a 503, ms: opening a channel,
   * a declare, a publish and its confirm. Default 5000. A frozen broker answers nothing at all.
   */
  operationTimeoutMs?: number
  /** AMQP heartbeat proposed to the broker, s: a silent broker is declared down after about two. Default 3. */
  heartbeatS?: number
}

/** What the broker said about one confirmed publish. */
export interface Confirmed {
  /** The message's id (AMQP message-id property), given by the caller or generated. */
  messageId: string
  /** False when no queue was bound for the routing key (the broker returned it): pub/sub without subscribers. */
  routed: boolean
  /** publish -> confirm, ms. */
  confirmMs: number
}

/** What `/health` and the slides call a blocked connection's cause. */
export const BLOCKED_CAUSE = 'memory or disk alarm'

/**
 * One AMQP connection for the whole demo server, recovered with backoff when the broker
 * goes away (amqplib's opt-in recovery), plus a second one that only publishes (`publish`).
 * Channels do not survive a reconnect: features listen for `up` and re-declare their topology
 * and consumers on the new connection.
 *
 * Events: `state` (BrokerState), `up` (ChannelModel), `down` (Error), `blocked` (string: the
 * broker's reason, e.g. "low on memory") and `unblocked` (RabbitMQ's connection.blocked /
 * connection.unblocked, sent while a memory or disk alarm stops it reading publishes).
 */
export class BrokerConnection extends EventEmitter {
  state: BrokerState = 'idle'
  private model?: RecoveringChannelModel
  private current?: ChannelModel
  /** The connection publishes go out on (its own: see `start`). */
  private publishing?: RecoveringChannelModel
  private publisher?: Promise<ConfirmChannel>
  /** One headers object per header layout, reused by every publish (see reusedHeaders). */
  private readonly headerObjects = new Map<string, Record<string, unknown>>()
  /** The publisher channel once it is open, until it closes: publishes use it without waiting. */
  private openPublisher?: ConfirmChannel
  private readonly returned = new Set<string>()
  private publishCount = 0
  /** Set while the publisher's socket buffer is full: publishes wait for it. */
  private draining?: Promise<void>
  /** Publishes waiting for their confirm: a connection.blocked fails them at once. */
  private readonly unconfirmed = new Set<PendingConfirm>()
  lastError?: string
  /**
   * Set while the broker blocks the publishing connection (AMQP connection.blocked, RabbitMQ's
   * memory or disk alarm): the broker's reason, e.g. "low on memory". It is still up, but the
   * broker reads nothing more from it until connection.unblocked: publishes are refused at once.
   * Consumers, acks and declares go on (they use the other connection).
   */
  blockedReason?: string

  constructor(readonly url: string, private readonly options: BrokerOptions = {}) {
    super()
  }

  /** Starts connecting in the background; never throws, the state says how it goes. */
  start(): void {
    if (this.state !== 'idle')
      return
    this.setState('connecting')
    /** A connection of its own under `name`, recovering by itself; undefined when `close()` came first. */
    const open = (name: string) => connect(withHeartbeat(this.url, this.options.heartbeatS ?? 3), {
      // Small frames (a publish, a confirm) leave at once instead of waiting on Nagle + delayed ACK.
      noDelay: true,
      timeout: this.options.operationTimeoutMs ?? 5000, // for the TCP connect and the AMQP handshake
      clientProperties: { connection_name: name }, // as the management UI lists it
      recovery: {
        waitForConnect: false,
        initialDelay: this.options.initialDelayMs ?? 250,
        maxDelay: this.options.maxDelayMs ?? 2000,
        maxRetries: Infinity,
      },
    }).then((model) => {
      if (this.state !== 'closed')
        return model
      void model.close().catch(() => {}) // closed while it was opening: nobody will use it
      return undefined
    })
    void open('wire-patterns demos').then((model) => {
      if (!model)
        return
      this.model = model
      model.on('connect', (m: ChannelModel) => {
        coalesceWrites(m)
        this.current = m
        this.lastError = undefined
        this.setState('up')
        this.emit('up', m)
      })
      model.on('disconnect', (err: Error) => this.markDown(err))
      model.on('connect-failed', (err: Error) => this.markDown(err))
      // Without an 'error' listener an EventEmitter error would crash the demo server.
      model.on('error', (err: Error) => {
        this.lastError = err.message
      })
    }, (err: Error) => this.markDown(err))
    // Publishes go out on a connection of their own, as RabbitMQ advises: under a memory or disk
    // alarm it blocks a connection that publishes (it stops reading from it altogether), and
    // TCP back-pressure slows one down; consumers' acks, declares and queue counts must not wait
    // behind either.
    void open('wire-patterns demos: publisher').then((model) => {
      if (!model)
        return
      this.publishing = model
      model.on('connect', (m: ChannelModel) => {
        coalesceWrites(m)
        this.unblock()
        void probeAlarm(m) // a broker already under an alarm says so now, not at the first demo's publish
      })
      // RabbitMQ sends connection.blocked when a connection publishes during a memory or disk
      // alarm, and stops reading from its socket: the publish in flight would wait for the
      // deadline, every later one forever. It is told at once instead (a 503 that says why).
      model.on('blocked', (reason: string) => {
        this.blockedReason = String(reason || 'blocked')
        console.warn(`[demos] RabbitMQ blocked the publishing connection (${BLOCKED_CAUSE}: ${this.blockedReason}); publishes get a 503 until it is unblocked`)
        // Sent but not confirmed: "unknown", as after a timeout (the broker may take it once unblocked).
        const err = this.blockedError('before confirming this message (it may still arrive once the alarm clears)')
        for (const pending of [...this.unconfirmed]) pending.settle(err)
        this.emit('blocked', this.blockedReason)
      })
      model.on('unblocked', () => this.unblock())
      // Its channel goes with it ('close' below resets it); a new connection is not blocked.
      model.on('disconnect', () => this.unblock())
      model.on('error', () => {}) // the main connection's state and lastError tell the story
    }, (err: Error) => console.error('[demos] could not set up the publishing connection:', err.message))
  }

  private unblock(): void {
    if (this.blockedReason === undefined)
      return
    this.blockedReason = undefined
    console.warn('[demos] RabbitMQ unblocked the publishing connection')
    this.emit('unblocked')
  }

  /** The live connection, or undefined while the broker is down. */
  get connection(): ChannelModel | undefined {
    return this.state === 'up' ? this.current : undefined
  }

  /**
   * Runs `setup` with the live connection now (if up) and after every reconnect: the place
   * to (re)declare topology, channels and consumers. Returns the function that stops it.
   */
  onUp(setup: (model: ChannelModel) => void | Promise<void>): () => void {
    const run = (model: ChannelModel) => {
      Promise.resolve().then(() => setup(model)).catch((err: Error) => {
        // A broker that went away mid-setup: the next 'up' runs it again.
        if (this.state === 'up')
          console.error('[demos] broker setup failed:', err.message)
      })
    }
    this.on('up', run)
    if (this.current && this.state === 'up')
      run(this.current)
    return () => this.off('up', run)
  }

  /** The live connection, or a 503 the client can read (never amqplib's wait-for-connection). */
  require(): ChannelModel {
    const model = this.connection
    if (!model)
      throw new HttpError(503, `RabbitMQ is not reachable (${shortReason(this.lastError) ?? this.state}); the demo server reconnects by itself, try again in a few seconds`, { 'Retry-After': '2' })
    return model
  }

  /**
   * The live connection if it may publish now: a 503 (Retry-After: 2) at once while the broker
   * is down ({@link require}) or blocks this connection ({@link blockedReason}).
   */
  requirePublishing(): ChannelModel {
    const model = this.require()
    if (this.blockedReason !== undefined)
      throw this.blockedError()
    return model
  }

  private blockedError(when = ''): HttpError {
    return new HttpError(503, `RabbitMQ blocked publishing (${BLOCKED_CAUSE}: ${this.blockedReason})${when ? ` ${when}` : ''}; it takes messages again once the alarm clears, try again in a few seconds`, { 'Retry-After': '2' })
  }

  /**
   * `err` as the client should see it: an HttpError as it is; anything else (amqplib's "Channel
   * ended", a refusal by the broker) a 503 with Retry-After: 2 that says `what` failed and why.
   */
  unavailable(err: unknown, what: string): HttpError {
    if (err instanceof HttpError)
      return err
    const message = (err as Error | undefined)?.message ?? String(err)
    return new HttpError(503, `${what}: ${shortReason(message)}; try again in a few seconds`, { 'Retry-After': '2' })
  }

  /**
   * `work`, or a 503 (Retry-After: 2) once `operationTimeoutMs` passed without an answer: a frozen
   * or overloaded broker never holds a request longer. If `work` completes after that, `late`
   * receives its result, to undo it (close a channel nobody will use): no late side effects.
   */
  within<T>(work: Promise<T>, what: string, late?: (value: T) => void): Promise<T> {
    const ms = this.options.operationTimeoutMs ?? 5000
    return new Promise<T>((resolve, reject) => {
      let timedOut = false
      const timer = setTimeout(() => {
        timedOut = true
        // Blocked (a memory or disk alarm), the broker reads nothing from this connection: say so.
        const why = this.blockedReason === undefined ? '' : `: it blocks this connection (${BLOCKED_CAUSE}: ${this.blockedReason})`
        reject(new HttpError(503, `RabbitMQ did not answer (${what}) within ${ms / 1000} s${why}; try again in a few seconds`, { 'Retry-After': '2' }))
      }, ms)
      work.then((value) => {
        clearTimeout(timer)
        if (timedOut)
          late?.(value)
        else resolve(value)
      }, (err: unknown) => {
        clearTimeout(timer)
        reject(err)
      })
    })
  }

  /**
   * Runs `fn` on a short-lived channel of its own, then closes it. The channel's failure stays
   * its own (an `error` listener keeps it from taking the connection down); a refusal by the
   * broker (queue not found, wrong arguments) becomes a 503 naming it. 503 at once while down,
   * and within `operationTimeoutMs` when the broker does not answer.
   */
  async withChannel<T>(fn: (ch: Channel) => Promise<T>): Promise<T> {
    const closeLater = (ch: Channel) => void ch.close().catch(() => {})
    // A connection that drops while the channel opens rejects with "Channel ended": a 503 too.
    const ch = await this.within(this.require().createChannel(), 'opening a channel', closeLater)
      .catch((err: unknown) => {
        throw this.unavailable(err, 'RabbitMQ could not open a channel')
      })
    ch.on('error', () => {}) // reported through the rejected call below
    try {
      return await this.within(fn(ch), 'a channel operation')
    }
    catch (err) {
      throw err instanceof HttpError ? err : new HttpError(503, `RabbitMQ refused: ${shortReason((err as Error).message)}`, { 'Retry-After': '2' })
    }
    finally {
      closeLater(ch) // not awaited: a frozen broker would never answer the close
    }
  }

  /**
   * Publishes on the shared confirm channel and resolves only once the broker confirmed
   * the message (it is then in every queue it was routed to: on disk if persistent and the
   * queue durable). Rejects with 503 (Retry-After: 2) while the broker is down, at once while it
   * blocks this connection (a memory or disk alarm), and when it does not confirm.
   * With the channel open and its socket taking more (the usual case) the message leaves at
   * once: no await before it, one deadline timer and one promise per publish.
   */
  async publish(exchange: string, routingKey: string, content: Buffer, options: Options.Publish = {}): Promise<Confirmed> {
    this.requirePublishing() // a 503 at once: down, or blocked
    const open = this.draining ? undefined : this.openPublisher
    // One deadline for the whole publish: the channel, a full socket buffer, the confirm.
    if (open)
      return this.within(this.publishOn(open, exchange, routingKey, content, options), 'publishing a message')
    const attempt = { gaveUp: false }
    return this.within(this.publishWhenReady(exchange, routingKey, content, options, attempt), 'publishing a message')
      .catch((err: unknown) => {
        attempt.gaveUp = true // a channel that opens after the 503 must not publish what the client was told failed
        throw err
      })
  }

  /** Waits for the publisher channel (opening, or its socket buffer full), then publishes, unless the publish was given up meanwhile. */
  private async publishWhenReady(exchange: string, routingKey: string, content: Buffer, options: Options.Publish, attempt: { gaveUp: boolean }): Promise<Confirmed> {
    const ch = await this.publisherChannel()
    if (attempt.gaveUp)
      throw new HttpError(503, 'gave up waiting for RabbitMQ', { 'Retry-After': '2' })
    this.requirePublishing() // blocked while the channel opened
    return this.publishOn(ch, exchange, routingKey, content, options)
  }

  private publishOn(ch: ConfirmChannel, exchange: string, routingKey: string, content: Buffer, options: Options.Publish): Promise<Confirmed> {
    const messageId = options.messageId ?? `m${++this.publishCount}`
    const headers = options.headers && this.reusedHeaders(options.headers)
    return new Promise<Confirmed>((resolve, reject) => {
      const pending = new PendingConfirm(this.unconfirmed, this.returned, messageId, resolve, reject)
      this.unconfirmed.add(pending)
      // #region confirm
      try {
        // mandatory: the broker hands back (basic.return) a message no queue is bound for.
        const ok = ch.publish(exchange, routingKey, content, { ...options, headers, messageId, mandatory: true }, err => pending.settle(err))
        // false: the socket buffer is full. Later publishes wait for 'drain' (publisherChannel).
        if (!ok && !this.draining)
          this.draining = drained(ch)
      }
      catch (err) { // the channel closed under us
        pending.settle(err)
      }
      // #endregion confirm
    })
  }

  /**
   * `headers`' values in an object reused for every publish with the same header names. amqplib
   * copies a publish's headers as `Object.create(headers)`, and V8 reshapes an object the first time
   * it becomes a prototype: with a new headers object per publish that cost 10-25 µs of CPU each
   * (A/B on POST /pubsub/publish). The message is encoded before `publish` returns, so the next
   * publish may overwrite the values. At most 16 layouts are kept; others pass through.
   */
  private reusedHeaders(headers: Record<string, unknown>): Record<string, unknown> {
    const layout = Object.keys(headers).join('\n')
    let reused = this.headerObjects.get(layout)
    if (!reused) {
      if (this.headerObjects.size >= 16)
        return headers
      this.headerObjects.set(layout, reused = {})
    }
    for (const key in headers)
      reused[key] = headers[key]
    return reused
  }

  private async publisherChannel(): Promise<ConfirmChannel> {
    this.requirePublishing()
    const model = this.publishing
    if (!model)
      throw new HttpError(503, 'RabbitMQ is not reachable (no publishing connection yet); try again in a few seconds', { 'Retry-After': '2' })
    if (!this.publisher) {
      // Waits for the publishing connection if it is (re)connecting: within the publish's deadline.
      const created = model.createConfirmChannel().then((ch) => {
        ch.on('return', (msg) => {
          if (msg.properties.messageId)
            this.returned.add(String(msg.properties.messageId))
        })
        ch.on('error', (err: Error) => console.error('[demos] publisher channel:', err.message))
        ch.once('close', () => {
          if (this.publisher === created)
            this.publisher = undefined
          if (this.openPublisher === ch)
            this.openPublisher = undefined
          this.draining = undefined
        })
        if (this.publisher === created)
          this.openPublisher = ch
        return ch
      })
      this.publisher = created
      created.catch(() => {
        if (this.publisher === created)
          this.publisher = undefined
      })
    }
    const ch = await this.publisher.catch((err: Error) => {
      throw new HttpError(503, `RabbitMQ is not reachable: ${err.message}`, { 'Retry-After': '2' })
    })
    if (this.draining) {
      await this.draining
      this.draining = undefined
    }
    return ch
  }

  private markDown(err: Error): void {
    this.lastError = err.message
    this.current = undefined
    if (this.state === 'closed' || this.state === 'down')
      return
    this.setState('down')
    this.emit('down', err)
  }

  private setState(state: BrokerState): void {
    if (this.state === state)
      return
    this.state = state
    this.emit('state', state)
  }

  /** Closes the connections (features close their channels first, in their shutdown hooks). */
  async close(): Promise<void> {
    this.setState('closed')
    const model = this.model
    const publishing = this.publishing
    const publisher = this.publisher
    this.model = undefined
    this.publishing = undefined
    this.current = undefined
    this.publisher = undefined
    this.openPublisher = undefined
    // Channels first, then the connections.
    await publisher?.then(ch => ch.close()).catch(() => {})
    await Promise.all([publishing?.close(), model?.close()].map(p => p?.catch(() => {})))
  }
}

/**
 * One publish waiting for the broker's confirm, or for a connection.blocked that fails it first
 * (whichever comes first settles it; the other does nothing). A class, not a closure per publish:
 * tsx (esbuild keepNames) gives every named closure its name with Object.defineProperty, a cost
 * the profile of the publish route showed.
 */
class PendingConfirm {
  private settled = false
  private readonly started = performance.now()

  constructor(
    private readonly unconfirmed: Set<PendingConfirm>,
    /** Message ids the broker returned (basic.return: no queue was bound for them). */
    private readonly returned: Set<string>,
    private readonly messageId: string,
    private readonly resolve: (c: Confirmed) => void,
    private readonly reject: (err: unknown) => void,
  ) {}

  /** The confirm (`err` null), a nack or a closed channel (`err` set), or connection.blocked. */
  settle(err: unknown): void {
    if (this.settled) // failed by connection.blocked first; the confirm may come much later
      return
    this.settled = true
    this.unconfirmed.delete(this)
    const routed = !this.returned.delete(this.messageId)
    if (err)
      this.reject(err instanceof HttpError ? err : new HttpError(503, `RabbitMQ did not take the message: ${(err as Error).message}`, { 'Retry-After': '2' }))
    else this.resolve({ messageId: this.messageId, routed, confirmMs: Math.round((performance.now() - this.started) * 1000) / 1000 }) // ms, to the µs
  }
}

/** "Connection closed: 320 (CONNECTION-FORCED) with message ..." -> "Connection closed: 320 (CONNECTION-FORCED)". */
function shortReason(error: string | undefined): string | undefined {
  return error?.split(' with message')[0]
}

/** Resolves on the channel's 'drain', or its 'close' (then the next publish fails fast instead of hanging). */
function drained(ch: ConfirmChannel): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      ch.off('drain', done)
      ch.off('close', done)
      resolve()
    }
    ch.on('drain', done)
    ch.on('close', done)
  })
}

/**
 * amqplib's multiplexer writes each frame of a pass (one per publish, one per ack) to the socket
 * with its own write(): one syscall and, with noDelay, one TCP segment each, the largest item in
 * the demo server's CPU profile under publish load. Corking the socket around the pass sends them
 * all with one writev. Uses amqplib internals (connection.muxer, connection.stream, checked on
 * amqplib 2.3); if they are not there, nothing is changed. Exported for the bench's broker floors
 * (bench/floor-server.ts), so they write as the demo server does.
 */
export function coalesceWrites(model: ChannelModel): void {
  const conn = (model as unknown as { connection?: { muxer?: { _readIncoming?: () => void }, stream?: NodeJS.WritableStream & { cork?: () => void, uncork?: () => void } } }).connection
  const mux = conn?.muxer
  const stream = conn?.stream
  const pass = mux?._readIncoming
  if (!mux || typeof pass !== 'function' || typeof stream?.cork !== 'function' || typeof stream.uncork !== 'function')
    return
  mux._readIncoming = function (this: unknown) {
    stream.cork!()
    try {
      pass.call(this)
    }
    finally {
      stream.uncork!()
    }
  }
}

/** Where {@link probeAlarm} publishes: a queue name no queue can have (`amq.` is reserved), so the broker drops it. */
export const ALARM_PROBE_KEY = 'amq.wire-patterns.alarm-probe'

/**
 * RabbitMQ blocks a connection (connection.blocked) only once it publishes during a memory or disk
 * alarm: a server started under an alarm would say "up" until a demo's first publish. One empty
 * message to the default exchange, routed nowhere, as the publishing connection opens, brings the
 * broker's answer at once (or nothing, without an alarm). Never rejects.
 */
async function probeAlarm(model: ChannelModel): Promise<void> {
  try {
    const ch = await model.createChannel()
    ch.on('error', () => {})
    ch.publish('', ALARM_PROBE_KEY, Buffer.alloc(0))
    void ch.close().catch(() => {}) // under an alarm this waits until it clears (or the connection goes)
  }
  catch {} // the connection went meanwhile: the next one probes again
}

/** `url` with `heartbeat=<s>` in its query unless it names one already (amqplib reads it there). */
function withHeartbeat(url: string, seconds: number): string {
  try {
    const u = new URL(url)
    if (!u.searchParams.has('heartbeat'))
      u.searchParams.set('heartbeat', String(seconds))
    return u.toString()
  }
  catch {
    return url // amqplib reports the bad URL itself
  }
}
