import type { Request, Response } from 'express'
import type { DemoContext } from '../platform/context.ts'
import type { RawBodyRequest } from '../platform/http.ts'
import express, { Router } from 'express'
import { epochMs } from '../../wire/clock.ts'
import type { JobStore } from '../jobs/index.ts'
import type { JobView } from '../../wire/jobs.ts'
import { allowTiming, HttpError } from '../platform/http.ts'
import { createJob, jobById } from '../jobs/index.ts'
import type { EchoAnswer } from '../../wire/request-response.ts'

/** Request/response: what a request looks like on the wire, and what waiting for a long answer costs. */
export function requestResponseRouter(ctx: DemoContext): Router {
  const { jobs } = ctx
  const router = Router()
  // Bodies the JSON parser left alone arrive here as raw bytes, up to the same limit (413 past it).
  const rawBody = express.raw({ type: () => true, limit: ctx.config.bodyLimit })
  // #region echo
  /** ALL /echo — the request as the server parsed it: start line, headers, blank line, body. */
  router.all('/echo', rawBody, (req, res) => {
    const { head, body } = rebuild(req)
    allowTiming(res)
    if (req.accepts(['text/plain', 'application/json']) === 'application/json')
      return res.json(echoAnswer(head, body))
    res.type('text/plain').send(Buffer.concat([Buffer.from(head), body]))
  })
  // #endregion echo
  // #region blocking
  /** POST /work — a new job `{"durationMs"}`, or `{"jobId"}`: answers when it is over. */
  router.post('/work', (req, res) => {
    const job = jobToWaitFor(jobs, req.body)
    if (job.state !== 'running')
      return res.json(job) // it was over already
    const unwatch = jobs.watch(job.id, (e) => {
      if (e.event !== 'progress')
        res.json(e.data) // the answer, at last
    })
    ctx.lifecycle.hold(res, () => shuttingDown(res, job.id, unwatch))
    res.once('close', unwatch)
  })
  // #endregion blocking
  return router
}

/**
 * Shutdown's answer to a POST /work still waiting: a 503 with Retry-After, never a 200 that would
 * pass for the result. The job stays in the journal (JOBS_DB), so after the restart `{"jobId"}` waits for it again.
 */
function shuttingDown(res: Response, jobId: string, unwatch: () => void): void {
  unwatch() // nothing more for this response, whatever the job does before the store closes
  res.status(503).set('Retry-After', '2').json({ error: `the demo server is shutting down and job ${jobId} has not ended; once it is back, POST /work {"jobId": "${jobId}"} waits for it again` })
}

/**
 * The job POST /work waits for: `{"jobId": "<id>"}` names a job that exists (404 if unknown or
 * expired) — the race waits this way for the job every other client watches; anything else is a
 * new job, validated like POST /jobs (400, 429).
 */
function jobToWaitFor(store: JobStore, body: unknown): JobView {
  const jobId = (body as { jobId?: unknown } | null)?.jobId
  if (jobId === undefined)
    return createJob(store, body)
  if (typeof jobId !== 'string')
    throw new HttpError(400, 'jobId must be a string')
  return jobById(store, jobId)
}

// #region rebuild
/** The head, rebuilt from the parsed request (Node keeps each header's case and order). */
function rebuild(req: Request): { head: string, body: Buffer } {
  let head = `${req.method} ${req.originalUrl} HTTP/${req.httpVersion}\r\n`
  for (let i = 0; i < req.rawHeaders.length; i += 2)
    head += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`
  return { head: `${head}\r\n`, body: bodyBytes(req) }
}
// #endregion rebuild

/** The body as it arrived: raw bytes from this route's parser, or the ones the app-wide JSON parser kept. */
function bodyBytes(req: Request): Buffer {
  if (Buffer.isBuffer(req.body))
    return req.body
  return (req as RawBodyRequest).rawBody ?? Buffer.alloc(0)
}

/** The JSON form of the echo: the head and body, with their sizes in bytes. */
function echoAnswer(head: string, body: Buffer): EchoAnswer {
  return { head, body: body.toString('utf8'), headBytes: Buffer.byteLength(head), bodyBytes: body.length, exactBody: true, receivedAt: epochMs() }
}
