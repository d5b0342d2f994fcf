import type { ChannelModel, RecoveringChannelModel } from 'amqplib'
import { EventEmitter } from 'node:events'
import { connect } from 'amqplib'

export type BrokerState = 'idle' | 'connecting' | 'up' | 'down' | 'closed'

/** Options of {@link BrokerConnection}. */
export interface BrokerOptions {
  /** First reconnect delay, ms. Default 250. */
  initialDelayMs?: number
  /** Longest reconnect delay, ms. Default 2000, so a broker restarted mid-talk is back within seconds. */
  maxDelayMs?: number
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
  lastError?: string

  constructor(readonly url: string, private readonly options: BrokerOptions = {}) {
    super()
    this.setMaxListeners(100)
  }

  /** Starts connecting in the background; never throws, the state says how it goes. */
  start(): void {
    if (this.state !== 'idle')
      return
    this.setState('connecting')
    void connect(this.url, {
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

  /** Closes the connection (features close their channels first, in their shutdown hooks). */
  async close(): Promise<void> {
    this.setState('closed')
    const model = this.model
    this.model = undefined
    this.current = undefined
    await model?.close().catch(() => {})
  }
}
