import type { Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { DemoContext } from './context.ts'
import { createServer } from 'node:http'
import type { AudienceListening } from '../audience/listen.ts'
import { createApp } from '../app.ts'
import { listenAudience } from '../audience/listen.ts'
import { attachWebSocket } from '../push/server.ts'

/** A demo server that is listening. */
export interface Listening {
  server: Server
  /** `http://<host>:<port>`, with the port actually bound (useful with port 0). */
  url: string
  port: number
  /** The audience listener (audience mode on), with the join URL; undefined when it is off. */
  audience?: AudienceListening
  /**
   * Graceful stop: no new connections, every held response ended (long polls answered, streams
   * closed), every demo's shutdown hook run (channels, then the broker connection; child
   * processes), idle sockets closed, and whatever is still open after `graceMs` (default 1000)
   * destroyed. Resolves when the server has closed. Safe to call twice.
   */
  close: (graceMs?: number) => Promise<void>
}

/**
 * Builds the app for `ctx` and listens on `ctx.config.host` / `ctx.config.port` (0 = any free
 * port), with the WebSocket upgrade attached. Rejects with the listen error (EADDRINUSE, EACCES)
 * before anything else happens: the broker is not contacted until the server is listening.
 * The one place that listens: `demos/main.ts`, the tests and the bench all use it.
 */
export async function listen(ctx: DemoContext): Promise<Listening> {
  const app = createApp(ctx)
  const sockets = new Set<Socket>()
  // Only WebSocket upgrades go to the 'upgrade' handler; any other Upgrade (curl --http2 asks
  // for h2c) is ignored, as RFC 9110 §7.8 allows, and the request is answered over HTTP/1.1.
  const server = createServer({ shouldUpgradeCallback: req => req.headers.upgrade?.toLowerCase() === 'websocket' }, app)
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve)
    server.once('error', reject)
    server.listen(ctx.config.port, ctx.config.host)
  })
  attachWebSocket(server, ctx) // WebSocket upgrades never reach Express
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  const { port } = server.address() as AddressInfo
  // Audience mode: a second listener, on the room's network, for the phone page and its API only.
  const audience = ctx.audience
    ? await listenAudience(ctx.audience, ctx.config.audienceHost, ctx.config.audiencePort).catch(async (err: Error) => {
        await new Promise(resolve => server.close(resolve))
        throw err
      })
    : undefined
  let closing: Promise<void> | undefined
  return {
    server,
    port,
    audience,
    url: `http://${ctx.config.host.includes(':') ? `[${ctx.config.host}]` : ctx.config.host}:${port}`,
    close(graceMs = 1000) {
      closing ??= (async () => {
        const closed = new Promise<void>(resolve => server.close(() => resolve()))
        await audience?.close() // every phone is told the talk has ended
        await ctx.lifecycle.shutdown()
        server.closeIdleConnections()
        const timer = setTimeout(() => sockets.forEach(s => s.destroy()), graceMs)
        await closed
        clearTimeout(timer)
      })()
      return closing
    },
  }
}
