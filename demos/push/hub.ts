import type { RawData } from 'ws'
import { WebSocket, WebSocketServer } from 'ws'
import type { NotificationKind, ServerFrame } from '../../wire/push.ts'
import type { DemoContext } from '../platform/context.ts'
import { chapterState } from '../platform/context.ts'

export interface WebSocketHubOptions {
  /** Connections accepted at once; more are refused with 503. Default 50. */
  maxClients?: number
  /** Largest frame a client may send, bytes (ws closes with 1009 above it). Default 4096. */
  maxPayload?: number
  /** How often silent clients are pinged; one missed pong and they are dropped, ms. Default 15000. */
  pingIntervalMs?: number
  /** A client with more than this many bytes not yet sent is too slow and is dropped. Default 1 MiB. */
  maxBufferedBytes?: number
}

/**
 * The connected views of the push demo: who is there, and `notify` to push to all of them.
 * One per demo server ({@link pushHub}); the HTTP router and the upgrade handler share it.
 */
export class WebSocketHub {
  readonly wss: WebSocketServer
  private readonly clients = new Map<WebSocket, string>()
  private nextId = 1
  private seq = 0
  private readonly alive = new WeakSet<WebSocket>()
  private readonly pinger: ReturnType<typeof setInterval>
  readonly maxClients: number
  private readonly maxBufferedBytes: number

  constructor(options: WebSocketHubOptions = {}) {
    this.maxClients = options.maxClients ?? 50
    this.maxBufferedBytes = options.maxBufferedBytes ?? 1 << 20
    // noServer: the demo server's own 'upgrade' handler decides who gets in (see server.ts).
    this.wss = new WebSocketServer({ noServer: true, clientTracking: false, maxPayload: options.maxPayload ?? 4096 })
    this.pinger = setInterval(() => this.sweep(), options.pingIntervalMs ?? 15_000)
    this.pinger.unref()
  }

  /** Number of connected views. */
  get count(): number {
    return this.clients.size
  }

  /** Ids of the connected views. */
  get ids(): string[] {
    return [...this.clients.values()]
  }

  // #region add
  /** A view connected: greet it, tell everyone the new count, forget it the moment it closes. */
  add(ws: WebSocket): void {
    const id = `view-${this.nextId++}`
    this.clients.set(ws, id)
    this.alive.add(ws)
    ws.on('pong', () => this.alive.add(ws))
    ws.on('message', (data, isBinary) => this.receive(ws, id, data, isBinary))
    ws.on('error', () => ws.terminate()) // e.g. a frame over maxPayload; 'close' follows
    ws.once('close', () => {
      this.clients.delete(ws)
      this.broadcast({ type: 'clients', count: this.clients.size })
    })
    this.send(ws, { type: 'hello', id, clients: this.clients.size })
    this.broadcast({ type: 'clients', count: this.clients.size })
  }
  // #endregion add

  // #region notify
  /** Pushes a notification to every connected view; returns how many it was sent to. */
  notify(kind: NotificationKind, text: string, from?: string): { seq: number, delivered: number } {
    const frame: ServerFrame = { type: 'notification', seq: ++this.seq, kind, text, from, at: Date.now() }
    return { seq: frame.seq, delivered: this.broadcast(frame) }
  }
  // #endregion notify

  /** A frame from a view: `{ "type": "message", "text": "..." }` is pushed to everyone; anything else gets an error frame. */
  private receive(ws: WebSocket, id: string, data: RawData, isBinary: boolean): void {
    let msg: unknown
    try {
      msg = isBinary ? undefined : JSON.parse(String(data))
    }
    catch {}
    const text = typeof msg === 'object' && msg && (msg as { type?: unknown }).type === 'message'
      ? (msg as { text?: unknown }).text
      : undefined
    if (typeof text !== 'string' || !text.trim() || text.length > 200) {
      this.send(ws, { type: 'error', error: 'send {"type":"message","text":"..."} with 1-200 characters of text' })
      return
    }
    this.notify('message', text.trim(), id)
  }

  private broadcast(frame: ServerFrame): number {
    const payload = JSON.stringify(frame)
    let sent = 0
    for (const ws of this.clients.keys()) {
      if (this.send(ws, payload))
        sent++
    }
    return sent
  }

  // #region send
  private send(ws: WebSocket, frame: ServerFrame | string): boolean {
    if (ws.readyState !== WebSocket.OPEN)
      return false
    // Push's weak spot: a client that cannot keep up. Drop it rather than buffer without bound.
    if (ws.bufferedAmount > this.maxBufferedBytes) {
      ws.terminate()
      return false
    }
    ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame))
    return true
  }
  // #endregion send

  /** Drops clients that did not answer the previous ping (a laptop lid closed, a cable pulled). */
  private sweep(): void {
    for (const ws of this.clients.keys()) {
      if (!this.alive.has(ws)) {
        ws.terminate()
        continue
      }
      this.alive.delete(ws)
      ws.ping()
    }
  }

  /** Says goodbye (1001 "going away") to every view and stops the pinger. */
  close(): void {
    clearInterval(this.pinger)
    for (const ws of this.clients.keys()) ws.close(1001, 'server shutting down')
    // Anyone who does not answer the close handshake quickly is cut off.
    const timer = setTimeout(() => {
      for (const ws of this.clients.keys()) ws.terminate()
    }, 500)
    timer.unref()
    this.wss.close()
  }
}

/**
 * The push chapter's hub on this server, created on first use (with its shutdown). The router
 * (router.ts) and the upgrade handler (server.ts, attached by demos/app.ts) share it this way.
 */
export function pushHub(ctx: DemoContext): WebSocketHub {
  return chapterState(ctx, 'push.hub', () => {
    const hub = new WebSocketHub()
    ctx.lifecycle.onShutdown(() => hub.close())
    return hub
  })
}
