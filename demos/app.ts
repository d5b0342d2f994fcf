import type { Express } from 'express'
import type { HttpListening } from './platform/listen.ts'
import type { AudienceListening } from './audience/listen.ts'
import type { DemoContext } from './platform/context.ts'
import type { RawBodyRequest } from './platform/http.ts'
import express from 'express'
import { BLOCKED_CAUSE } from './platform/broker.ts'
import { redactUrl } from './platform/config.ts'
import { cors, errorHandler, notFound, refuseForeignHosts, refuseForeignOrigins } from './platform/http.ts'
import { pingRouter } from './ping/router.ts'
import { multiplexingRouter } from './multiplexing/router.ts'
import { statefulRouter } from './stateful/router.ts'
import { sidecarRouter } from './sidecar/router.ts'
import { pubsubRouter } from './pubsub/router.ts'
import { workQueueRouter } from './work-queue/router.ts'
import { brokerViewRouter } from './broker-view/router.ts'
import { syncAsyncRouter } from './sync-async/router.ts'
import { pushRouter } from './push/router.ts'
import { attachWebSocket } from './push/server.ts'
import { webhooksRouter } from './webhooks/router.ts'
import { jobsRouter } from './jobs/router.ts'
import { requestResponseRouter } from './request-response/router.ts'
import { sseRouter } from './sse/router.ts'
import { capacityRouter } from './capacity/router.ts'
import { audienceRouter } from './audience/router.ts'
import { listenAudience } from './audience/listen.ts'
import { audienceHub } from './audience/state.ts'
import { listenHttp } from './platform/listen.ts'
import type { Health } from '../wire/health.ts'

/*
 * The composition root: the one file that knows every chapter. The platform (demos/platform/,
 * demos/jobs/) imports no chapter; each chapter imports the platform, creates its own state in its
 * router factory and registers its shutdown there. Chapters reach state they share through an
 * accessor of the owning chapter (pushHub, audienceHub, pubsubSubscribers: chapterState in
 * demos/platform/context.ts), so every import points one way: app -> chapter -> platform -> wire.
 */

/** Builds the demo app without listening; `listen()` below listens, tests mount it on port 0. */
export function createApp(ctx: DemoContext): Express {
  const audience = audienceHub(ctx)
  const app = express()
  app.disable('x-powered-by')
  app.set('trust proxy', false)
  // No ETag: no demo asks for a conditional GET, and Express would hash every body for one (a tenth
  // of POST /pubsub/publish's CPU in its profile: bench/rabbitmq.ts).
  app.set('etag', false)
  app.use(refuseForeignHosts(ctx.config.host)) // 421 before anything else: no DNS rebinding
  app.use(cors(ctx.config.allowedOrigins))
  app.use(refuseForeignOrigins(ctx.config.allowedOrigins)) // 403 before any state-changing handler
  // Keep the bytes as received too: /echo shows a request exactly as it crossed the wire.
  // strict: false, so `null` or `"x"` reach the route and get its "expected a JSON object" (not "malformed JSON").
  app.use(express.json({ limit: ctx.config.bodyLimit, strict: false, verify: (req, _res, buf) => {
    (req as RawBodyRequest).rawBody = buf
  } }))

  /** GET /health — is the demo server up, is the broker reachable, how much is held open. */
  app.get('/health', (_req, res) => {
    const up = ctx.broker.state === 'up'
    const blocked = up ? ctx.broker.blockedReason : undefined
    res.set('Cache-Control', 'no-store').json({
      status: 'ok',
      uptimeMs: Math.round(process.uptime() * 1000),
      broker: blocked !== undefined ? 'blocked' : up ? 'up' : 'down',
      ...(blocked !== undefined ? { brokerReason: `${BLOCKED_CAUSE} (${blocked})` } : {}),
      amqpUrl: redactUrl(ctx.config.amqpUrl),
      openConnections: ctx.lifecycle.openCount,
      audience: audience ? { on: true, devices: audience.devices.size, joinUrl: audience.joinUrl } : { on: false },
      jobsDb: ctx.jobs.journalState,
    } satisfies Health)
  })

  // Demo routers, one per pattern (each folder is readable on a slide).
  app.use('/ping', pingRouter())
  // -- routers: request/response, polling, SSE (their root routers are mounted last, below) --
  app.use('/capacity', capacityRouter(ctx)) // holds 1,000 or 10,000 event streams or long polls from a helper process it starts
  // -- routers: RabbitMQ --
  app.use('/pubsub', pubsubRouter(ctx))
  app.use('/work-queue', workQueueRouter(ctx))
  app.use('/broker', brokerViewRouter(ctx))
  // -- routers: sync/async, push, multiplexing, state, sidecar --
  app.use('/multiplexing', multiplexingRouter(ctx))
  app.use('/stateful', statefulRouter(ctx)) // spawns two backend instances on first use
  app.use('/sidecar', sidecarRouter(ctx)) // spawns the app and its sidecar on first use
  app.use('/sync-async', syncAsyncRouter(ctx))
  app.use('/push', pushRouter(ctx)) // its WebSocket endpoint is attached to the server by listen() below
  app.use('/webhooks', webhooksRouter(ctx)) // sender and receiver on this server, over real loopback HTTP
  app.use('/audience', audienceRouter(ctx)) // the presenter's side; the phones talk to demos/audience/listen.ts
  // At the root, after every router under a prefix (a request passes through each root router it
  // meets, and skips a prefix that is not its own at once): /jobs (the job API: GET /jobs/:id is short
  // polling, with ?wait= long polling), /jobs/:id/events (SSE), /echo, /work. No path of theirs
  // starts with another router's prefix.
  app.use(jobsRouter(ctx))
  app.use(requestResponseRouter(ctx))
  app.use(sseRouter(ctx))

  app.use(notFound)
  app.use(errorHandler)
  return app
}

/** A demo server that is listening. */
export interface Listening extends HttpListening {
  /** The audience listener (audience mode on), with the join URL; undefined when it is off. */
  audience?: AudienceListening
}

/**
 * Builds the app for `ctx` and listens (`listenHttp`: `ctx.config.host` / `ctx.config.port`, 0 =
 * any free port), with the push chapter's WebSocket upgrade attached and, in audience mode, the
 * phones' listener on `audienceHost:audiencePort` (closed first on shutdown: every phone is told
 * the talk has ended). Rejects with either listen error (EADDRINUSE, EACCES, EADDRNOTAVAIL).
 * The one place that listens: `demos/main.ts`, the tests and the bench all use it.
 */
export async function listen(ctx: DemoContext): Promise<Listening> {
  let audience: AudienceListening | undefined
  const http = await listenHttp(ctx, createApp(ctx), async (server) => {
    attachWebSocket(server, ctx) // WebSocket upgrades never reach Express
    const hub = audienceHub(ctx)
    if (hub) // a second listener, on the room's network, for the phone page and its API only
      audience = await listenAudience(hub, ctx.config.audienceHost, ctx.config.audiencePort)
    return async () => await audience?.close()
  })
  return { ...http, audience }
}
