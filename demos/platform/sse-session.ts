import type { Request, Response } from 'express'
import type { DemoContext } from './context.ts'
import { formatEvent } from '../../wire/sse.ts'
import { forgetRouting, HttpError } from './http.ts'

/** `retry:` sent on connect, ms: how long an EventSource waits before it reconnects. */
export const SSE_RETRY_MS = 2000

/**
 * One open Server-Sent Events response, the server's side (after better-sse's Session). The deck's
 * reader of a stream is another thing, `SseSession` in composables/sse.ts.
 */
export interface SseSession {
  /**
   * Writes one event (`data` as JSON on one line; `id` for `Last-Event-ID`). Resolves `true` once
   * it was handed to the socket (the back-pressure signal), `false` if the stream is closed and
   * the event went nowhere (then do not count it as delivered).
   */
  send: (event: string, data: unknown, id?: string | number) => Promise<boolean>
  /**
   * Writes one frame built already (`formatEvent`, wire/sse.ts, as a string or its UTF-8 bytes),
   * with no promise and no callback, handed to the socket at once: the fan-out path, where one
   * change goes to many streams and its frame is built once. Returns `false` if the stream is closed (nothing written), else `true`
   * (queued or written; the socket's own buffer takes any back-pressure).
   */
  sendFrame: (frame: string | Uint8Array) => boolean
  /** True once the client went away or the stream was ended. */
  readonly closed: boolean
  /** Ends the response (the client's EventSource will reconnect unless told otherwise). */
  end: () => void
}

/** What {@link startSseSession} needs besides the response. */
export interface SseSessionOptions {
  /** The open sessions this one joins while it is open; they share one heartbeat timer. */
  sessions: Set<Response>
  /** How often a comment heartbeat goes to every session of `sessions`, ms. */
  heartbeatMs: number
  /** Runs once on the response's `close` (every ending: `end()`, the client leaving, shutdown). */
  onClose?: () => void
}

/**
 * Turns `res` into an event stream, per the WHATWG HTML "Server-sent events" section: headers
 * (`text/event-stream`, `no-cache, no-transform`, `X-Accel-Buffering: no` so proxies do not
 * buffer), `retry:` ({@link SSE_RETRY_MS}) on connect, and a comment heartbeat every
 * `heartbeatMs` (one timer for all of `sessions`) so idle proxies keep the connection.
 * Everything it owns is released on the response's `close`, and `onClose` runs then. No cap and
 * no lifecycle: {@link openSseSession} adds those for the demo routes; the audience listener
 * (demos/audience/phone-app.ts) ends its phones' streams itself. The one writer of
 * `text/event-stream` in demos/. Modelled on better-sse's Session; production code would use such a library.
 */
export function startSseSession(res: Response, { sessions, heartbeatMs, onClose }: SseSessionOptions): SseSession {
  // #region open
  res.status(200).set({
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache, no-transform',
    'X-Accel-Buffering': 'no',
  })
  res.flushHeaders()
  res.write(`retry: ${SSE_RETRY_MS}\n\n`)
  // #endregion open
  forgetRouting(res)
  const stream = new EventStream(res)
  sessions.add(res)
  keepAlive(sessions, heartbeatMs)
  res.on('close', () => { // 'close' comes once: no once() wrapper to keep per stream
    stream.closed = true
    sessions.delete(res)
    if (sessions.size === 0)
      stopKeepAlive(sessions)
    onClose?.()
  })
  if (res.req.method === 'HEAD') // the headers are the whole answer: nothing to hold open
    res.end()
  return stream
}

/**
 * The server's side of one open stream, as {@link startSseSession} returns it. A class: its methods
 * are shared by every stream, so an open one holds one small object (an object literal of
 * closures cost each of 10,000 held streams about 0.7 KB more in a heap snapshot).
 */
/** An event's `id:` (what comes back as `Last-Event-ID`). */
type EventId = string | number

class EventStream implements SseSession {
  closed = false

  constructor(private readonly res: Response) {}

  end(): void {
    if (!this.closed && !this.res.writableEnded)
      this.res.end()
  }

  // #region send
  send(event: string, data: unknown, id?: EventId) {
    if (this.closed || this.res.writableEnded)
      return Promise.resolve(false)
    // One string per change, however many streams get it.
    const frame = frameOf(event, data, id)
    return new Promise<boolean>((resolve) => {
      this.res.write(frame, err => resolve(!err))
    })
  }
  // #endregion send

  sendFrame(frame: string | Uint8Array): boolean {
    if (this.closed || this.res.writableEnded)
      return false
    // Out now, in one write (the chunk's size line, the frame, its CRLF): a bare res.write()
    // holds the socket corked to the end of the tick, so in a loop over many streams every frame
    // would leave after the whole loop, behind the sockets and responses written next to it.
    this.res.cork()
    this.res.write(frame)
    this.res.uncork()
    return true
  }
}

/**
 * A demo route's event stream: {@link startSseSession} on the server's sessions
 * (`ctx.eventStreams`, heartbeat every `ctx.config.sseHeartbeatMs`), registered with the
 * lifecycle so shutdown ends it (with a comment: the client reconnects later).
 * Throws a 429 (Retry-After: 5) when `ctx.config.sseMaxClients` streams are open already.
 */
export function openSseSession(ctx: DemoContext, res: Response, onClose?: () => void): SseSession {
  const { sseMaxClients, sseHeartbeatMs } = ctx.config
  if (ctx.eventStreams.size >= sseMaxClients)
    throw new HttpError(429, `too many event streams open (limit ${sseMaxClients}); retry later`, { 'Retry-After': '5' })
  const session = startSseSession(res, { sessions: ctx.eventStreams, heartbeatMs: sseHeartbeatMs, onClose })
  ctx.lifecycle.hold(res, endOnShutdown)
  return session
}

/** How a held stream ends on shutdown: with a comment (the client reconnects later). One function for all of them. */
function endOnShutdown(res: Response): void {
  res.end(': server shutting down\n\n')
}

/** The heartbeat timer of each server's set of streams: one timer, not one per stream. */
const heartbeats = new WeakMap<Set<Response>, NodeJS.Timeout>()

/**
 * Writes a comment (`: heartbeat`) to every open stream of `streams` every `everyMs`, so idle
 * proxies keep the connections; one timer per server, started with its first stream and
 * stopped when the last one has gone.
 */
function keepAlive(streams: Set<Response>, everyMs: number): void {
  if (heartbeats.has(streams))
    return
  heartbeats.set(streams, setInterval(() => {
    for (const res of streams) {
      if (!res.writableEnded) // ended, its 'close' still to come
        res.write(': heartbeat\n\n')
    }
  }, everyMs))
}

function stopKeepAlive(streams: Set<Response>): void {
  clearInterval(heartbeats.get(streams))
  heartbeats.delete(streams)
}

interface Built { data: object, event: string, id?: string | number, frame: string, shared: boolean }

/** The frame built last: a change told to 10,000 streams in a row is serialized once, with no lookup. */
let last: Built | undefined
/** Frames of objects sent more than once, kept (weakly) once another frame was built after theirs. */
const built = new WeakMap<object, Built>()

/**
 * One SSE frame (`formatEvent`, wire/sse.ts). When `data` is an object, the frame is remembered for
 * it: fanning one change out to every stream costs one JSON.stringify, not one per stream. The last
 * one is kept as is; an older one only if it was sent twice (in a WeakMap), so objects sent once
 * (each pub/sub subscriber's own message) cost no WeakMap entry.
 */
export function frameOf(event: string, data: unknown, id?: string | number): string {
  if (typeof data !== 'object' || data === null)
    return formatEvent(event, data, id)
  const hit = last?.data === data ? last : built.get(data)
  if (hit && hit.event === event && hit.id === id) {
    hit.shared = true
    return hit.frame
  }
  if (last?.shared)
    built.set(last.data, last)
  last = { data, event, id, frame: formatEvent(event, data, id), shared: false }
  return last.frame
}

/**
 * The id the client last saw: the `Last-Event-ID` header (what EventSource sends on reconnect),
 * or `?lastEventId=` for manual tests; 0 when absent. 400 unless a non-negative integer.
 */
export function lastEventId(req: Request): number {
  const raw = req.get('Last-Event-ID') ?? req.query.lastEventId
  if (raw === undefined || raw === '')
    return 0
  if (typeof raw !== 'string' || !/^\d+$/.test(raw.trim()))
    throw new HttpError(400, 'Last-Event-ID must be a non-negative integer (an id: this stream sent)')
  return Number(raw)
}
