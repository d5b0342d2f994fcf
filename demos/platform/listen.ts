import type { RequestListener, Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { DemoContext } from './context.ts'
import { createServer } from 'node:http'

/** An HTTP server that is listening. */
export interface HttpListening {
  server: Server
  /** `http://<host>:<port>`, with the port actually bound (useful with port 0). */
  url: string
  port: number
  /**
   * Graceful stop: no new connections, what `attach` returned run (a second listener closed),
   * every held response ended (long polls answered, streams closed), every shutdown hook run
   * (channels, then the broker connection; child processes), idle sockets closed, and whatever is
   * still open after `graceMs` (default 1000) destroyed. Resolves when the server has closed. Safe to call twice.
   */
  close: (graceMs?: number) => Promise<void>
}

/**
 * What the composition root adds once the server listens (WebSocket upgrade handlers, a second
 * listener); resolves with what to close first on shutdown, or nothing. A rejection closes the server.
 */
export type Attach = (server: Server) => Promise<(() => Promise<void>) | void>

/**
 * Serves `app` on `ctx.config.host` / `ctx.config.port` (0 = any free port), then runs `attach`.
 * Rejects with the listen error (EADDRINUSE, EACCES) before anything else happens: the broker is
 * not contacted until the server is listening. Knows no chapter: demos/app.ts says what to attach.
 */
export async function listenHttp(ctx: DemoContext, app: RequestListener, attach: Attach = async () => {}): Promise<HttpListening> {
  const sockets = new Set<Socket>()
  // Only WebSocket upgrades go to the 'upgrade' handler; any other Upgrade (curl --http2 asks
  // for h2c) is ignored, as RFC 9110 §7.8 allows, and the request is answered over HTTP/1.1.
  const server = createServer({ shouldUpgradeCallback: req => req.headers.upgrade?.toLowerCase() === 'websocket' }, app)
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve)
    server.once('error', reject)
    server.listen(ctx.config.port, ctx.config.host)
  })
  // One 'close' listener for every socket (`this` is the socket): no closure and once() wrapper each.
  const forget = function (this: Socket) {
    sockets.delete(this)
  }
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', forget)
  })
  const detach = await attach(server).catch(async (err: Error) => {
    await new Promise(resolve => server.close(resolve))
    throw err
  })
  const { port } = server.address() as AddressInfo
  let closing: Promise<void> | undefined
  return {
    server,
    port,
    url: `http://${ctx.config.host.includes(':') ? `[${ctx.config.host}]` : ctx.config.host}:${port}`,
    close(graceMs = 1000) {
      closing ??= (async () => {
        const closed = new Promise<void>(resolve => server.close(() => resolve()))
        await detach?.()
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
