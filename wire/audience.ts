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
  /** Present on a vote's pushes (demos/audience/votes.ts): the room's question now, null once it is gone. Not a news item: phones do not list or report it. */
  vote?: PhoneVote | null
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

// #region votes
/** One option of a vote, as the phones and the big screen show it (the shape of wire/predictions.ts's PredictionOption). */
export interface VoteOption { id: string, label: string }

/**
 * Where a vote is: `open` (phones may vote, and change their vote), `closed` (the demo started:
 * no more votes), `revealed` (the run proved `answer`).
 */
export type VoteState = 'open' | 'closed' | 'revealed'

/**
 * The room's current question, as every phone hears it: in a push (`AudiencePush.vote`, null once
 * the presenter left the slide) and from `GET /api/vote`. `id` is the demo's id (wire/predictions.ts).
 */
export interface PhoneVote {
  id: string
  question: string
  options: VoteOption[]
  state: VoteState
  /** The option the run proved: set once `revealed`. */
  answer: string | null
}

/** `GET /api/vote?device=`: the current question (null: none) and this phone's own vote on it (null: none yet). */
export interface PhoneVoteAnswer { vote: PhoneVote | null, mine: string | null }

/**
 * What the big screen draws: the votes per option, counts only (nothing about who). `seq` counts
 * every change to the tally since the question opened (a new vote, a changed one, one taken back):
 * a phone's `POST /api/vote` answers with the `seq` its vote made, so a reader of the tally can
 * tell when that vote reached it.
 */
export interface VoteTally extends PhoneVote {
  /** Votes per option id, every option present (0 when none). */
  counts: Record<string, number>
  /** Phones that voted. */
  voters: number
  seq: number
}

/**
 * `POST /api/vote {device, question, option}` answers this (200). `changed`: false when it repeated
 * the phone's vote; `countedAt`: the server's epoch ms (wire/clock.ts) when it counted it.
 */
export interface VoteReceipt { question: string, option: string, seq: number, changed: boolean, countedAt: number }

/** `PUT /audience/votes/:id`'s body: the question and its 2–4 options (ids `[a-z0-9-]{1,24}`, labels 1–80 characters). */
export interface VoteOpen { question: string, options: VoteOption[] }

/** Option ids: short, URL-safe (wire/predictions.ts). */
export const VOTE_OPTION_ID = /^[a-z0-9-]{1,24}$/
/** Question ids: demo ids (`short-polling`, `pubsub-fanout`). */
export const VOTE_QUESTION_ID = /^[a-z0-9-]{1,48}$/
// #endregion votes
