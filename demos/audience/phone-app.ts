import type { Express, Request, RequestHandler, Response } from 'express'
import type { AudienceHub, Device } from './hub.ts'
import type { AudiencePush } from '../../wire/audience.ts'
import { readFileSync } from 'node:fs'
import express from 'express'
import { epochMs } from '../../wire/clock.ts'
import { errorHandler, HttpError, notFound } from '../platform/http.ts'
import { startSseSession } from '../platform/sse-session.ts'
import { pollAnswer, sseFrame } from './frames.ts'
import { mountPhoneVotes } from './votes-routes.ts'
import { roomVotes } from './votes.ts'

const PHONE_PAGE = readFileSync(new URL('./phone.html', import.meta.url), 'utf8')
/** How long a phone's long poll is held before an empty answer, ms. */
export const LONG_POLL_MS = 25_000
/** How often a phone's event stream gets a comment heartbeat, ms (the room's Wi-Fi may drop idle connections). */
export const PHONE_HEARTBEAT_MS = 15_000

/**
 * The app on the audience listener (the room's Wi-Fi): the phone page and its API, nothing else;
 * every demo route is a 404 here. `GET /?t=<token>` is the page (403 JSON without the token);
 * `POST /api/join` assigns a transport; then the phone hears of pushes through `GET /api/poll`
 * (short polling), `GET /api/long-poll`, `GET /api/events` (SSE) or the WebSocket `/api/ws`
 * (demos/audience/listen.ts), and tells `POST /api/report` when each arrived; it votes with
 * `GET`/`POST /api/vote` (demos/audience/votes-routes.ts).
 * Host must be this listener's address (421 otherwise: DNS rebinding); a POST must come from this
 * origin (403). Bodies are JSON of 1 kB at most.
 */
export function createAudienceApp(hub: AudienceHub, ownHost: string): Express {
  const app = express()
  const phoneStreams = new Set<Response>() // the phones' event streams: one heartbeat timer for all
  app.disable('x-powered-by')
  app.set('etag', false) // every answer here is no-store: no hash of each body
  app.set('trust proxy', false)
  app.use(ownHostAndOrigin(ownHost))
  app.use(express.json({ limit: '1kb' }))

  app.get('/', (req, res) => {
    if (req.query.t !== hub.token)
      throw new HttpError(403, 'wrong or missing join token: scan the QR code on the screen')
    res.set({ 'Cache-Control': 'no-store', 'Content-Security-Policy': "default-src 'self'; img-src data:; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'", 'Referrer-Policy': 'no-referrer' })
      .type('html').send(PHONE_PAGE)
  })

  /** POST /api/join {token, nickname?} → 201 {device, transport, serverTime, seq}. */
  app.post('/api/join', (req, res) => {
    const body = object(req.body)
    const d = hub.join(body.token, body.nickname, req.socket.remoteAddress ?? '')
    const answer = JSON.stringify({ device: d.id, transport: d.transport, nickname: d.nickname, serverTime: epochMs(), seq: hub.seq })
    hub.use(d.id, Buffer.byteLength(answer))
    res.status(201).type('json').send(answer)
  })

  /** GET /api/clock?device= → 200 {serverTime}: one sample of the server's clock (the page keeps the one with the shortest round trip). */
  app.get('/api/clock', (req, res) => {
    const d = hub.use(req.query.device)
    send(hub, d, res, Buffer.from(JSON.stringify({ serverTime: epochMs() })))
  })

  /** GET /api/poll?device=&after= → 200 {pushes} at once: short polling. */
  app.get('/api/poll', (req, res) => {
    const d = device(hub, req, 'short-poll')
    send(hub, d, res, pollAnswer(hub.since(after(req))))
  })

  /** GET /api/long-poll?device=&after= → held until a push newer than `after` (or 25 s: empty). */
  app.get('/api/long-poll', (req, res) => {
    const d = device(hub, req, 'long-poll')
    const stop = hub.wait(d, after(req), LONG_POLL_MS, pushes => !res.writableEnded && send(hub, d, res, hub.closed ? Buffer.from(JSON.stringify({ pushes, ended: hub.closed })) : pollAnswer(pushes)))
    res.on('close', stop)
  })

  /** GET /api/events?device= → an event stream: one `push` event per push, `bye` when the talk ends. */
  app.get('/api/events', phoneEvents(hub, phoneStreams))

  /** POST /api/report {device, seq, receivedAt} → 200 {ms, serverTime}: how late that push reached it (and a clock sample). */
  app.post('/api/report', (req, res) => {
    const body = object(req.body)
    const d = hub.use(body.device)
    res.json({ ms: hub.report(d, body.seq, body.receivedAt), serverTime: epochMs() })
  })

  /** POST /api/leave {device} → 204 (the page sends it when it is closed). */
  app.post('/api/leave', (req, res) => {
    const body = object(req.body)
    if (typeof body.device === 'string') {
      roomVotes(hub).leave(body.device)
      hub.leave(body.device)
    }
    res.status(204).end()
  })

  mountPhoneVotes(app, hub) // GET and POST /api/vote: the room's vote on the current demo's question

  app.use(notFound)
  app.use(errorHandler)
  return app
}

/** The SSE phones' stream: each push's frame (built once for all of them), a `bye` when the device leaves or the talk ends. `streams` share one heartbeat timer. */
function phoneEvents(hub: AudienceHub, streams: Set<Response>): RequestHandler {
  return (req, res) => {
    const d = device(hub, req, 'sse')
    const stream = startSseSession(res, { sessions: streams, heartbeatMs: PHONE_HEARTBEAT_MS, onClose: () => release() })
    const push = (p: AudiencePush) => {
      const frame = sseFrame(p)
      if (stream.sendFrame(frame))
        hub.sent(d, frame.length)
    }
    const release = hub.subscribe(d, push, () => {
      void stream.send('bye', { reason: hub.closed ?? 'You left' })
      stream.end()
    })
    for (const p of hub.since(Number(req.headers['last-event-id']) || after(req))) push(p)
  }
}

/** 421 unless Host is this listener's address (DNS rebinding); 403 for a state-changing request from another origin. */
function ownHostAndOrigin(ownHost: string): RequestHandler {
  return (req, _res, next) => {
    const host = (req.headers.host ?? '').replace(/:\d+$/, '').replace(/^\[|\]$/g, '')
    if (host !== ownHost && host !== 'localhost' && host !== '127.0.0.1')
      return next(new HttpError(421, `this is the audience server on ${ownHost}; not host ${JSON.stringify(req.headers.host ?? '')}`))
    // A state-changing request from another site's page: refused (the phone page is same-origin).
    if (req.method !== 'GET' && req.method !== 'HEAD' && req.headers.origin && !sameOrigin(req.headers.origin, req.headers.host))
      return next(new HttpError(403, `requests from ${req.headers.origin} are not allowed`))
    next()
  }
}

/** Whether an `Origin` header names this host (`null`, or anything unparsable, does not). */
export function sameOrigin(origin: string, host: string | undefined): boolean {
  try {
    return new URL(origin).host === host
  }
  catch {
    return false
  }
}

function object(body: unknown): Record<string, unknown> {
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw new HttpError(400, 'expected a JSON object')
  return body as Record<string, unknown>
}

function after(req: Request): number {
  const n = Number(req.query.after ?? 0)
  if (!Number.isInteger(n) || n < 0)
    throw new HttpError(400, 'after: a push number (0 or more)')
  return n
}

/** The device of `?device=`, counted; 409 if it was assigned another transport. */
function device(hub: AudienceHub, req: Request, transport: Device['transport']): Device {
  const d = hub.use(req.query.device)
  if (d.transport !== transport)
    throw new HttpError(409, `this device was assigned ${d.transport}, not ${transport}`)
  return d
}

/** Answers 200 with `body` (JSON bytes, often one buffer shared by every phone a push answers), counted as sent to `d`. */
function send(hub: AudienceHub, d: Device, res: Response, body: Buffer): void {
  hub.sent(d, body.length)
  res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': body.length }).end(body)
}

