import type { Request } from 'express'
import type { DemoContext } from '../app.ts'
import type { JobEvent } from '../jobs/index.ts'
import { Router } from 'express'
import { HttpError } from '../http.ts'
import { findJob, jobsFor } from '../jobs/index.ts'

/** Server-Sent Events: one request, one response that never ends until the job does. */
export function sseRouter(ctx: DemoContext): Router {
  const jobs = jobsFor(ctx)
  const { options } = jobs
  const router = Router()
  /** GET /jobs/:id/events — text/event-stream of the job's changes; resumes after `Last-Event-ID`. */
  router.get('/jobs/:id/events', (req, res) => {
    const job = findJob(jobs, req)
    const lastId = lastEventId(req)
    const missed = jobs.eventsAfter(job.id, lastId)
    // Already over and nothing missed: 204 tells EventSource to stop reconnecting.
    if (job.state !== 'running' && missed.length === 0)
      return res.status(204).end()
    if (jobs.sseClients >= options.maxSseClients)
      throw new HttpError(429, `too many event streams open (limit ${options.maxSseClients}); retry later`, { 'Retry-After': '5' })
    // #region stream
    res.status(200).set({
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      'X-Accel-Buffering': 'no', // proxies must not buffer the stream
    })
    res.write(`retry: ${options.retryMs}\n\n`)
    const send = (e: JobEvent) => {
      res.write(`id: ${e.id}\nevent: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`)
      if (e.event !== 'progress')
        res.end() // the job is over, so is the stream
    }
    jobs.on(job.id, send)
    for (const e of missed) send(e) // replay what the client has not seen
    const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), options.heartbeatMs)
    jobs.sseClients++
    ctx.lifecycle.hold(res, () => res.end(': server shutting down\n\n'))
    // The response's close fires for every ending: job over, client gone, shutdown.
    res.once('close', () => {
      clearInterval(heartbeat)
      jobs.off(job.id, send)
      jobs.sseClients--
    })
    // #endregion stream
  })
  return router
}

/** `Last-Event-ID` header (what EventSource sends), `?lastEventId=` for manual tests; 0 if absent. */
function lastEventId(req: Request): number {
  const raw = req.get('Last-Event-ID') ?? req.query.lastEventId
  if (raw === undefined || raw === '')
    return 0
  if (typeof raw !== 'string' || !/^\d+$/.test(raw.trim()))
    throw new HttpError(400, 'Last-Event-ID must be a non-negative integer (an id: this stream sent)')
  return Number(raw)
}
