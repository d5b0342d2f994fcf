import type { AddressInfo, Socket } from 'node:net'
import type { AudienceHub } from './hub.ts'
import type { AudiencePush } from '../../wire/audience.ts'
import { createServer, STATUS_CODES } from 'node:http'
import { WebSocketServer } from 'ws'
import { wsMessage } from './frames.ts'
import { createAudienceApp, sameOrigin } from './phone-app.ts'

/** The audience listener, once it listens. */
export interface AudienceListening {
  /** `http://<host>:<port>` on the room's network. */
  url: string
  /** The page a phone opens: the QR code holds it (with the join token). */
  joinUrl: string
  close: () => Promise<void>
}

/** Where a phone's WebSocket connects. */
export const AUDIENCE_WS_PATH = '/api/ws'

/**
 * Listens for the room's phones on `host:port` (0 = any free port): the phone page and its API
 * (createAudienceApp), and WebSocket upgrades on {@link AUDIENCE_WS_PATH} for devices assigned
 * `websocket`. Rejects with the listen error (EADDRINUSE, EADDRNOTAVAIL). `close()` ends every
 * device's connection with the hub's reason ("the talk has ended") and stops listening.
 */
export async function listenAudience(hub: AudienceHub, host: string, port: number): Promise<AudienceListening> {
  const server = createServer(createAudienceApp(hub, host))
  // No permessage-deflate (ws's server default, said here on purpose): a push is ~100 bytes, and
  // compressing it would cost each socket its own zlib context and time on every send.
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024, perMessageDeflate: false })
  const sockets = new Set<Socket>()
  server.on('connection', (s) => {
    sockets.add(s)
    s.once('close', () => sockets.delete(s))
  })
  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => socket.destroy())
    const refuse = (status: number, error: string) => {
      const body = JSON.stringify({ error })
      socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
    }
    let url: URL
    try {
      url = new URL(req.url ?? '/', 'http://x')
    }
    catch {
      return refuse(400, 'malformed request target')
    }
    if (url.pathname !== AUDIENCE_WS_PATH)
      return refuse(404, `no WebSocket endpoint at ${url.pathname}`)
    if (req.headers.origin && !sameOrigin(req.headers.origin, req.headers.host))
      return refuse(403, `connections from ${req.headers.origin} are not allowed`)
    let device
    try {
      device = hub.use(url.searchParams.get('device'))
      if (device.transport !== 'websocket')
        return refuse(409, `this device was assigned ${device.transport}, not websocket`)
    }
    catch (err) {
      const e = err as { status?: number, message: string }
      return refuse(e.status ?? 400, e.message)
    }
    const d = device
    wss.handleUpgrade(req, socket, head, (ws) => {
      const send = (p: AudiencePush) => {
        const message = wsMessage(p) // built once per push, for every socket
        ws.send(message, { binary: false }) // a text frame; ws sets TCP_NODELAY on the socket
        hub.sent(d, message.length)
      }
      const release = hub.subscribe(d, send, () => ws.close(1001, (hub.closed ?? 'You left').slice(0, 100)))
      for (const p of hub.since(Number(url.searchParams.get('after')) || 0)) send(p)
      ws.on('message', () => ws.close(1003, 'this socket only listens')) // reports go to POST /api/report
      ws.on('close', release)
      ws.on('error', () => ws.terminate())
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve)
    server.once('error', reject)
    server.listen(port, host)
  })
  const bound = (server.address() as AddressInfo).port
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${bound}`
  hub.joinUrl = `${url}/?t=${hub.token}`
  return {
    url,
    joinUrl: `${url}/?t=${hub.token}`,
    close: async () => {
      hub.close()
      const closed = new Promise<void>(resolve => server.close(() => resolve()))
      server.closeIdleConnections()
      setTimeout(() => sockets.forEach(s => s.destroy()), 500).unref()
      wss.close()
      await closed
    },
  }
}
