import type { DemoContext } from '../platform/context.ts'
import { Router } from 'express'
import { Deployments } from './deployment.ts'
import { HttpError } from '../platform/http.ts'
import { FlakyUpstream } from './upstream.ts'
import type { OrderAnswer } from '../../wire/sidecar.ts'

/**
 * The sidecar demo: the same app process (child), started with its localhost URL pointing
 * straight at a flaky price service, or at a sidecar proxy (another child) that retries.
 */
export function sidecarRouter(ctx: DemoContext): Router {
  const router = Router()
  const upstream = new FlakyUpstream()
  const deployments = new Deployments(ctx, upstream) // the app and its sidecar as child processes: deployment.ts

  /** POST /sidecar/mode — {sidecar: boolean, failures?: 0-3} redeploys the app with or without its sidecar; counters restart. */
  router.post('/mode', async (req, res) => {
    const { sidecar, failures = upstream.failures } = (req.body ?? {}) as { sidecar?: unknown, failures?: unknown }
    if (typeof sidecar !== 'boolean')
      throw new HttpError(400, 'sidecar must be true or false')
    if (typeof failures !== 'number' || !Number.isInteger(failures) || failures < 0 || failures > 3)
      throw new HttpError(400, 'failures must be an integer from 0 to 3')
    await deployments.undeploy()
    deployments.wanted = sidecar
    upstream.failures = failures
    upstream.reset()
    res.json(await deployments.statsOf(await deployments.current()))
  })

  /**
   * POST /sidecar/order — one order through the app (`POST /order`); says what the price service saw meanwhile.
   * Answers with the app's own status (200, or 502 when the price service failed it), so `curl -i` shows it too.
   * An `Idempotency-Key` header (draft-ietf-httpapi-idempotency-key-header) is passed on: the app answers a
   * repeated key with the first order's answer instead of ordering again. 400 for a key over 255 characters.
   */
  router.post('/order', async (req, res) => {
    const key = req.get('Idempotency-Key')
    if (key !== undefined && (key.length === 0 || key.length > 255))
      throw new HttpError(400, 'Idempotency-Key must be 1-255 characters')
    const d = await deployments.current()
    const t0 = performance.now()
    const from = upstream.attempts.length
    const headers = key === undefined ? undefined : { 'Idempotency-Key': key }
    const answer = await fetch(`${d.app.url}/order`, { method: 'POST', headers, signal: AbortSignal.timeout(5000) }).catch(() => {
      throw new HttpError(503, 'the app is not answering (restarting?); try again', { 'Retry-After': '1' })
    })
    const body = await answer.json() as object
    const attempts = upstream.attempts.slice(from).map(a => ({ n: a.n, status: a.status, traceparent: a.traceparent, atMs: Math.round((a.at - t0) * 10) / 10 }))
    res.status(answer.status).json({ status: answer.status, body, sidecar: d.sidecar, attempts } satisfies OrderAnswer)
  })

  /** GET /sidecar/stats — counters from each process: app, sidecar, price service. */
  router.get('/stats', async (_req, res) => {
    res.set('Cache-Control', 'no-store').json(await deployments.statsOf(await deployments.current()))
  })
  return router
}
