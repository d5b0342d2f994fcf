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
    this.emit(e)
  }

  /** The workers and what each is doing. */
  list(): WorkerView[] {
    return [...this.workers.values()].map(({ id, state, delayMs, done, current }) => ({ id, state, delayMs, done, current }))
  }

  /** The worker with this id, or a 404. */
  get(id: string): Worker {
    const w = this.workers.get(Number(id))
    if (!w)
      throw new HttpError(404, `no worker ${id}`)
    return w
  }

  /** Publishes `count` jobs (`job-N`): persistent, each confirmed by the broker. Returns their ids. */
  async enqueue(count: number): Promise<string[]> {
    // Both sides declare what they use: a queue deleted from the management UI comes back here.
    const { messageCount } = await this.broker.withChannel(ch => ch.assertQueue(this.queue, JOBS_QUEUE_OPTIONS))
    if (messageCount + count > this.maxWaiting)
      throw new HttpError(429, `the work queue holds ${messageCount} waiting jobs; ${count} more would pass its limit of ${this.maxWaiting}`, { 'Retry-After': '5' })
    // #region jobs
    const ids = Array.from({ length: count }, () => `job-${this.nextJob++}`)
    // persistent (deliveryMode 2) in a durable queue, and confirmed: on disk before we say 202
    const options = (id: string) => ({ persistent: true, messageId: id })
    await Promise.all(ids.map(id => this.broker.publish('', this.queue, Buffer.from(id), options(id))))
    // #endregion jobs
    this.ledger.addPublished(count)
    this.emit({ type: 'published', jobs: ids })
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
      throw err instanceof HttpError ? err : new HttpError(503, `RabbitMQ refused the worker: ${(err as Error).message}`, { 'Retry-After': '2' })
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
    await w.kill()
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
    await Promise.all([...this.workers.values()].map(w => w.kill()))
    this.workers.clear()
    this.listeners.clear()
  }
}
