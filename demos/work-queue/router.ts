import type { DemoContext } from '../app.ts'
import type { WorkerEvent } from './worker.ts'
import { EventEmitter } from 'node:events'
import { Router } from 'express'
import { HttpError } from '../http.ts'
import { openEventStream } from '../push/bridge.ts'
import { JOBS_QUEUE_OPTIONS, jobsQueueName, Worker } from './worker.ts'

/** Most workers at once (a slide has room for a few). */
export const MAX_WORKERS = 6
/** Most jobs per POST. */
export const MAX_JOBS_PER_POST = 500

function delayOf(value: unknown, fallback: number): number {
  if (value === undefined)
    return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 60_000)
    throw new HttpError(400, 'delayMs must be an integer between 0 and 60000')
  return value
}

/** The work queue: competing workers, manual acks, redelivery when a worker dies. */
export function workQueueRouter(ctx: DemoContext): Router {
  const router = Router()
  const JOBS_QUEUE = jobsQueueName()
  const workers = new Map<number, Worker>()
  const hub = new EventEmitter()
  hub.setMaxListeners(100)
  let nextWorker = 1
  let nextJob = 1
  // The ledger the slide and the tests check: every job acked exactly once, none lost.
  const ledger = { published: 0, deliveries: 0, redelivered: 0, acks: new Map<string, number>() }

  const report = (e: WorkerEvent) => {
    if (e.type === 'delivered') {
      ledger.deliveries++
      if (e.redelivered)
        ledger.redelivered++
    }
    if (e.type === 'acked')
      ledger.acks.set(e.job, (ledger.acks.get(e.job) ?? 0) + 1)
    if (e.type === 'cancelled') // its queue was deleted under it: the worker is gone
      workers.delete(e.worker)
    hub.emit('event', e)
  }

  // After every (re)connect: declare the queue, then give every live worker a new channel.
  ctx.broker.onUp(async (model) => {
    const ch = await model.createChannel()
    await ch.assertQueue(JOBS_QUEUE, JOBS_QUEUE_OPTIONS)
    await ch.close()
    await Promise.all([...workers.values()].map(w => w.attach(model)))
    hub.emit('event', { type: 'workers' })
  })
  ctx.broker.on('down', () => {
    for (const w of workers.values()) w.lost()
  })

  const describe = (w: Worker) => ({ id: w.id, state: w.state, delayMs: w.delayMs, done: w.done, current: w.current })

  /** POST /work-queue/jobs — {count?} enqueue 1-500 jobs: persistent, confirmed by the broker. */
  router.post('/jobs', async (req, res) => {
    const count = (req.body as { count?: unknown } | undefined)?.count ?? 1
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > MAX_JOBS_PER_POST)
      throw new HttpError(400, `count must be an integer between 1 and ${MAX_JOBS_PER_POST}`)
    // #region jobs
    // Both sides declare what they use: a queue deleted from the management UI comes back here.
    const ch = await ctx.broker.require().createChannel()
    await ch.assertQueue(JOBS_QUEUE, JOBS_QUEUE_OPTIONS)
    await ch.close()
    const ids = Array.from({ length: count }, () => `job-${nextJob++}`)
    // persistent (deliveryMode 2) in a durable queue, confirmed: on disk before we say 202.
    await Promise.all(ids.map(id => ctx.broker.publish('', JOBS_QUEUE, Buffer.from(id), { persistent: true, messageId: id })))
    ledger.published += count
    hub.emit('event', { type: 'published', jobs: ids })
    res.status(202).json({ jobs: ids })
    // #endregion jobs
  })

  /** DELETE /work-queue/jobs — purge waiting jobs and reset the ledger (a fresh demo). */
  router.delete('/jobs', async (_req, res) => {
    const ch = await ctx.broker.require().createChannel()
    const { messageCount } = await ch.purgeQueue(JOBS_QUEUE)
    await ch.close()
    Object.assign(ledger, { published: 0, deliveries: 0, redelivered: 0 })
    ledger.acks.clear()
    hub.emit('event', { type: 'reset' })
    res.json({ purged: messageCount })
  })

  /** GET /work-queue/workers — the workers and what each is doing. */
  router.get('/workers', (_req, res) => {
    res.json([...workers.values()].map(describe))
  })

  /** POST /work-queue/workers — {delayMs?} start a worker (default 1500 ms per job). */
  router.post('/workers', async (req, res) => {
    const delayMs = delayOf((req.body as { delayMs?: unknown } | undefined)?.delayMs, 1500)
    if (workers.size >= MAX_WORKERS)
      throw new HttpError(409, `at most ${MAX_WORKERS} workers`)
    const model = ctx.broker.require()
    const w = new Worker(nextWorker++, delayMs, report, JOBS_QUEUE)
    workers.set(w.id, w)
    try {
      await w.attach(model)
    }
    catch (err) {
      workers.delete(w.id)
      throw new HttpError(503, `RabbitMQ refused the worker: ${(err as Error).message}`)
    }
    hub.emit('event', { type: 'workers' })
    res.status(201).json(describe(w))
  })

  const workerOf = (id: string) => {
    const w = workers.get(Number(id))
    if (!w)
      throw new HttpError(404, `no worker ${id}`)
    return w
  }

  /** PATCH /work-queue/workers/:id — {delayMs} slow a worker down (or speed it up). */
  router.patch('/workers/:id', (req, res) => {
    const w = workerOf(req.params.id)
    w.delayMs = delayOf((req.body as { delayMs?: unknown } | undefined)?.delayMs, w.delayMs)
    hub.emit('event', { type: 'workers' })
    res.json(describe(w))
  })

  /** POST /work-queue/workers/:id/kill — crash the worker mid-job; the broker redelivers its job. */
  router.post('/workers/:id/kill', async (req, res) => {
    const w = workerOf(req.params.id)
    workers.delete(w.id)
    const job = w.current?.job
    await w.kill()
    hub.emit('event', { type: 'workers' })
    res.json({ killed: w.id, job: job ?? null })
  })

  /** GET /work-queue/stats — the ledger: published, acks per job, redeliveries, queue depth. */
  router.get('/stats', async (_req, res) => {
    let queue: { ready: number, consumers: number } | null = null
    const model = ctx.broker.connection
    if (model) {
      const ch = await model.createChannel()
      const q = await ch.checkQueue(JOBS_QUEUE)
      await ch.close()
      queue = { ready: q.messageCount, consumers: q.consumerCount }
    }
    const acks = [...ledger.acks.values()]
    res.json({
      published: ledger.published,
      deliveries: ledger.deliveries,
      redelivered: ledger.redelivered,
      acked: acks.length,
      ackedMoreThanOnce: acks.filter(n => n > 1).length,
      acks: Object.fromEntries(ledger.acks),
      queue,
    })
  })

  /** GET /work-queue/events — what the workers do, as an event stream. */
  router.get('/events', (_req, res) => {
    const stream = openEventStream(ctx, res)
    const forward = (e: { type: string }) => {
      void stream.send(e.type, e.type === 'workers' ? [...workers.values()].map(describe) : e)
    }
    void stream.send('workers', [...workers.values()].map(describe))
    hub.on('event', forward)
    res.once('close', () => hub.off('event', forward))
  })

  ctx.lifecycle.onShutdown(async () => {
    // Graceful here: close each worker's channel (its unacked job goes back to the queue).
    await Promise.all([...workers.values()].map(w => w.kill()))
    workers.clear()
  })
  return router
}
