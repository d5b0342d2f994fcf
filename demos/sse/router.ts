import type { DemoContext } from '../platform/context.ts'
import type { JobEvent } from '../../wire/jobs.ts'
import { Router } from 'express'
import { findJob } from '../jobs/index.ts'
import { lastEventId, openSseSession } from '../platform/sse-session.ts'

/** Server-Sent Events: one request, one response that never ends until the job does. */
export function sseRouter(ctx: DemoContext): Router {
  const { jobs } = ctx
  const router = Router()
  /** GET /jobs/:id/events — text/event-stream of the job's changes; resumes after `Last-Event-ID`. */
  router.get('/jobs/:id/events', (req, res) => {
    const job = findJob(jobs, req)
    // #region stream
    // What the client missed: all events after its Last-Event-ID
    const missed = jobs.eventsAfter(job.id, lastEventId(req))
    if (job.state !== 'running' && missed.length === 0)
      return res.status(204).end() // over: 204 = stop reconnecting
    const stream = openSseSession(ctx, res, () => unwatch())
    const send = (e: JobEvent) => {
      void stream.send(e.event, e.data, e.id)
      if (e.event !== 'progress')
        stream.end() // the job is over, so is the stream
    }
    const unwatch = jobs.watch(job.id, send) // every change from now on
    missed.forEach(send) // and what the client has not seen yet
    // #endregion stream
  })
  return router
}
