import { Router } from 'express'
import type { DemoContext } from '../context.ts'
import { countPrimes, parseN } from './cpu.ts'
import { loopWatch } from './loop-watch.ts'
import { CpuWorker } from './pool.ts'

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
  /** GET /sync-async/blocking?n=2000000 — counts primes ON the event loop: nothing else is served meanwhile. */
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
  /** GET /sync-async/worker?n=2000000 — the same work on a worker thread: the loop keeps serving. */
  router.get('/worker', async (req, res) => {
    const n = parseN(req.query.n)
    const gone = new AbortController()
    res.once('close', () => gone.abort()) // a queued job is dropped if the client leaves
    const stop = loop.watch()
    const result = await worker.run(n, gone.signal).catch((err: Error) => err)
    const report = stop()
    if (gone.signal.aborted)
      return
    if (result instanceof Error)
      throw result
    const cpuMs = Math.round(result.cpuMs)
    const waitMs = Math.round(result.waitMs)
    res.set('Server-Timing', `cpu;dur=${cpuMs}, wait;dur=${waitMs}`)
    res.json({ variant: 'worker', n, primes: result.primes, cpuMs, waitMs, ...report })
  })
  // #endregion worker

  return router
}
