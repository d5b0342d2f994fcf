import type { Server as H1Server, IncomingMessage, ServerResponse } from 'node:http'
import type { Http2Server, Http2Session, ServerHttp2Stream } from 'node:http2'
import type { AddressInfo, Socket } from 'node:net'
import { createServer as createH1Server } from 'node:http'
import { createServer as createH2Server } from 'node:http2'

/** What an upstream answers: which of its TCP connections carried the request, and when it arrived. */
export interface UpstreamAnswer { connection: number, arrivedAt: number }

/**
 * Two slow servers inside the demo server's process, one speaking HTTP/1.1 and one HTTP/2
 * over cleartext TCP (h2c). `GET /slow?ms=N` answers after N ms. Every accepted TCP
 * connection gets a number when its `connection` (h1) or `session` (h2) event fires, so
 * a run can say how many connections it really used. Started on first use.
 */
export class Upstreams {
  private h1?: H1Server
  private h2?: Http2Server
  private readonly h1Ids = new WeakMap<Socket, number>()
  private readonly h2Ids = new WeakMap<Http2Session, number>()
  private readonly sockets = new Set<Socket>()
  private readonly sessions = new Set<Http2Session>()
  private readonly timers = new Set<NodeJS.Timeout>()
  /** Connections accepted so far, per protocol. */
  accepted = { h1: 0, h2: 0 }

  private answerLater(ms: number, send: (body: string) => void, connection: number, onGone: (fn: () => void) => void): void {
    const arrivedAt = performance.now()
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      send(JSON.stringify({ connection, arrivedAt } satisfies UpstreamAnswer))
    }, ms)
    this.timers.add(timer)
    onGone(() => {
      clearTimeout(timer)
      this.timers.delete(timer)
    })
  }

  private static delayOf(path: string | undefined): number {
    const ms = Number(new URL(path ?? '/', 'http://x').searchParams.get('ms') ?? 0)
    return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), 10_000) : 0
  }

  /** The HTTP/1.1 upstream's origin. */
  async http1(): Promise<string> {
    if (!this.h1) {
      const server = createH1Server((req: IncomingMessage, res: ServerResponse) => {
        this.answerLater(Upstreams.delayOf(req.url), body => res.writeHead(200, { 'Content-Type': 'application/json' }).end(body), this.h1Ids.get(req.socket) ?? 0, fn => res.once('close', fn))
      })
      server.on('connection', (socket: Socket) => {
        this.h1Ids.set(socket, ++this.accepted.h1)
        this.sockets.add(socket)
        socket.once('close', () => this.sockets.delete(socket))
      })
      this.h1 = server
      await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    }
    return `http://127.0.0.1:${(this.h1.address() as AddressInfo).port}`
  }

  /** The HTTP/2 (h2c) upstream's origin. */
  async http2(): Promise<string> {
    if (!this.h2) {
      const server = createH2Server()
      server.on('session', (session: Http2Session) => {
        session.on('error', () => {}) // a client that goes away resets its streams: not our failure
        this.h2Ids.set(session, ++this.accepted.h2)
        this.sessions.add(session)
        session.once('close', () => this.sessions.delete(session))
      })
      server.on('stream', (stream: ServerHttp2Stream, headers) => {
        stream.on('error', () => {}) // reset by a client that gave up (ERR_HTTP2_STREAM_ERROR); 'close' cleans up
        this.answerLater(Upstreams.delayOf(headers[':path']), (body) => {
          if (!stream.destroyed) {
            stream.respond({ ':status': 200, 'content-type': 'application/json' })
            stream.end(body)
          }
        }, this.h2Ids.get(stream.session!) ?? 0, fn => stream.once('close', fn))
      })
      this.h2 = server
      await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    }
    return `http://127.0.0.1:${(this.h2.address() as AddressInfo).port}`
  }

  /** Stops both servers, their connections and pending answers. */
  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
    for (const s of this.sessions) s.destroy()
    for (const s of this.sockets) s.destroy()
    const closing = [this.h1, this.h2].filter(s => s !== undefined).map(s => new Promise<void>(resolve => s.close(() => resolve())))
    this.h1 = undefined
    this.h2 = undefined
    await Promise.all(closing)
  }
}
