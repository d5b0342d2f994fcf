import type { IncomingMessage, Server } from 'node:http'
import type { Duplex } from 'node:stream'
import type { DemoContext } from '../context.ts'
import { STATUS_CODES } from 'node:http'
import { isOwnHost } from '../http.ts'

/** Where views connect: `ws://127.0.0.1:3031/push/ws`. */
export const PUSH_WS_PATH = '/push/ws'

/**
 * Lets the demo server accept WebSocket upgrades on {@link PUSH_WS_PATH}. The Express app
 * never sees upgrades, so the server entry point (demos/main.ts, the test harness) calls this.
 */
export function attachWebSocket(server: Server, ctx: DemoContext): void {
  const hub = ctx.views
  const allowed = new Set(ctx.config.allowedOrigins)
  // #region upgrade
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const { pathname } = new URL(req.url ?? '/', 'http://localhost')
    if (pathname !== PUSH_WS_PATH) {
      // Another demo may own that path; if nobody else listens, say so instead of hanging.
      if (server.listenerCount('upgrade') === 1)
        refuse(socket, 404, `no WebSocket endpoint at ${pathname}`)
      return
    }
    if (!isOwnHost(req.headers.host, ctx.config.host))
      return refuse(socket, 421, `this server does not answer for host ${JSON.stringify(req.headers.host ?? '')}`)
    // CORS does not cover WebSockets: any page may open one, so check the Origin here.
    const origin = req.headers.origin
    if (origin && !allowed.has(origin))
      return refuse(socket, 403, `origin ${origin} is not allowed; add it to DECK_ORIGINS`)
    if (hub.count >= hub.maxClients)
      return refuse(socket, 503, `at most ${hub.maxClients} views at once`)
    hub.wss.handleUpgrade(req, socket, head, ws => hub.add(ws))
  })
  // #endregion upgrade
}

/** Answers a refused handshake with a plain HTTP error, JSON like every other error. */
function refuse(socket: Duplex, status: number, error: string): void {
  socket.on('error', () => socket.destroy())
  const body = JSON.stringify({ error })
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n`
    + 'Content-Type: application/json; charset=utf-8\r\n'
    + `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  )
}
