import type { BrokerConnection } from '../platform/broker.ts'
import type { LedgerStats } from './ledger.ts'
import type { PoolEvent, WorkerEvent, WorkerView } from '../../wire/work-queue.ts'
import { HttpError } from '../platform/http.ts'
import { Ledger } from './ledger.ts'
import { JOBS_QUEUE_OPTIONS, Worker } from './worker.ts'

/** Most workers at once (a slide has room for a few). */
export const MAX_WORKERS = 6

/**
 * The work queue's competing workers, all in this process, each on a channel of its own, and
 * the ledger of what happened to every job. After every broker (re)connect it declares the
 * queue and gives every live worker a new channel.
 */
export class WorkerPool {
  private readonly workers = new Map<number, Worker>()
  readonly ledger = new Ledger()
  private readonly listeners = new Set<(e: PoolEvent) => void>()
  private nextWorker = 1
  private nextJob = 1
  /** Jobs ever reserved by `enqueue` for its check of the limit, and those since published or failed. */
  private reservedTotal = 0
  private releasedTotal = 0

  /** @param maxWaiting jobs that may wait in the queue; `enqueue` past it is a 429. */
  constructor(private readonly broker: BrokerConnection, readonly queue: string, private readonly maxWaiting = 1000) {
    broker.onUp(async (model) => {
      const ch = await model.createChannel()
      ch.on('error', () => {}) // a refusal rejects the call below; the next 'up' tries again
      await ch.assertQueue(queue, JOBS_QUEUE_OPTIONS)
      await ch.close()
      await Promise.all([...this.workers.values()].map(w => w.attach(model)))
      this.emit({ type: 'workers' })
    })
    broker.on('down', () => {
      for (const w of this.workers.values()) w.lost()
    })
  }

  /** Calls `fn` with every event from now on; returns the function that stops it. */
  subscribe(fn: (e: PoolEvent) => void): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  private emit(e: PoolEvent): void {
    for (const fn of this.listeners) fn(e)
  }

  private report = (e: WorkerEvent): void => {
    this.ledger.record(e)
    if (e.type === 'cancelled') // its queue was deleted under it: the worker is gone
      this.workers.delete(e.worker)
    if (e.type === 'channel-closed') {
      console.warn(`[demos] RabbitMQ closed work-queue worker ${e.worker}'s channel (${e.reason})${e.job ? `; ${e.job} goes back to the queue` : ''}; the worker consumes again on a new channel`)
      this.reattach(e.worker)
    }
    this.emit(e)
  }

  /**
   * A worker whose channel the broker closed consumes again on a new one, now if the connection is
   * up (else the next 'up' does it), retrying every 2 s while the broker refuses (killed: stops).
   */
  private reattach(id: number): void {
    const w = this.workers.get(id)
    const model = this.broker.connection
    if (!w || w.state !== 'starting' || !model) // gone, killed, or consuming again already
      return
    this.broker.within(w.attach(model), 're-attaching a worker').then(() => this.emit({ type: 'workers' }), (err: Error) => {
      console.error(`[demos] work-queue worker ${id} could not consume again: ${err.message}; retrying in 2 s`)
      setTimeout(() => {
        if (this.broker.connection === model) // a new connection attaches it in its 'up'
          this.reattach(id)
      }, 2000).unref()
    })
  }

  /** The workers and what each is doing. */
  list(): WorkerView[] {
    return [...this.workers.values()].map(({ id, state, delayMs, done, current, channelClosed }) => ({ id, state, delayMs, done, current, ...(channelClosed ? { channelClosed } : {}) }))
  }

  /** The worker with this id, or a 404. */
  get(id: string): Worker {
    const w = this.workers.get(Number(id))
    if (!w)
      throw new HttpError(404, `no worker ${id}`)
    return w
  }

  /**
   * Publishes `count` jobs (`job-N`): persistent, each confirmed by the broker. Returns their ids.
   * 429 (Retry-After: 5) if they could pass `maxWaiting`, also when posts run at once: the broker's
   * count of waiting jobs plus every job other posts are still publishing, or have published since
   * the count was asked for. 503 (Retry-After: 2) while the broker is down or blocks publishing.
   */
  async enqueue(count: number): Promise<string[]> {
    this.broker.requirePublishing() // at once: the queue's count would wait on a blocked connection
    // Jobs of other posts not yet confirmed when we ask (perhaps not in the count), and those
    // reserved while we wait for the answer (surely not in it): counted too, so the limit holds.
    const inFlight = this.reservedTotal - this.releasedTotal
    const reservedBefore = this.reservedTotal
    // Both sides declare what they use: a queue deleted from the management UI comes back here.
    const { messageCount } = await this.broker.withChannel(ch => ch.assertQueue(this.queue, JOBS_QUEUE_OPTIONS))
    const pending = inFlight + (this.reservedTotal - reservedBefore)
    if (messageCount + pending + count > this.maxWaiting) {
      const others = pending ? ` and ${pending} more are being enqueued` : ''
      throw new HttpError(429, `the work queue holds ${messageCount} waiting jobs${others}; ${count} more would pass its limit of ${this.maxWaiting}`, { 'Retry-After': '5' })
    }
    this.reservedTotal += count // before any await: the next post's check sees these
    const ids = await this.publishJobs(count).finally(() => {
      this.releasedTotal += count
    })
    this.ledger.addPublished(count)
    this.emit({ type: 'published', jobs: ids })
    return ids
  }

  /** Publishes `count` new jobs and resolves with their ids once the broker confirmed every one. */
  private async publishJobs(count: number): Promise<string[]> {
    // #region jobs
    const ids = Array.from({ length: count }, () => `job-${this.nextJob++}`)
    // persistent (deliveryMode 2) in a durable queue, and confirmed: on disk before we say 202
    const options = (id: string) => ({ persistent: true, messageId: id })
    await Promise.all(ids.map(id => this.broker.publish('', this.queue, Buffer.from(id), options(id))))
    // #endregion jobs
    return ids
  }

  /** Drops the waiting jobs and resets the ledger (a fresh demo). Returns how many were dropped. */
  async purge(): Promise<number> {
    const { messageCount } = await this.broker.withChannel(async (ch) => {
      await ch.assertQueue(this.queue, JOBS_QUEUE_OPTIONS) // deleted from the management UI? then nothing waits
      return ch.purgeQueue(this.queue)
    })
    this.ledger.reset()
    this.emit({ type: 'reset' })
    return messageCount
  }

  /** Starts a worker that takes `delayMs` per job. 409 past MAX_WORKERS, 503 if the broker refuses. */
  async start(delayMs: number): Promise<Worker> {
    if (this.workers.size >= MAX_WORKERS)
      throw new HttpError(409, `at most ${MAX_WORKERS} workers`)
    const model = this.broker.require()
    const w = new Worker(this.nextWorker++, delayMs, this.report, this.queue)
    this.workers.set(w.id, w)
    try {
      await this.broker.within(w.attach(model), 'starting a worker')
    }
    catch (err) {
      this.workers.delete(w.id)
      void w.kill() // if its channel opens later, the worker closes it instead of consuming
      throw this.broker.unavailable(err, 'RabbitMQ refused the worker')
    }
    this.emit({ type: 'workers' })
    return w
  }

  /** Changes how long `w` takes per job. */
  setDelay(w: Worker, delayMs: number): void {
    w.delayMs = delayMs
    this.emit({ type: 'workers' })
  }

  /** Crashes `w` mid-job; the broker redelivers its job. Returns that job's id, or null. */
  async kill(w: Worker): Promise<string | null> {
    this.workers.delete(w.id)
    const job = w.current?.job ?? null
    // Within the deadline: a frozen broker never answers the channel.close (the job goes back
    // once it does, or once the connection is declared dead).
    await this.broker.within(w.kill(), 'closing the worker\'s channel').catch(() => {})
    this.emit({ type: 'workers' })
    return job
  }

  /** The ledger, and the queue's depth and consumers as the broker counts them (null while it is down). */
  async stats(): Promise<LedgerStats & { queue: { ready: number, consumers: number } | null }> {
    const q = this.broker.connection ? await this.broker.withChannel(ch => ch.assertQueue(this.queue, JOBS_QUEUE_OPTIONS)) : null
    return { ...this.ledger.stats(), queue: q && { ready: q.messageCount, consumers: q.consumerCount } }
  }

  /** Shutdown: closes each worker's channel (its unacked job goes back to the queue). */
  async close(): Promise<void> {
    await Promise.all([...this.workers.values()].map(w => this.broker.within(w.kill(), 'closing a worker\'s channel').catch(() => {})))
    this.workers.clear()
    this.listeners.clear()
  }
}
