import type { DemoContext } from '../platform/context.ts'
import { Router } from 'express'
import { createJob, findJob } from './index.ts'

/** Short polling: start a job, get a handle at once, then ask "is it done?" as often as you like. */
export function shortPollingRouter(ctx: DemoContext): Router {
  const { jobs } = ctx
  const router = Router()
  // #region create
  /** POST /jobs — starts a job `{"durationMs": n}`; 202 with its id and a Location to poll. */
  router.post('/jobs', (req, res) => {
    const job = createJob(jobs, req.body)
    res.status(202).location(`/jobs/${job.id}`).json(job)
  })
  // #endregion create
  // #region poll
  /**
   * GET /jobs/:id — the job's state, answered at once (ready or not).
   * (With ?wait= the long-polling router, mounted first, takes it.)
   */
  router.get('/jobs/:id', (req, res) => {
    res.set('Cache-Control', 'no-store').json(findJob(jobs, req))
  })
  // #endregion poll
  return router
}
