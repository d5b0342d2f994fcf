import type { DemoContext } from '../platform/context.ts'
import { Router } from 'express'
import { methodNotAllowed } from '../platform/http.ts'
import { createJob, findJob } from './index.ts'
import { holdPoll, waitParams } from './long-poll.ts'

/**
 * The job API every HTTP pattern uses (request/response, short and long polling, SSE, the race):
 * `POST /jobs` starts a job, `GET /jobs/:id` reads it — at once (short polling) or, with `?wait=`,
 * held until it changes (long polling). Mounted at the root by demos/app.ts.
 */
export function jobsRouter(ctx: DemoContext): Router {
  const { jobs } = ctx
  const router = Router()
  // #region routes
  // #region create
  /** POST /jobs — starts a job `{"durationMs": n}`; 202 with its id and a Location to poll. */
  router.post('/jobs', (req, res) => {
    const job = createJob(jobs, req.body)
    res.status(202).location(`/jobs/${job.id}`).json(job)
  })
  // #endregion create
  // #region poll
  /** GET /jobs/:id — the job now; with ?wait=<s>[&since=<v>], once it changes (long polling). */
  router.get('/jobs/:id', (req, res) => {
    if (req.query.wait === undefined) // short polling: at once, ready or not
      return res.set('Cache-Control', 'no-store').json(findJob(jobs, req))
    const { waitS, since } = waitParams(req.query, jobs.options.maxWaitS) // long polling
    const job = findJob(jobs, req)
    res.set('Cache-Control', 'no-store')
    const behind = since !== undefined && job.version > since // the client missed a change
    if (job.state !== 'running' || behind || waitS === 0)
      return res.json(job) // nothing to wait for
    holdPoll(ctx, res, job, waitS) // answered when the job changes or `wait` runs out
  })
  // #endregion poll
  // #endregion routes
  router.all('/jobs', methodNotAllowed('POST'))
  router.all('/jobs/:id', methodNotAllowed('GET', 'HEAD'))
  return router
}
