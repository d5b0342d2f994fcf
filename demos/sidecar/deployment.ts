import type { DemoContext } from '../platform/context.ts'
import type { RunningChild } from '../platform/children.ts'
import type { FlakyUpstream } from './upstream.ts'
import type { SidecarStats } from '../../wire/sidecar.ts'
import { startChild, superviseSet } from '../platform/children.ts'
import { HttpError } from '../platform/http.ts'

/** The app process, and its sidecar when it has one. */
export interface Deployment { sidecar: boolean, app: RunningChild, proxy?: RunningChild }

// #region deploy
/** Like a mesh injecting its proxy: the app is restarted, its code stays the same. */
async function deploy(upstream: FlakyUpstream, sidecar: boolean): Promise<Deployment> {
  const priceService = await upstream.start()
  const sidecarFile = new URL('./sidecar.ts', import.meta.url)
  const appFile = new URL('./app.ts', import.meta.url)
  const proxy = sidecar ? await startChild(sidecarFile, { name: 'sidecar', env: { TARGET_URL: priceService } }) : undefined
  const app = await startChild(appFile, { name: 'app', env: { UPSTREAM_URL: proxy?.url ?? priceService } })
    .catch(async (err: unknown) => { await proxy?.stop(); throw err }) // no app: stop its sidecar too
  return { sidecar, app, proxy }
}
// #endregion deploy

/**
 * The sidecar demo's processes: deployed on first use (`current()`), with or without the sidecar
 * (`wanted`), redeployed after a child died; shutdown (registered here) stops them and the price service.
 */
export class Deployments {
  /** Whether the next deployment has a sidecar. */
  wanted = false
  private deployment: Promise<Deployment> | undefined

  constructor(private readonly ctx: DemoContext, readonly upstream: FlakyUpstream) {
    ctx.lifecycle.onShutdown(async () => {
      await this.undeploy()
      await upstream.stop()
    })
  }

  /** Stops the app and its sidecar (if they run); the next `current()` deploys again. */
  async undeploy(): Promise<void> {
    const d = await this.deployment?.catch(() => undefined)
    this.deployment = undefined
    await Promise.all([d?.app.stop(), d?.proxy?.stop()])
  }

  /** The running deployment, started if there is none (503 once shutting down). */
  current(): Promise<Deployment> {
    if (this.ctx.lifecycle.closing)
      throw new HttpError(503, 'demo server is shutting down')
    if (!this.deployment) {
      const starting = deploy(this.upstream, this.wanted)
      this.deployment = starting
      // A child died: its partner goes too, and the next request redeploys both.
      starting.then(d => superviseSet(d.proxy ? [d.app, d.proxy] : [d.app], () => {
        if (this.deployment === starting)
          this.deployment = undefined
      }), () => { this.deployment = undefined })
    }
    return this.deployment
  }

  /** Counters from each process of `d`: app, sidecar, price service (2 s per request). */
  async statsOf(d: Deployment): Promise<SidecarStats> {
    const get = async <T>(url: string) => (await fetch(url, { signal: AbortSignal.timeout(2000) })).json() as Promise<T>
    const { upstream } = this
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
}
