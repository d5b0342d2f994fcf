import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express'
import type { IncomingMessage } from 'node:http'
import { STATUS_CODES } from 'node:http'

/** A request whose JSON body was parsed; `rawBody` holds the bytes as they arrived (see app.ts). */
export interface RawBodyRequest extends IncomingMessage { rawBody?: Buffer }

/** An error with an HTTP status; the error handler turns it into `{ "error": message }`. */
export class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly headers: Record<string, string> = {}) {
    super(message)
  }
}

/**
 * CORS for an allow-list of origins. A request from another origin gets no CORS headers
 * (the browser then refuses it); a preflight from one gets a 403. Requests without an
 * Origin header (curl, server-to-server) are not CORS requests and pass untouched.
 */
export function cors(allowedOrigins: readonly string[]): RequestHandler {
  const allowed = new Set(allowedOrigins)
  return (req, res, next) => {
    const origin = req.headers.origin
    res.vary('Origin')
    if (!origin)
      return next()
    if (!allowed.has(origin)) {
      if (req.method === 'OPTIONS')
        return next(new HttpError(403, `origin ${origin} is not allowed; add it to DECK_ORIGINS`))
      return next()
    }
    res.setHeader('Access-Control-Allow-Origin', origin)
    // Let the deck read what the slides show: handles, timings, sizes.
    res.setHeader('Access-Control-Expose-Headers', 'Location, Server-Timing, Content-Length, X-Request-Bytes, Retry-After')
    if (req.method === 'OPTIONS') {
      res.setHeader('Access-Control-Allow-Methods', 'GET, POST, PUT, PATCH, DELETE, OPTIONS')
      res.setHeader('Access-Control-Allow-Headers', req.headers['access-control-request-headers'] ?? 'Content-Type')
      res.setHeader('Access-Control-Max-Age', '600')
      return res.status(204).end()
    }
    next()
  }
}

/**
 * Lets the deck read this request's phase timings across origins (W3C Resource Timing:
 * `requestStart`, `responseStart`, `transferSize` are 0 without it): `Timing-Allow-Origin` for the
 * origin CORS already allowed, nothing otherwise. Production sends it only where it wants timings read.
 */
export function allowTiming(res: Response): void {
  const origin = res.get('Access-Control-Allow-Origin')
  if (origin)
    res.set('Timing-Allow-Origin', origin)
}

/** Methods that change nothing (RFC 9110 §9.2.1); every other one is state-changing. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/**
 * Refuses a state-changing request (POST, PUT, PATCH, DELETE) that a page on another origin
 * sent: CORS only hides the answer from that page, the request itself would still run. 403 JSON
 * before any handler when `Origin` is not on the allow-list, or when a browser says the request
 * is cross-site (`Sec-Fetch-Site`) without an `Origin`. Requests without either (curl, other
 * servers) pass: they are not sent by a page.
 */
export function refuseForeignOrigins(allowedOrigins: readonly string[]): RequestHandler {
  const allowed = new Set(allowedOrigins)
  return (req, _res, next) => {
    if (SAFE_METHODS.has(req.method))
      return next()
    const origin = req.headers.origin
    const site = req.headers['sec-fetch-site']
    if (origin ? !allowed.has(origin) : site === 'cross-site' || site === 'same-site')
      return next(new HttpError(403, `${req.method} from ${origin ?? `a ${site} page`} is not allowed: only the deck's origins (DECK_ORIGINS) may change things`))
    next()
  }
}

/**
 * Whether a `Host` header names this server: localhost, 127.0.0.1, [::1], or the interface it
 * was bound to (any port). Anything else is a name someone pointed at us (DNS rebinding: a page on
 * evil.example whose name now resolves to 127.0.0.1).
 */
export function isOwnHost(host: string | undefined, boundHost: string): boolean {
  if (!host)
    return false
  let name: string
  try {
    name = new URL(`http://${host}`).hostname.replace(/^\[|\]$/g, '')
  }
  catch {
    return false
  }
  return name === 'localhost' || name === '127.0.0.1' || name === '::1' || name === boundHost.replace(/^\[|\]$/g, '')
}

/** Host headers remembered by {@link refuseForeignHosts}: a client sends the same one every time. */
const HOSTS_REMEMBERED = 64

/**
 * 421 Misdirected Request (RFC 9110 §15.5.20) for a `Host` that is not this server's: see {@link isOwnHost}.
 * The verdicts on the last {@link HOSTS_REMEMBERED} distinct headers are kept, so a request does not pay
 * for a URL parse (a tenth of a trivial route's CPU).
 */
export function refuseForeignHosts(boundHost: string): RequestHandler {
  const verdicts = new Map<string, boolean>()
  return (req, _res, next) => {
    const host = req.headers.host ?? ''
    let own = verdicts.get(host)
    if (own === undefined) {
      if (verdicts.size >= HOSTS_REMEMBERED)
        verdicts.clear()
      verdicts.set(host, own = isOwnHost(host, boundHost))
    }
    if (!own)
      return next(new HttpError(421, `this is the demo server on ${boundHost}; it does not answer for host ${JSON.stringify(host)}`))
    next()
  }
}

/** What a held request's `params` becomes: its route has read them already. */
const NO_PARAMS: Record<string, string> = Object.freeze({}) as Record<string, string>

/**
 * For a response the route holds open (an event stream, a long poll), once the route has read the
 * request: drops what Express left on it for the next handler and for routing, which nobody uses
 * once the response is held. `req.next` (its closures keep every router's per-request state:
 * 1.5 KB of the 11 KB a held stream took in a heap snapshot of 2,000), `req.params`, the
 * `req._parsedUrl` cache (parseurl parses again if anyone asks) and the empty `res.locals`.
 * Errors of an async handler still reach Express: its router keeps its own reference to `next`
 * while the handler's promise is pending.
 */
export function forgetRouting(res: Response): void {
  const req = res.req as Request & { next?: unknown, _parsedUrl?: unknown }
  req.next = undefined
  req.params = NO_PARAMS
  req._parsedUrl = undefined
  ;(res as { locals?: unknown }).locals = undefined
}

/** 404 for any route no demo handles. */
export const notFound: RequestHandler = (req, _res, next) => {
  next(new HttpError(404, `no route for ${req.method} ${req.path}`))
}

/** What body-parser and Express's router attach to the errors they throw (http-errors). */
interface ClientError { type?: string, status?: number, statusCode?: number, limit?: number, expose?: boolean, message: string }

/** Every error leaves as JSON with a 4xx/5xx status and a message, never a stack trace. */
export const errorHandler: ErrorRequestHandler = (err: unknown, req, res, _next) => {
  let status = 500
  let message = 'internal error'
  let headers: Record<string, string> = {}
  if (err instanceof HttpError) {
    ({ status, message, headers } = err)
  }
  else if (typeof err === 'object' && err) {
    // A 4xx someone else decided (body-parser, the router's path decoding): the client's mistake.
    const e = err as ClientError
    const code = e.status ?? e.statusCode
    if (e.type === 'entity.too.large') {
      status = 413
      message = `request body too large (limit ${e.limit} bytes)`
    }
    else if (e.type === 'entity.parse.failed') {
      status = 400
      message = `malformed JSON body: ${e.message}`
    }
    else if (code && code >= 400 && code < 500) {
      status = code
      message = e.expose === false ? (STATUS_CODES[code] ?? 'bad request') : e.message
    }
  }
  const clientGone = res.writableEnded || res.destroyed || req.socket.destroyed
  if (err instanceof HttpError || clientGone) {
    // Expected: a refusal the server chose (503 broker down, 429 full), or a client that left.
    if (status >= 500)
      console.warn(`[demos] ${req.method} ${req.originalUrl} -> ${clientGone ? 'client gone' : status}: ${err instanceof Error ? err.message : String(err)}`)
  }
  else if (status >= 500) {
    console.error(`[demos] ${req.method} ${req.originalUrl} failed:`, err) // a bug: keep the stack
  }
  if (res.headersSent) {
    // A stream already started: the only honest thing left is to end it.
    res.end()
    return
  }
  res.status(status).set(headers).json({ error: message })
}

/**
 * A route's other methods: 405 Method Not Allowed with an `Allow` header naming the ones it has
 * (RFC 9110 §15.5.6), instead of a 404 that says the resource is not there. Mount it with
 * `router.all(path, …)` after the path's own methods.
 */
export function methodNotAllowed(...allowed: string[]): RequestHandler {
  const allow = allowed.join(', ')
  return (req) => {
    throw new HttpError(405, `${req.method} is not allowed here: ${allow}`, { Allow: allow })
  }
}
