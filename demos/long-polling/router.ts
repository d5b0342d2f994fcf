import type { DemoContext } from '../platform/context.ts'
import { Router } from 'express'
import { HttpError } from '../platform/http.ts'
import { findJob } from '../jobs/index.ts'
import { holdResponse } from '../jobs/long-poll.ts'

/** Long polling: the same `GET /jobs/:id`, but with `?wait=` the server holds it until something changes. */
export function longPollingRouter(ctx: DemoContext): Router {
  const { jobs } = ctx
  const router = Router()
  /** GET /jobs/:id?wait=<s>[&since=<version>] — held until the job changes or `wait` seconds pass. */
  router.get('/jobs/:id', (req, res, next) => {
    if (req.query.wait === undefined)
      return next() // no wait: a plain short poll
    const waitS = seconds(req.query.wait, jobs.options.maxWaitS)
    const since = version(req.query.since)
    const job = findJob(jobs, req)
    res.set('Cache-Control', 'no-store')
    // Nothing to wait for: it already ended, or the client is behind.
    if (job.state !== 'running' || (since !== undefined && job.version > since) || waitS === 0)
      return res.json(job)
    // #region hold
    const latest = () => jobs.get(job.id) ?? job
    const answer = holdResponse(ctx, res, latest, release) // answers once
    // Wake up on the event: the store calls us when the job changes...
    const unwatch = jobs.watch(job.id, e => answer(e.data, 'changed'))
    // ...or when the wait is over, whichever comes first.
    const timer = setTimeout(() => answer(latest(), 'timeout'), waitS * 1000)
    function release() { // answered, or the client left
      clearTimeout(timer)
      unwatch()
    }
    // #endregion hold
  })
  return router
}

/** `wait` in seconds, 0..max; anything else is a 400. */
function seconds(raw: unknown, max: number): number {
  const n = typeof raw === 'string' && /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : Number.NaN
  if (!(n >= 0 && n <= max))
    throw new HttpError(400, `wait must be a number of seconds between 0 and ${max}`)
  return n
}

function version(raw: unknown): number | undefined {
  if (raw === undefined)
    return undefined
  if (typeof raw !== 'string' || !/^\d+$/.test(raw))
    throw new HttpError(400, 'since must be a job version (a non-negative integer)')
  return Number(raw)
}
