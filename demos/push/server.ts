import type { IncomingMessage, Server } from 'node:http'
import type { Duplex } from 'node:stream'
import type { DemoContext } from '../platform/context.ts'
import { STATUS_CODES } from 'node:http'
import { isOwnHost } from '../platform/http.ts'
import { pushHub } from './hub.ts'

/** Where views connect: `ws://127.0.0.1:3031/push/ws`. */
export const PUSH_WS_PATH = '/push/ws'

/**
 * Lets the demo server accept WebSocket upgrades on {@link PUSH_WS_PATH}. The Express app
 * never sees upgrades, so the server entry point (demos/main.ts, the test harness) calls this.
 */
export function attachWebSocket(server: Server, ctx: DemoContext): void {
  const hub = pushHub(ctx)
  const allowed = new Set(ctx.config.allowedOrigins)
  // #region upgrade
  server.on('upgrade', (req, socket, head) => {
    if (!isOurs(server, req, socket, ctx.config.host))
      return // not ours: 404, 421, or another owner's
    // CORS does not cover WebSockets: check Origin
    const origin = req.headers.origin
    if (origin && !allowed.has(origin))
      return refuse(socket, 403, notAllowed(origin))
    if (hub.count >= hub.maxClients)
      return refuse(socket, 503, full(hub.maxClients))
    hub.wss.handleUpgrade(req, socket, head,
      ws => hub.add(ws))
  })
  // #endregion upgrade
}

const notAllowed = (origin: string) => `origin ${origin} is not allowed; add it to DECK_ORIGINS`
const full = (max: number) => `at most ${max} views at once`

/**
 * Whether this handshake is for the push endpoint on this server. If not, it is answered here
 * (404 for a path nobody handles, 421 for a Host that is not ours: DNS rebinding), or left to
 * another 'upgrade' listener that owns the path.
 */
function isOurs(server: Server, req: IncomingMessage, socket: Duplex, boundHost: string): boolean {
  const { pathname } = new URL(req.url ?? '/', 'http://localhost')
  if (pathname !== PUSH_WS_PATH) {
    // Another demo may own that path; if nobody else listens, say so instead of hanging.
    if (server.listenerCount('upgrade') === 1)
      refuse(socket, 404, `no WebSocket endpoint at ${pathname}`)
    return false
  }
  if (!isOwnHost(req.headers.host, boundHost)) {
    refuse(socket, 421, `this server does not answer for host ${JSON.stringify(req.headers.host ?? '')}`)
    return false
  }
  return true
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
