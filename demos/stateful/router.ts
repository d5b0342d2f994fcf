import type { DemoContext } from '../platform/context.ts'
import type { RunningChild } from '../platform/children.ts'
import { randomBytes } from 'node:crypto'
import { Router } from 'express'
import { startSet, superviseSet } from '../platform/children.ts'
import { HttpError } from '../platform/http.ts'

const NAMES = ['A', 'B'] as const
const USER = /^[\w.-]{1,32}$/

/** The instance went away under the request (crashed, restarting): the client may retry. */
function unavailable(name: string): never {
  throw new HttpError(503, `instance ${name} is not answering (restarting?); try again`, { 'Retry-After': '1' })
}

/**
 * Stateful vs stateless: two backend instances (child processes) behind a round-robin hop.
 * They share the token secret (as a deployment would), but not their memory.
 */
export function statefulRouter(ctx: DemoContext): Router {
  const router = Router()
  const secret = randomBytes(32).toString('hex')
  let instances: Promise<RunningChild[]> | undefined
  let turn = 0

  /** Starts both instances on first use (and after a crash or restart). */
  function backends(): Promise<RunningChild[]> {
    if (ctx.lifecycle.closing)
      throw new HttpError(503, 'demo server is shutting down')
    if (!instances) {
      const starting = startSet(NAMES.map(name => ({ entry: new URL('./backend.ts', import.meta.url), options: { name, env: { TOKEN_SECRET: secret } } })))
      instances = starting
      // One crashed or stopped: both go, and the next request starts a fresh pair.
      starting.then(list => superviseSet(list, () => {
        if (instances === starting)
          instances = undefined
      }), () => { instances = undefined })
    }
    return instances
  }
  async function stopAll(): Promise<void> {
    const list = await instances?.catch(() => [])
    instances = undefined
    await Promise.all((list ?? []).map(c => c.stop()))
  }
  ctx.lifecycle.onShutdown(stopAll)

  // #region hop
  /** The load balancer: each request goes to the next instance, whatever came before. */
  async function forward(method: string, path: string, headers: Record<string, string>, body?: unknown) {
    const list = await backends()
    const target = list[turn++ % list.length]!
    const res = await fetch(`${target.url}${path}`, {
      method, headers: { 'Content-Type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(5000),
    }).catch(() => unavailable(target.name))
    return { status: res.status, body: await res.json() as Record<string, unknown> }
  }
  // #endregion hop

  /** POST /stateful/login — {mode: "session"|"token", user?} logs in on whichever instance is next. */
  router.post('/login', async (req, res) => {
    const { mode, user = 'ada' } = (req.body ?? {}) as { mode?: unknown, user?: unknown }
    if (mode !== 'session' && mode !== 'token')
      throw new HttpError(400, 'mode must be "session" or "token"')
    if (typeof user !== 'string' || !USER.test(user))
      throw new HttpError(400, 'user must be 1-32 letters, digits, ".", "_" or "-"')
    const out = await forward('POST', '/login', {}, { mode, user })
    res.status(out.status).json(out.body)
  })

  /** GET /stateful/me — who am I? Send `Authorization: Session <id>` or `Bearer <token>`. */
  router.get('/me', async (req, res) => {
    const auth = req.headers.authorization ?? ''
    if (auth.length > 2048)
      throw new HttpError(400, 'Authorization header too long')
    const out = await forward('GET', '/me', auth ? { Authorization: auth } : {})
    res.status(out.status).json(out.body)
  })

  /** POST /stateful/restart — stops both instances and starts fresh ones (a deploy, a crash). */
  router.post('/restart', async (_req, res) => {
    const before = (await instances?.catch(() => []))?.map(c => c.pid) ?? []
    await stopAll()
    const list = await backends()
    turn = 0
    res.json({ restarted: true, before, instances: list.map(c => ({ name: c.name, pid: c.pid, port: c.port })) })
  })

  /** GET /stateful/instances — both instances: pid, port, requests served, sessions held. */
  router.get('/instances', async (_req, res) => {
    const list = await backends()
    const stats = await Promise.all(list.map(async c => ({ name: c.name, port: c.port, ...await (await fetch(`${c.url}/stats`, { signal: AbortSignal.timeout(2000) })).json() as object })))
    res.set('Cache-Control', 'no-store').json({ instances: stats })
  })
  return router
}
