// Audience mode on the wire: the transports a phone may use, what a push carries, what the big screen reads.
// Shared by the demo server, the deck, the tests and the bench; types and plain values only, so it imports nothing (see wire/README.md).

/** How a phone hears of the presenter's pushes: the four patterns of the talk (the deck imports this too, so no Node modules here). */
export const TRANSPORTS = ['short-poll', 'long-poll', 'sse', 'websocket'] as const
export type Transport = typeof TRANSPORTS[number]

/** A push as the phones get it. `sentAt`: the server's epoch ms when it went out. */
export interface AudiencePush {
  seq: number
  text: string
  sentAt: number
  /** `direct` from the hub, or `rabbitmq`: published to a fanout exchange and consumed back. */
  via: 'direct' | 'rabbitmq'
}

/** GET /audience/state: what the big screen draws. Rates are of the last whole second. */
export interface AudienceStats {
  on: boolean
  devices: Record<Transport, number>
  total: number
  maxDevices: number
  assign: 'round-robin' | Transport
  requestsPerSecond: Record<Transport, number>
  bytesPerSecond: Record<Transport, number>
  latest: AudiencePush | null
  /** How late the latest push reached each device that reported it, ms, per transport. */
  delays: Record<Transport, number[]>
  slowest: { nickname: string, transport: Transport, ms: number } | null
}

/** GET /audience/join: where phones join, and the QR code of it (SVG, made here: nothing fetched). */
export interface JoinInfo { on: true, joinUrl: string, qrSvg: string }
