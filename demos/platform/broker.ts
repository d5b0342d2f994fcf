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

/**
 * One AMQP connection for the whole demo server, recovered with backoff when the broker
 * goes away (amqplib's opt-in recovery). Channels do not survive a reconnect: features
 * listen for `up` and re-declare their topology and consumers on the new connection.
 *
 * Events: `state` (BrokerState), `up` (ChannelModel), `down` (Error).
 */
export class BrokerConnection extends EventEmitter {
  state: BrokerState = 'idle'
  private model?: RecoveringChannelModel
  private current?: ChannelModel
  private publisher?: Promise<ConfirmChannel>
  private readonly returned = new Set<string>()
  private publishCount = 0
  /** Set while the publisher's socket buffer is full: publishes wait for it. */
  private draining?: Promise<void>
  lastError?: string

  constructor(readonly url: string, private readonly options: BrokerOptions = {}) {
    super()
  }

  /** Starts connecting in the background; never throws, the state says how it goes. */
  start(): void {
    if (this.state !== 'idle')
      return
    this.setState('connecting')
    void connect(withHeartbeat(this.url, this.options.heartbeatS ?? 3), {
      // Small frames (a publish, a confirm) leave at once instead of waiting on Nagle + delayed ACK.
      noDelay: true,
      timeout: this.options.operationTimeoutMs ?? 5000, // for the TCP connect and the AMQP handshake
      recovery: {
        waitForConnect: false,
        initialDelay: this.options.initialDelayMs ?? 250,
        maxDelay: this.options.maxDelayMs ?? 2000,
        maxRetries: Infinity,
      },
    }).then((model) => {
      if (this.state === 'closed') {
        void model.close().catch(() => {})
        return
      }
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
        reject(new HttpError(503, `RabbitMQ did not answer (${what}) within ${ms / 1000} s; try again in a few seconds`, { 'Retry-After': '2' }))
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
    const ch = await this.within(this.require().createChannel(), 'opening a channel', closeLater)
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
   * queue durable). Rejects with 503 while the broker is down or when it does not confirm.
   */
  async publish(exchange: string, routingKey: string, content: Buffer, options: Options.Publish = {}): Promise<Confirmed> {
    // One deadline for the whole publish: the channel, a full socket buffer, the confirm.
    const gaveUp = new AbortController()
    return this.within(this.publishNow(exchange, routingKey, content, options, gaveUp.signal), 'publishing a message')
      .catch((err: unknown) => {
        gaveUp.abort() // a channel that opens after the 503 must not publish what the client was told failed
        throw err
      })
  }

  private async publishNow(exchange: string, routingKey: string, content: Buffer, options: Options.Publish, gaveUp: AbortSignal): Promise<Confirmed> {
    const ch = await this.publisherChannel()
    if (gaveUp.aborted)
      throw new HttpError(503, 'gave up waiting for RabbitMQ')
    const messageId = options.messageId ?? `m${++this.publishCount}`
    const started = performance.now()
    return new Promise<Confirmed>((resolve, reject) => {
      const done = (err: unknown) => {
        const routed = !this.returned.delete(messageId)
        if (err)
          reject(new HttpError(503, `RabbitMQ did not take the message: ${(err as Error).message}`))
        else resolve({ messageId, routed, confirmMs: performance.now() - started })
      }
      // #region confirm
      try {
        // mandatory: the broker hands back (basic.return) a message no queue is bound for.
        const ok = ch.publish(exchange, routingKey, content, { ...options, messageId, mandatory: true }, done)
        // false: the socket buffer is full. Later publishes wait for 'drain' (publisherChannel).
        if (!ok && !this.draining)
          this.draining = drained(ch)
      }
      catch (err) { // the channel closed under us
        done(err)
      }
      // #endregion confirm
    })
  }

  private async publisherChannel(): Promise<ConfirmChannel> {
    const model = this.require()
    if (!this.publisher) {
      const created = model.createConfirmChannel().then((ch) => {
        ch.on('return', (msg) => {
          if (msg.properties.messageId)
            this.returned.add(String(msg.properties.messageId))
        })
        ch.on('error', (err: Error) => console.error('[demos] publisher channel:', err.message))
        ch.once('close', () => {
          if (this.publisher === created)
            this.publisher = undefined
          this.draining = undefined
        })
        return ch
      })
      this.publisher = created
      created.catch(() => {
        if (this.publisher === created)
          this.publisher = undefined
      })
    }
    const ch = await this.publisher.catch((err: Error) => {
      throw new HttpError(503, `RabbitMQ is not reachable: ${err.message}`)
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
    this.publisher = undefined
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

  /** Closes the connection (features close their channels first, in their shutdown hooks). */
  async close(): Promise<void> {
    this.setState('closed')
    const model = this.model
    const publisher = this.publisher
    this.model = undefined
    this.current = undefined
    this.publisher = undefined
    // Channels first, then the connection.
    await publisher?.then(ch => ch.close()).catch(() => {})
    await model?.close().catch(() => {})
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
 * amqplib 2.3); if they are not there, nothing is changed.
 */
function coalesceWrites(model: ChannelModel): void {
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
