import type { Channel, ChannelModel, ConsumeMessage, Options } from 'amqplib'
import type { WorkerEvent, WorkerState } from '../../wire/work-queue.ts'

/**
 * The work queue is one durable queue on the default exchange, named by the config (`workQueue`).
 * Durable: the queue survives a broker restart (and RabbitMQ 4.3 refuses non-durable,
 * non-exclusive queues). Not exclusive: every worker, on any connection, competes for it.
 */
export const JOBS_QUEUE_OPTIONS: Options.AssertQueue = { durable: true, exclusive: false, autoDelete: false }

/**
 * A competing consumer: prefetch 1 and manual acks, so the broker pushes it one job at a
 * time and takes the job back if the worker dies before acking. Each worker has its own
 * channel: closing that channel is, to the broker, exactly a crashed worker process.
 */
export class Worker {
  state: WorkerState = 'starting'
  current?: { job: string, redelivered: boolean, since: number }
  done = 0
  /** The last time the broker closed this worker's channel on its own: why, the job it held, when (epoch ms). */
  channelClosed?: { reason: string, job?: string, at: number }
  private channel?: Channel
  private timer?: ReturnType<typeof setTimeout>

  constructor(
    readonly id: number,
    public delayMs: number,
    private readonly report: (e: WorkerEvent) => void,
    private readonly queue: string,
  ) {}

  /** True once `kill` ran or the broker cancelled it (it may change while `attach` awaits the broker). */
  private get killed(): boolean {
    return this.state === 'dead'
  }

  /**
   * Opens the worker's channel and starts consuming; runs again after a broker reconnect, and
   * after the broker closed the channel on its own (`channel-closed`, see `closedByBroker`).
   */
  async attach(model: ChannelModel): Promise<void> {
    const ch = await model.createChannel()
    let refusal: Error | undefined
    let consuming = false
    // 'error' comes only for a channel.close from the broker, just before 'close'. A channel that
    // closes with its connection has no 'error': then the pool's 'down' / 'up' take over.
    ch.on('error', (err: Error) => (refusal = err))
    ch.once('close', () => {
      if (refusal && consuming)
        this.closedByBroker(ch, refusal)
    })
    if (this.killed) // killed while the broker was slow to answer: never start consuming
      return void ch.close().catch(() => {})
    this.channel = ch
    // #region consume
    await ch.assertQueue(this.queue, JOBS_QUEUE_OPTIONS)
    await ch.prefetch(1) // at most one unacked job: the next one comes after the ack
    await ch.consume(this.queue, (msg) => {
      if (!msg) // cancelled by the broker (queue deleted): stop, and say so
        return this.cancelled()
      this.work(ch, msg)
    }, { noAck: false })
    // #endregion consume
    consuming = true
    if (this.killed) // killed meanwhile: its channel was not ours yet to close
      return void ch.close().catch(() => {})
    if (this.state === 'starting')
      this.state = 'idle'
  }

  /**
   * The broker closed `ch` (consumer timeout, or any other channel-level refusal) while the
   * connection stayed up: the unacked job is back in the queue, so the "work" on it stops (an ack
   * now could not reach the broker anyway) and the worker says so; the pool attaches it again.
   */
  private closedByBroker(ch: Channel, err: Error): void {
    if (this.channel !== ch || this.killed)
      return
    const job = this.current?.job
    this.stopWork()
    this.channel = undefined
    this.state = 'starting'
    this.channelClosed = { reason: err.message, job, at: Date.now() }
    this.report({ type: 'channel-closed', worker: this.id, job, reason: err.message })
  }

  // #region work
  private work(ch: Channel, msg: ConsumeMessage): void {
    const job = this.started(msg) // busy: the slide shows it
    this.timer = setTimeout(() => { // the "work": a transcode
      if (ackIfOpen(ch, msg)) // only now may the broker forget the job
        this.finished(job)
    }, this.delayMs)
  }
  // #endregion work

  /** A job arrived: the worker is busy with it, and says so. Returns the job's id. */
  private started(msg: ConsumeMessage): string {
    const job = String(msg.properties.messageId)
    const redelivered = msg.fields.redelivered
    this.state = 'busy'
    this.current = { job, redelivered, since: Date.now() }
    this.report({ type: 'delivered', worker: this.id, job, redelivered })
    return job
  }

  /** The job is done and acked: idle again, and says so. */
  private finished(job: string): void {
    this.done++
    this.state = 'idle'
    this.current = undefined
    this.report({ type: 'acked', worker: this.id, job, ms: this.delayMs })
  }

  private cancelled(): void {
    this.stopWork()
    this.state = 'dead'
    this.report({ type: 'cancelled', worker: this.id })
  }

  /** The broker connection went away: the unacked job goes back to the queue by itself. */
  lost(): void {
    this.stopWork()
    if (this.state !== 'dead')
      this.state = 'starting'
  }

  private stopWork(): void {
    clearTimeout(this.timer)
    this.timer = undefined
    this.current = undefined
  }

  /** Crashes mid-job: no ack; closing the channel makes the broker requeue the job, marked redelivered. */
  async kill(): Promise<void> {
    const job = this.current?.job
    this.stopWork()
    this.state = 'dead'
    const ch = this.channel
    this.channel = undefined
    this.report({ type: 'killed', worker: this.id, job })
    await ch?.close().catch(() => {})
  }
}

/**
 * Acks `msg`; false if its channel is already gone (the worker was killed, or the broker went
 * away): then the broker has put the job back in the queue and redelivers it to another worker.
 */
export function ackIfOpen(ch: Channel, msg: ConsumeMessage): boolean {
  try {
    ch.ack(msg)
    return true
  }
  catch {
    return false
  }
}
