import type { DemoContext } from '../platform/context.ts'
import { Router } from 'express'
import { HttpError } from '../platform/http.ts'
import { runHttp1, runHttp2, runPooled } from './runs.ts'
import { experimentLimit, SlowRuns } from './slow.ts'
import { Upstreams } from './upstreams.ts'

const RUN_ID = /^[\w-]{1,40}$/
/** Server-side runs at once; more get a 429 (each one opens up to 10 connections). */
const MAX_RUNS = 4

function int(value: unknown, name: string, min: number, max: number, fallback: number): number {
  const n = value === undefined || value === '' ? fallback : Number(value)
  if (!Number.isInteger(n) || n < min || n > max)
    throw new HttpError(400, `${name} must be an integer from ${min} to ${max}`)
  return n
}

/** Multiplexing and pooling: slow requests from the browser, and runs the demo server makes itself. */
export function multiplexingRouter(ctx: DemoContext): Router {
  const router = Router()
  const upstreams = new Upstreams()
  ctx.lifecycle.onShutdown(() => upstreams.stop())
  const slow = new SlowRuns(ctx) // the browser's runs: slow.ts
  const experiment = experimentLimit(MAX_RUNS)

  // #region slow
  /** GET /multiplexing/slow?run=ID&ms=1000 — answers after ms; says how many of run ID's requests were in flight, on which socket. */
  router.get('/slow', (req, res) => {
    const ms = int(req.query.ms, 'ms', 100, 5000, 1000)
    const id = String(req.query.run ?? '')
    if (!RUN_ID.test(id))
      throw new HttpError(400, 'run must be 1-40 letters, digits, "_" or "-"')
    slow.answerLater(res, id, `${req.socket.remotePort}`, ms) // says how many were in flight
  })
  // #endregion slow

  /** POST /multiplexing/h2-run — {count=10, ms=1000}: the demo server sends count requests over one h2 connection. */
  router.post('/h2-run', async (req, res) => {
    const count = int(req.body?.count, 'count', 1, 50, 10)
    const ms = int(req.body?.ms, 'ms', 0, 5000, 1000)
    await experiment(res, async signal => runHttp2(await upstreams.http2(), count, ms, signal))
  })

  /** POST /multiplexing/h1-run — {count=10, ms=1000, maxSockets=6}: the same over HTTP/1.1 with a socket limit. */
  router.post('/h1-run', async (req, res) => {
    const count = int(req.body?.count, 'count', 1, 50, 10)
    const ms = int(req.body?.ms, 'ms', 0, 5000, 1000)
    const maxSockets = int(req.body?.maxSockets, 'maxSockets', 1, 50, 6)
    await experiment(res, async signal => runHttp1(await upstreams.http1(), count, ms, maxSockets, signal))
  })

  /** POST /multiplexing/pool-run — {mode: "pooled"|"fresh", count=20}: sequential requests, warm pool vs a new connection each. */
  router.post('/pool-run', async (req, res) => {
    const mode = req.body?.mode
    if (mode !== 'pooled' && mode !== 'fresh')
      throw new HttpError(400, 'mode must be "pooled" or "fresh"')
    const count = int(req.body?.count, 'count', 1, 200, 20)
    await experiment(res, async signal => ({ mode, ...await runPooled(await upstreams.http1(), count, mode === 'pooled', signal) }))
  })
  return router
}
