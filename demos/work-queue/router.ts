import type { DemoContext } from '../platform/context.ts'
import { Router } from 'express'
import { HttpError } from '../platform/http.ts'
import { openSseSession } from '../platform/sse-session.ts'
import { WorkerPool } from './pool.ts'

/** Most jobs per POST. */
export const MAX_JOBS_PER_POST = 500

/** `delayMs` from a body: an integer 0..60000, or `fallback` when absent; 400 otherwise. */
function delayOf(body: unknown, fallback: number): number {
  const value = (body as { delayMs?: unknown } | undefined)?.delayMs
  if (value === undefined)
    return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 60_000)
    throw new HttpError(400, 'delayMs must be an integer between 0 and 60000')
  return value
}

/** The work queue: competing workers, manual acks, redelivery when a worker dies (pool.ts, worker.ts). */
export function workQueueRouter(ctx: DemoContext): Router {
  const router = Router()
  const pool = new WorkerPool(ctx.broker, ctx.config.workQueue, ctx.config.workQueueMax)
  ctx.lifecycle.onShutdown(() => pool.close())

  /** POST /work-queue/jobs — {count?} enqueue 1-500 jobs: persistent, confirmed by the broker. */
  router.post('/jobs', async (req, res) => {
    const count = (req.body as { count?: unknown } | undefined)?.count ?? 1
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > MAX_JOBS_PER_POST)
      throw new HttpError(400, `count must be an integer between 1 and ${MAX_JOBS_PER_POST}`)
    res.status(202).json({ jobs: await pool.enqueue(count) })
  })

  /** DELETE /work-queue/jobs — purge waiting jobs and reset the ledger (a fresh demo). */
  router.delete('/jobs', async (_req, res) => {
    res.json({ purged: await pool.purge() })
  })

  /** GET /work-queue/workers — the workers and what each is doing. */
  router.get('/workers', (_req, res) => {
    res.json(pool.list())
  })

  /** POST /work-queue/workers — {delayMs?} start a worker (default 1500 ms per job). */
  router.post('/workers', async (req, res) => {
    const w = await pool.start(delayOf(req.body, 1500))
    res.status(201).json(pool.list().find(v => v.id === w.id))
  })

  /** PATCH /work-queue/workers/:id — {delayMs} slow a worker down (or speed it up). */
  router.patch('/workers/:id', (req, res) => {
    const w = pool.get(req.params.id)
    pool.setDelay(w, delayOf(req.body, w.delayMs))
    res.json(pool.list().find(v => v.id === w.id))
  })

  /** POST /work-queue/workers/:id/kill — crash the worker mid-job; the broker redelivers its job. */
  router.post('/workers/:id/kill', async (req, res) => {
    const w = pool.get(req.params.id)
    res.json({ killed: w.id, job: await pool.kill(w) })
  })

  /** GET /work-queue/stats — the ledger: published, acks per job, redeliveries, queue depth. */
  router.get('/stats', async (_req, res) => {
    res.json(await pool.stats())
  })

  /** GET /work-queue/events — what the workers do, as an event stream. */
  router.get('/events', (_req, res) => {
    const stream = openSseSession(ctx, res, () => unsubscribe())
    const unsubscribe = pool.subscribe(e => void stream.send(e.type, e.type === 'workers' ? pool.list() : e))
    void stream.send('workers', pool.list())
  })

  return router
}
