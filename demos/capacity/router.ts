import type { DemoContext } from '../platform/context.ts'
import type { CapacityMode } from '../../wire/capacity.ts'
import { Router } from 'express'
import { HttpError } from '../platform/http.ts'
import { checkRoom } from './limits.ts'
import { CapacityRun } from './run.ts'
import { CAPACITY_MODES, CAPACITY_SIZES } from '../../wire/capacity.ts'

/**
 * The cost of held connections: a helper process opens 1,000 or 10,000 event streams or pending
 * long polls to this server, and the run measures what holding them costs and how long one change
 * takes to reach them all. One run at a time.
 */
export function capacityRouter(ctx: DemoContext): Router {
  const router = Router()
  let current: CapacityRun | undefined
  ctx.lifecycle.onShutdown(async () => {
    current?.stop(new HttpError(503, 'the demo server is shutting down'))
    await current?.result.catch(() => {})
  })

  // #region run
  /** POST /capacity/runs — {"mode": "sse"|"long-poll", "connections": 1000|10000}: answers with the run's numbers when it is over. */
  router.post('/runs', async (req, res) => {
    const { mode, connections } = parseRun(req.body)
    if (current)
      throw new HttpError(409, `a run of ${current.connections} ${current.mode === 'sse' ? 'event streams' : 'long polls'} is in progress (${current.progress().elapsedMs} ms in): one run at a time`, { 'Retry-After': '5' })
    checkRoom(ctx, mode, connections) // 503 past SSE_MAX_CLIENTS or the open-file limit
    const run = new CapacityRun(ctx, { host: loopback(ctx.config.host), port: req.socket.localPort! }, mode, connections)
    current = run
    res.once('close', () => run.stop(new Error('the client went away'))) // no one to tell: stop the helper
    try {
      res.json(await run.result)
    }
    finally {
      current = undefined // settled only once the helper is gone and the connections released
    }
  })
  // #endregion run

  /** GET /capacity/runs/current — the run in progress (phase, opened, held, elapsedMs), or {"running": false}. */
  router.get('/runs/current', (_req, res) => {
    res.set('Cache-Control', 'no-store').json(current?.progress() ?? { running: false })
  })
  return router
}

/** `{"mode", "connections"}` of a run, or a 400 naming what is wrong. */
function parseRun(body: unknown): { mode: CapacityMode, connections: number } {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new HttpError(400, 'expected a JSON object like {"mode": "sse", "connections": 1000} (Content-Type: application/json)')
  const { mode, connections } = body as Record<string, unknown>
  if (!CAPACITY_MODES.includes(mode as CapacityMode))
    throw new HttpError(400, `mode must be ${CAPACITY_MODES.map(m => `"${m}"`).join(' or ')}`)
  if (!CAPACITY_SIZES.includes(connections as typeof CAPACITY_SIZES[number]))
    throw new HttpError(400, `connections must be ${CAPACITY_SIZES.join(' or ')}`)
  return { mode: mode as CapacityMode, connections: connections as number }
}

/** The loopback address on which the helper reaches a server bound to `host`; a 503 when it is bound elsewhere. */
function loopback(host: string): string {
  if (host === '::' || host === '::1')
    return '::1'
  if (host === '0.0.0.0' || host === 'localhost' || host.startsWith('127.'))
    return host.startsWith('127.') ? host : '127.0.0.1'
  throw new HttpError(503, `the capacity demo's clients connect on loopback only, and this demo server listens on ${host} (HOST): start it with HOST=127.0.0.1`)
}
