import type { Response } from 'express'
import type { DemoContext } from '../platform/context.ts'
import { Router } from 'express'
import { HttpError } from '../platform/http.ts'
import { runHttp1, runHttp2, runPooled } from './runs.ts'
import { Upstreams } from './upstreams.ts'
import type { SlowAnswer } from '../../wire/multiplexing.ts'

/** What the server saw of one browser run: how many of its requests were in flight at once, on which sockets. */
interface BrowserRun { t0: number, inFlight: number, maxInFlight: number, sockets: Map<string, number> }

const RUN_ID = /^[\w-]{1,40}$/
/** Server-side runs at once; more get a 429 (each one opens up to 10 connections). */
const MAX_RUNS = 4

function int(value: unknown, name: string, min: number, max: number, fallback: number): number {
  const n = value === undefined || value === '' ? fallback : Number(value)
  if (!Number.isInteger(n) || n < min || n > max)
    throw new HttpError(400, `${name} must be an integer from ${min} to ${max}`)
  return n
}

/** Aborted when the client goes away before the run is over. */
function abortOnClose(res: Response): AbortSignal {
  const controller = new AbortController()
  res.once('close', () => controller.abort())
  return controller.signal
}

/** Multiplexing and pooling: slow requests from the browser, and runs the demo server makes itself. */
export function multiplexingRouter(ctx: DemoContext): Router {
  const router = Router()
  const upstreams = new Upstreams()
  const runs = new Map<string, BrowserRun>()
  const timers = new Set<NodeJS.Timeout>()
  let running = 0
  ctx.lifecycle.onShutdown(async () => {
    for (const t of timers) clearTimeout(t)
    await upstreams.stop()
  })

  // #region slow
  /** GET /multiplexing/slow?run=ID&ms=1000 — answers after ms; says how many of run ID's requests were in flight, on which socket. */
  router.get('/slow', (req, res) => {
    const ms = int(req.query.ms, 'ms', 100, 5000, 1000)
    const id = String(req.query.run ?? '')
    if (!RUN_ID.test(id))
      throw new HttpError(400, 'run must be 1-40 letters, digits, "_" or "-"')
    const run = runs.get(id) ?? { t0: performance.now(), inFlight: 0, maxInFlight: 0, sockets: new Map() }
    runs.delete(id)
    runs.set(id, run) // newest last; keep the 50 newest runs
    if (runs.size > 50)
      runs.delete(runs.keys().next().value!)
    const socket = `${req.socket.remotePort}`
    if (!run.sockets.has(socket))
      run.sockets.set(socket, run.sockets.size + 1)
    const arrivedMs = performance.now() - run.t0
    const inFlightAtArrival = ++run.inFlight
    run.maxInFlight = Math.max(run.maxInFlight, run.inFlight)
    const timer = setTimeout(() => res.json({
      run: id, arrivedMs, answeredMs: performance.now() - run.t0, inFlightAtArrival, maxInFlight: run.maxInFlight,
      connection: run.sockets.get(socket)!, connections: run.sockets.size,
    } satisfies SlowAnswer), ms)
    timers.add(timer)
    res.once('close', () => { // answered or abandoned: either way it no longer counts
      clearTimeout(timer)
      timers.delete(timer)
      run.inFlight--
    })
  })
  // #endregion slow

  /** Runs one server-side experiment, at most MAX_RUNS at once. */
  async function experiment<T>(res: Response, work: (signal: AbortSignal) => Promise<T>): Promise<void> {
    if (running >= MAX_RUNS)
      throw new HttpError(429, `at most ${MAX_RUNS} runs at once; try again in a moment`, { 'Retry-After': '1' })
    running++
    try {
      const out = await work(abortOnClose(res))
      if (!res.headersSent)
        res.json(out)
    }
    finally {
      running--
    }
  }

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
