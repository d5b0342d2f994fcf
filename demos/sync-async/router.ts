import type { Response } from 'express'
import { Router } from 'express'
import type { DemoContext } from '../platform/context.ts'
import { countPrimes, parseN } from './cpu.ts'
import { loopWatch } from './loop-watch.ts'
import type { CpuResult } from '../../wire/sync-async.ts'
import { CpuWorker } from './worker-thread.ts'

/**
 * Synchronous vs asynchronous, on the server: the same CPU-heavy request served on the
 * event loop (everything else waits) and on a worker thread (the loop keeps answering).
 */
export function syncAsyncRouter(ctx: DemoContext): Router {
  const router = Router()
  const worker = new CpuWorker()
  const loop = loopWatch() // counts heartbeats, measures how late the loop ran (loop-watch.ts)
  ctx.lifecycle.onShutdown(() => worker.close())

  // #region heartbeat
  /** GET /sync-async/heartbeat — answers at once: its round trip shows whether the loop is free. */
  router.get('/heartbeat', (_req, res) => {
    loop.beat()
    res.set('Cache-Control', 'no-store').json({ at: Date.now() })
  })
  // #endregion heartbeat

  // #region blocking
  /** GET /sync-async/blocking?n=2000000 — the work ON the event loop. */
  router.get('/blocking', (req, res) => {
    const n = parseN(req.query.n)
    const stop = loop.watch()
    const t0 = performance.now()
    const primes = countPrimes(n) // synchronous: the loop is stuck on this line
    const cpuMs = Math.round(performance.now() - t0)
    res.set('Server-Timing', `cpu;dur=${cpuMs}`)
    res.json({ variant: 'blocking', n, primes, cpuMs, ...stop() })
  })
  // #endregion blocking

  // #region worker
  /** GET /sync-async/worker?n=2000000 — the same work on a worker thread. */
  router.get('/worker', async (req, res) => {
    const n = parseN(req.query.n)
    const stop = loop.watch(res)
    const result = await whileClientWaits(res, signal => worker.run(n, signal))
    const report = stop()
    if (!result)
      return // the client left: nobody to answer
    const { primes, cpuMs, waitMs } = result
    res.set('Server-Timing', `cpu;dur=${cpuMs}, wait;dur=${waitMs}`)
    res.json({ variant: 'worker', n, primes, cpuMs, waitMs, ...report })
  })
  // #endregion worker

  return router
}

/**
 * Runs `work` for the client of `res`: its signal aborts when the client leaves, which drops a job
 * still waiting in the worker's queue. Resolves with the result, or undefined when the client left
 * (whether the job was dropped or finished for nobody); other errors are thrown.
 */
async function whileClientWaits(res: Response, work: (signal: AbortSignal) => Promise<CpuResult>): Promise<CpuResult | undefined> {
  const gone = new AbortController()
  res.once('close', () => gone.abort())
  try {
    const result = await work(gone.signal)
    return gone.signal.aborted ? undefined : result
  }
  catch (err) {
    if (gone.signal.aborted)
      return undefined
    throw err
  }
}
