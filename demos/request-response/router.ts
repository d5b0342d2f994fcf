import type { Request } from 'express'
import type { DemoContext } from '../context.ts'
import type { RawBodyRequest } from '../http.ts'
import express, { Router } from 'express'
import { epochMs } from '../clock.ts'
import { createJob } from '../jobs/index.ts'

/** Request/response: what a request looks like on the wire, and what waiting for a long answer costs. */
export function requestResponseRouter(ctx: DemoContext): Router {
  const { jobs } = ctx
  const router = Router()
  // Bodies the JSON parser left alone arrive here as raw bytes, up to the same limit (413 past it).
  const rawBody = express.raw({ type: () => true, limit: ctx.config.bodyLimit })
  // #region echo
  /** ALL /echo — the request as the server received it: start line, headers, blank line, body. */
  router.all('/echo', rawBody, (req, res) => {
    const { head, body, exact } = rebuild(req)
    const headBytes = Buffer.byteLength(head)
    // Lets the deck read this request's phase timings (Resource Timing) across origins.
    const origin = res.get('Access-Control-Allow-Origin')
    if (origin)
      res.set('Timing-Allow-Origin', origin)
    if (req.accepts(['text/plain', 'application/json']) === 'application/json')
      return res.json({ head, body: body.toString('utf8'), headBytes, bodyBytes: body.length, exactBody: exact, receivedAt: epochMs() } satisfies EchoAnswer)
    res.type('text/plain').send(Buffer.concat([Buffer.from(head), body]))
  })
  // #endregion echo
  // #region blocking
  /** POST /work — runs a job `{"durationMs": n}` and answers only when it is over. */
  router.post('/work', (req, res) => {
    const job = createJob(jobs, req.body)
    const unwatch = jobs.watch(job.id, (e) => {
      if (e.event !== 'progress')
        res.json(e.data) // the answer, at last
    })
    ctx.lifecycle.hold(res)
    res.once('close', unwatch)
  })
  // #endregion blocking
  return router
}

/** What `/echo` answers with `Accept: application/json`. */
export interface EchoAnswer {
  /** Start line, headers as sent (case and order), blank line. */
  head: string
  body: string
  headBytes: number
  bodyBytes: number
  /** True when `body` holds the bytes exactly as they arrived. */
  exactBody: boolean
  /** Epoch ms. */
  receivedAt: number
}

/** Start line + raw headers (their case and order as sent) + CRLF, and the body bytes. */
function rebuild(req: Request): { head: string, body: Buffer, exact: boolean } {
  let head = `${req.method} ${req.originalUrl} HTTP/${req.httpVersion}\r\n`
  for (let i = 0; i < req.rawHeaders.length; i += 2)
    head += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`
  head += '\r\n'
  if (Buffer.isBuffer(req.body))
    return { head, body: req.body, exact: true }
  // The app-wide JSON parser read a JSON body before this route; it kept the raw bytes.
  const raw = (req as RawBodyRequest).rawBody
  return { head, body: raw ?? Buffer.alloc(0), exact: true }
}
