import { randomBytes } from 'node:crypto'
import { epochMs } from '../../wire/clock.ts'
import { HttpError } from '../platform/http.ts'

import type { AudiencePush, AudienceStats, Transport } from '../../wire/audience.ts'
import { TRANSPORTS } from '../../wire/audience.ts'

/** One phone in the room. */
export interface Device {
  id: string
  nickname: string
  /** The network address it joined from (the per-address cap). */
  address: string
  transport: Transport
  joinedAt: number
  lastSeen: number
  requests: number
  bytes: number
  /** The newest push it reported, and how late each was (ms). */
  delays: Map<number, number>
  /** What it holds open: a long poll, an event stream or a socket (ended when it leaves). */
  release?: () => void
}

export interface AudienceOptions {
  /** Devices at once (429 above). Default 500. */
  maxDevices?: number
  /** Requests a device may make per second, sustained; twice that in a burst (429 + Retry-After above). Default 10. */
  ratePerSecond?: number
  /** A device that asked nothing for this long (and holds nothing) has left, ms. Default 30 000. */
  idleMs?: number
  /** Phones joined from one network address at once (loopback excepted: the presenter's own tests). Default 10. */
  maxPerAddress?: number
}

/** One second of traffic per transport: requests and bytes (the big screen's rates). */
interface Bucket { second: number, requests: Record<Transport, number>, bytes: Record<Transport, number> }

const zero = (): Record<Transport, number> => ({ 'short-poll': 0, 'long-poll': 0, 'sse': 0, 'websocket': 0 })

/**
 * The room's phones and what the presenter pushes to them, for one demo server. A phone joins
 * with the join token (403 without it), is assigned a transport (round-robin, or the one the
 * presenter picked), and hears of every push through it; it reports when each arrived, so the big
 * screen can draw the delays per transport. Caps: `maxDevices` (429), `ratePerSecond` per device
 * (429 + Retry-After). `close(reason)` ends every held connection with that reason.
 */
export class AudienceHub {
  /** The secret in the join URL (the QR code): created at start, never written anywhere. */
  readonly token = randomBytes(12).toString('base64url')
  readonly devices = new Map<string, Device>()
  readonly maxDevices: number
  private readonly ratePerSecond: number
  private readonly idleMs: number
  private readonly maxPerAddress: number
  private pushes: AudiencePush[] = []
  private nextSeq = 1
  private nextDevice = 1
  private assigned = 0
  /** `round-robin`, or every new device gets this transport. */
  assign: 'round-robin' | Transport = 'round-robin'
  private buckets: Bucket[] = []
  private tokens = new Map<string, { level: number, at: number }>()
  /** Long polls waiting for the next push, by device. */
  private waiting = new Map<string, (p: AudiencePush[]) => void>()
  /** Event streams and sockets: how to send a push down each. */
  private senders = new Map<string, (p: AudiencePush) => void>()
  private sweeper: ReturnType<typeof setInterval>
  closed: string | null = null
  /** True while the RabbitMQ bridge's queue is bound and consumed (demos/audience/broker-bridge.ts). */
  viaBroker = false
  /** The page phones open (with the token): set by the listener once it listens. */
  joinUrl: string | null = null

  constructor(options: AudienceOptions = {}) {
    this.maxDevices = options.maxDevices ?? 500
    this.ratePerSecond = options.ratePerSecond ?? 10
    this.idleMs = options.idleMs ?? 30_000
    this.maxPerAddress = options.maxPerAddress ?? 10
    this.sweeper = setInterval(() => this.sweep(), Math.min(5000, this.idleMs))
    this.sweeper.unref()
  }

  /** Adds a phone joining from `address`; 403 for a wrong token, 429 when the room (or that address's share) is full, 503 once the talk has ended. */
  join(token: unknown, nickname: unknown, address = ''): Device {
    if (this.closed)
      throw new HttpError(503, this.closed, { 'Retry-After': '3600' })
    if (typeof token !== 'string' || token !== this.token)
      throw new HttpError(403, 'wrong or missing join token: scan the QR code on the screen')
    if (this.devices.size >= this.maxDevices)
      throw new HttpError(429, `the room is full (${this.maxDevices} devices)`, { 'Retry-After': '10' })
    if (nickname !== undefined && (typeof nickname !== 'string' || nickname.length > 24))
      throw new HttpError(400, 'nickname: a string of at most 24 characters')
    const loopback = /^(::ffff:)?127\.|^::1$/.test(address)
    if (!loopback && [...this.devices.values()].filter(d => d.address === address).length >= this.maxPerAddress)
      throw new HttpError(429, `at most ${this.maxPerAddress} phones from one address`, { 'Retry-After': '30' })
    const transport = this.assign === 'round-robin' ? TRANSPORTS[this.assigned++ % TRANSPORTS.length]! : this.assign
    const now = epochMs()
    const device: Device = { id: `d${this.nextDevice++}-${randomBytes(6).toString('base64url')}`, nickname: (nickname ?? '').trim(), address, transport, joinedAt: now, lastSeen: now, requests: 0, bytes: 0, delays: new Map() }
    this.devices.set(device.id, device)
    return device
  }

  /** The device behind `id`, counted as one request of `bytes`; 503 once the talk has ended, 404 if it left, 429 past its rate. */
  use(id: unknown, bytes = 0): Device {
    if (this.closed)
      throw new HttpError(503, this.closed, { 'Retry-After': '3600' })
    const device = typeof id === 'string' ? this.devices.get(id) : undefined
    if (!device)
      throw new HttpError(404, 'unknown device: join again')
    this.limit(device)
    device.lastSeen = epochMs()
    device.requests++
    this.count(device.transport, 1, bytes)
    device.bytes += bytes
    return device
  }

  /** Bytes sent to a device outside a request (an event, a frame). */
  sent(device: Device, bytes: number): void {
    device.bytes += bytes
    this.count(device.transport, 0, bytes)
  }

  /** Pushes newer than `after`. */
  since(after: number): AudiencePush[] {
    return this.pushes.filter(p => p.seq > after)
  }

  /** Long polls, event streams and sockets held right now. */
  get held(): number {
    return this.senders.size + this.waiting.size
  }

  /** The newest push's number (0 before the first). */
  get seq(): number {
    return this.nextSeq - 1
  }

  /** Holds a long poll until a push newer than `after` (or `timeoutMs`); `answer` gets what came. Returns how to stop waiting. */
  wait(device: Device, after: number, timeoutMs: number, answer: (p: AudiencePush[]) => void): () => void {
    const ready = this.since(after)
    if (ready.length || this.closed) {
      answer(ready)
      return () => {}
    }
    this.waiting.get(device.id)?.([]) // one long poll per device: the older one is answered empty
    const timer = setTimeout(() => done([]), timeoutMs)
    const done = (p: AudiencePush[]) => {
      clearTimeout(timer)
      if (this.waiting.get(device.id) === done)
        this.waiting.delete(device.id)
      answer(p)
    }
    this.waiting.set(device.id, done)
    return () => {
      clearTimeout(timer)
      if (this.waiting.get(device.id) === done)
        this.waiting.delete(device.id)
    }
  }

  /**
   * Subscribes a device's event stream or socket to the room's pushes: `send` gets each new push,
   * `end` is called when the device leaves or the hub closes. Returns the unsubscribe function.
   * (Not `Lifecycle.hold`: that one keeps a response open until shutdown.)
   */
  subscribe(device: Device, send: (p: AudiencePush) => void, end: () => void): () => void {
    device.release?.()
    this.senders.set(device.id, send)
    const release = () => {
      if (this.senders.get(device.id) === send)
        this.senders.delete(device.id)
      if (device.release === endIt)
        device.release = undefined
    }
    const endIt = () => {
      release()
      end()
    }
    device.release = endIt
    return release
  }

  /**
   * Sends `text` to every phone at once (each over its own transport): first down every held
   * stream (SSE, WebSocket: one frame each on an open connection), then to every waiting long
   * poll (each a whole HTTP response, after which the phone must ask again). The cheaper delivery
   * goes first, as a scheduler runs the shortest job first: that gives the room the lowest mean
   * delay, and lets the race rank the transports by what a delivery costs. Every stream gets the
   * same `p` and every long poll the same `[p]`, so each transport builds its bytes once per push
   * (demos/audience/frames.ts), not once per phone. `sentAt` is stamped before the first write.
   * `vote`: the room's question now (demos/audience/votes.ts).
   */
  push(text: string, via: AudiencePush['via'] = 'direct', vote?: AudiencePush['vote']): AudiencePush {
    const p: AudiencePush = vote === undefined ? { seq: this.nextSeq++, text, sentAt: epochMs(), via } : { seq: this.nextSeq++, text, sentAt: epochMs(), via, vote }
    this.pushes = [...this.pushes.slice(-49), p]
    for (const send of [...this.senders.values()]) send(p)
    const pushes = [p]
    for (const answer of [...this.waiting.values()]) answer(pushes)
    return p
  }

  /** A phone says push `seq` reached it at `receivedAt` (server clock, as it measured the offset at join). */
  report(device: Device, seq: unknown, receivedAt: unknown): number {
    const p = typeof seq === 'number' ? this.pushes.find(x => x.seq === seq) : undefined
    if (!p || typeof receivedAt !== 'number' || !Number.isFinite(receivedAt))
      throw new HttpError(400, 'report: {"seq": a push number, "receivedAt": epoch ms}')
    const ms = Math.max(0, Math.min(60_000, receivedAt - p.sentAt))
    device.delays.set(p.seq, ms)
    return ms
  }

  /** A phone left (or its connection dropped): everything it holds is released. */
  leave(id: string): void {
    const device = this.devices.get(id)
    if (!device)
      return
    device.release?.()
    this.waiting.get(id)?.([])
    this.waiting.delete(id)
    this.senders.delete(id)
    this.tokens.delete(id)
    this.devices.delete(id)
  }

  /** What the big screen draws: devices and rates per transport, and the delays of the latest push. */
  stats(): AudienceStats {
    const now = Math.floor(epochMs() / 1000)
    const last = this.buckets.find(b => b.second === now - 1) ?? { requests: zero(), bytes: zero() }
    const devices = zero()
    for (const d of this.devices.values()) devices[d.transport]++
    const latest = this.pushes.filter(p => p.vote === undefined).at(-1) // a vote's pushes are not news
    const delays: AudienceStats['delays'] = { 'short-poll': [], 'long-poll': [], 'sse': [], 'websocket': [] }
    let slowest: AudienceStats['slowest'] = null
    if (latest) {
      for (const d of this.devices.values()) {
        const ms = d.delays.get(latest.seq)
        if (ms === undefined)
          continue
        delays[d.transport].push(ms)
        if (!slowest || ms > slowest.ms)
          slowest = { nickname: d.nickname || d.id.split('-')[0]!, transport: d.transport, ms }
      }
    }
    return { on: !this.closed, devices, total: this.devices.size, maxDevices: this.maxDevices, assign: this.assign, requestsPerSecond: last.requests, bytesPerSecond: last.bytes, latest: latest ?? null, delays, slowest }
  }

  /** Ends audience mode: every held connection gets `reason`, every device is gone. */
  close(reason = 'The talk has ended'): void {
    this.closed = reason
    clearInterval(this.sweeper)
    for (const id of [...this.devices.keys()]) this.leave(id)
  }

  private count(t: Transport, requests: number, bytes: number): void {
    const second = Math.floor(epochMs() / 1000)
    let b = this.buckets.at(-1)
    if (!b || b.second !== second) {
      b = { second, requests: zero(), bytes: zero() }
      this.buckets = [...this.buckets.slice(-4), b]
    }
    b.requests[t] += requests
    b.bytes[t] += bytes
  }

  /** A token bucket per device: `ratePerSecond` sustained, twice that in a burst. */
  private limit(device: Device): void {
    const now = epochMs()
    const cap = this.ratePerSecond * 2
    const t = this.tokens.get(device.id) ?? { level: cap, at: now }
    t.level = Math.min(cap, t.level + ((now - t.at) / 1000) * this.ratePerSecond)
    t.at = now
    if (t.level < 1) {
      this.tokens.set(device.id, t)
      throw new HttpError(429, `at most ${this.ratePerSecond} requests per second per device`, { 'Retry-After': '1' })
    }
    t.level--
    this.tokens.set(device.id, t)
  }

  private sweep(): void {
    const cut = epochMs() - this.idleMs
    for (const d of [...this.devices.values()]) {
      if (d.lastSeen < cut && !d.release && !this.waiting.has(d.id))
        this.leave(d.id)
    }
  }
}

/** The response objects a hub holds (for tests: nothing left after everyone left). */
export function heldCount(hub: AudienceHub): number {
  return [...hub.devices.values()].filter(d => d.release).length
}

