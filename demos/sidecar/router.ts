import type { DemoContext } from '../platform/context.ts'
import type { RunningChild } from '../platform/children.ts'
import { Router } from 'express'
import { startChild, superviseSet } from '../platform/children.ts'
import { HttpError } from '../platform/http.ts'
import { FlakyUpstream } from './upstream.ts'
import type { OrderAnswer, SidecarStats } from '../../wire/sidecar.ts'

interface Deployment { sidecar: boolean, app: RunningChild, proxy?: RunningChild }

/**
 * The sidecar demo: the same app process (child), started with its localhost URL pointing
 * straight at a flaky price service, or at a sidecar proxy (another child) that retries.
 */
export function sidecarRouter(ctx: DemoContext): Router {
  const router = Router()
  const upstream = new FlakyUpstream()
  let deployment: Promise<Deployment> | undefined
  let wanted = false

  // #region deploy
  /** Like a mesh injecting its proxy: the app is restarted, its code stays the same. */
  async function deploy(sidecar: boolean): Promise<Deployment> {
    const priceService = await upstream.start()
    const sidecarFile = new URL('./sidecar.ts', import.meta.url)
    const appFile = new URL('./app.ts', import.meta.url)
    const proxy = sidecar ? await startChild(sidecarFile, { name: 'sidecar', env: { TARGET_URL: priceService } }) : undefined
    const app = await startChild(appFile, { name: 'app', env: { UPSTREAM_URL: proxy?.url ?? priceService } })
      .catch(async (err: unknown) => { await proxy?.stop(); throw err }) // no app: stop its sidecar too
    return { sidecar, app, proxy }
  }
  // #endregion deploy

  async function undeploy(): Promise<void> {
    const d = await deployment?.catch(() => undefined)
    deployment = undefined
    await Promise.all([d?.app.stop(), d?.proxy?.stop()])
  }
  function current(): Promise<Deployment> {
    if (ctx.lifecycle.closing)
      throw new HttpError(503, 'demo server is shutting down')
    if (!deployment) {
      const starting = deploy(wanted)
      deployment = starting
      // A child died: its partner goes too, and the next request redeploys both.
      starting.then(d => superviseSet(d.proxy ? [d.app, d.proxy] : [d.app], () => {
        if (deployment === starting)
          deployment = undefined
      }), () => { deployment = undefined })
    }
    return deployment
  }
  ctx.lifecycle.onShutdown(async () => {
    await undeploy()
    await upstream.stop()
  })

  async function statsOf(d: Deployment): Promise<SidecarStats> {
    const get = async <T>(url: string) => (await fetch(url, { signal: AbortSignal.timeout(2000) })).json() as Promise<T>
    return {
      sidecar: d.sidecar,
      app: await get<SidecarStats['app']>(`${d.app.url}/stats`),
      proxy: d.proxy ? await get<NonNullable<SidecarStats['proxy']>>(`${d.proxy.url}/__sidecar/stats`) : null,
      upstream: {
        failures: upstream.failures,
        attempts: upstream.attempts.length,
        failed: upstream.attempts.filter(a => a.status >= 500).length,
        traced: upstream.attempts.filter(a => a.traceparent).length,
      },
    }
  }

  /** POST /sidecar/mode — {sidecar: boolean, failures?: 0-3} redeploys the app with or without its sidecar; counters restart. */
  router.post('/mode', async (req, res) => {
    const { sidecar, failures = upstream.failures } = (req.body ?? {}) as { sidecar?: unknown, failures?: unknown }
    if (typeof sidecar !== 'boolean')
      throw new HttpError(400, 'sidecar must be true or false')
    if (typeof failures !== 'number' || !Number.isInteger(failures) || failures < 0 || failures > 3)
      throw new HttpError(400, 'failures must be an integer from 0 to 3')
    await undeploy()
    wanted = sidecar
    upstream.failures = failures
    upstream.reset()
    res.json(await statsOf(await current()))
  })

  /** GET /sidecar/order — one order through the app; says what the price service saw meanwhile. */
  router.get('/order', async (_req, res) => {
    const d = await current()
    const t0 = performance.now()
    const from = upstream.attempts.length
    const answer = await fetch(`${d.app.url}/order`, { signal: AbortSignal.timeout(5000) }).catch(() => {
      throw new HttpError(503, 'the app is not answering (restarting?); try again', { 'Retry-After': '1' })
    })
    const body = await answer.json() as object
    const attempts = upstream.attempts.slice(from).map(a => ({ n: a.n, status: a.status, traceparent: a.traceparent, atMs: Math.round((a.at - t0) * 10) / 10 }))
    res.json({ status: answer.status, body, sidecar: d.sidecar, attempts } satisfies OrderAnswer)
  })

  /** GET /sidecar/stats — counters from each process: app, sidecar, price service. */
  router.get('/stats', async (_req, res) => {
    res.set('Cache-Control', 'no-store').json(await statsOf(await current()))
  })
  return router
}
