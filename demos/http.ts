import type { ErrorRequestHandler, RequestHandler } from 'express'
import type { IncomingMessage } from 'node:http'

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

/** 404 for any route no demo handles. */
export const notFound: RequestHandler = (req, _res, next) => {
  next(new HttpError(404, `no route for ${req.method} ${req.path}`))
}

interface BodyParserError { type?: string, status?: number, limit?: number, message: string }

/** Every error leaves as JSON with a 4xx/5xx status and a message, never a stack trace. */
export const errorHandler: ErrorRequestHandler = (err: unknown, req, res, _next) => {
  let status = 500
  let message = 'internal error'
  let headers: Record<string, string> = {}
  if (err instanceof HttpError) {
    ({ status, message, headers } = err)
  }
  else if (typeof err === 'object' && err && 'type' in err) {
    const e = err as BodyParserError
    if (e.type === 'entity.too.large') {
      status = 413
      message = `request body too large (limit ${e.limit} bytes)`
    }
    else if (e.type === 'entity.parse.failed') {
      status = 400
      message = `malformed JSON body: ${e.message}`
    }
    else if (e.status && e.status >= 400 && e.status < 500) {
      status = e.status
      message = e.message
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
