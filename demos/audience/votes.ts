import type { AudienceHub, Device } from './hub.ts'
import type { PhoneVote, PhoneVoteAnswer, VoteOpen, VoteOption, VoteReceipt, VoteState, VoteTally } from '../../wire/audience.ts'
import { epochMs } from '../../wire/clock.ts'
import { HttpError } from '../platform/http.ts'
import { VOTE_OPTION_ID, VOTE_QUESTION_ID } from '../../wire/audience.ts'

/** The question on the room's phones now, and who voted what (by server-side device id, forgotten when it is released). */
interface Question {
  id: string
  question: string
  options: VoteOption[]
  state: VoteState
  answer: string | null
  /** Device id → option id: one vote per phone, the server's record, never sent anywhere. */
  votes: Map<string, string>
  counts: Record<string, number>
  seq: number
}

/** Who follows the tally (the big screen's event streams): called with each new tally, null when the question is gone. */
type Follower = (tally: VoteTally | null) => void

/**
 * The room's vote on one question at a time (question id = the demo's id, wire/predictions.ts).
 * The presenter's deck opens a question when it enters a demo slide, closes it when the demo
 * starts, reveals the option the run proved, and releases it when the slide is left; every phone
 * hears each of those through its own transport (a hub push carrying `vote`). A phone votes once
 * per question, keyed by its server-side device id (not by anything the page says about itself),
 * and may change its vote until the question closes; a phone that leaves while it is open takes
 * its vote back. Only counts per option leave this object. The big screen follows the tally
 * through {@link RoomVotes.follow}: changes in one turn of the event loop go out as one tally.
 */
export class RoomVotes {
  private current: Question | null = null
  private followers = new Set<Follower>()
  private flushing = false
  /** Runs while an open question has no big screen following it (see {@link RoomVotes.orphanMs}). */
  private orphanTimer: NodeJS.Timeout | undefined

  /**
   * How long an open question may go without a big screen following its tally before it is
   * released, ms (default 15 s): the presenter's tab closed or crashed mid-vote and will not send
   * its `DELETE`. A reload comes back well within it (the deck's reader reconnects after 2 s) and
   * finds its question and its votes as they were.
   */
  orphanMs = 15_000

  constructor(private readonly hub: AudienceHub) {}

  /**
   * Opens question `id` with `body` ({@link VoteOpen}; 400 when malformed) and tells every phone.
   * Opening the question already open changes nothing (`created: false`); any other question (or
   * this one, closed: a new visit of its slide) is released first.
   */
  open(id: string, body: unknown): { created: boolean, tally: VoteTally } {
    if (!VOTE_QUESTION_ID.test(id))
      throw new HttpError(400, `question id: ${VOTE_QUESTION_ID.source} (a demo's id)`)
    const { question, options } = parseOpen(body)
    if (this.current?.id === id && this.current.state === 'open')
      return { created: false, tally: this.tally()! }
    if (this.current)
      this.release(this.current.id)
    this.current = { id, question, options, state: 'open', answer: null, votes: new Map(), counts: Object.fromEntries(options.map(o => [o.id, 0])), seq: 0 }
    this.changed(`Vote: ${question}`)
    return { created: true, tally: this.tally()! }
  }

  /** Closes question `id` (the demo started): phones may no longer vote. 404 unless it is the current one; closing it again changes nothing. */
  close(id: string): VoteTally {
    const q = this.question(id)
    if (q.state === 'open') {
      q.state = 'closed'
      this.changed('Vote closed')
    }
    return this.tally()!
  }

  /** The run proved option `answer` of question `id` (closing it if open): every phone can say right or wrong. 404 unknown question, 400 not one of its options. */
  reveal(id: string, answer: unknown): VoteTally {
    const q = this.question(id)
    if (typeof answer !== 'string' || !q.options.some(o => o.id === answer))
      throw new HttpError(400, `answer: one of ${q.options.map(o => o.id).join(', ')}`)
    if (q.state !== 'revealed' || q.answer !== answer) {
      q.state = 'revealed'
      q.answer = answer
      this.changed(`It was: ${q.options.find(o => o.id === answer)!.label}`)
    }
    return this.tally()!
  }

  /** Releases question `id` (the slide was left): its votes are forgotten and phones hear there is no question. Nothing happens unless it is current. */
  release(id: string): void {
    if (this.current?.id !== id)
      return
    clearTimeout(this.orphanTimer)
    this.current = null
    this.changed('No question now')
  }

  /**
   * `device` votes `option` on `question`. 404 unless `question` is the current one; 409 once it
   * closed; 400 when `option` is not one of its options. A phone's second vote replaces its first.
   */
  vote(device: Device, question: unknown, option: unknown): VoteReceipt {
    const q = this.current
    if (typeof question !== 'string' || !q || q.id !== question)
      throw new HttpError(404, `no question ${JSON.stringify(question)} is open: the screen asks one on each demo slide`)
    if (q.state !== 'open')
      throw new HttpError(409, 'the vote is closed: the demo has started')
    if (typeof option !== 'string' || !(option in q.counts))
      throw new HttpError(400, `option: one of ${q.options.map(o => o.id).join(', ')}`)
    const before = q.votes.get(device.id)
    if (before === option)
      return { question: q.id, option, seq: q.seq, changed: false, countedAt: epochMs() }
    if (before !== undefined)
      q.counts[before]!--
    q.counts[option]!++
    q.votes.set(device.id, option)
    q.seq++
    this.schedule()
    return { question: q.id, option, seq: q.seq, changed: true, countedAt: epochMs() }
  }

  /** A phone left: while the question is open its vote is taken back (it may join again and vote once more). */
  leave(deviceId: string): void {
    const q = this.current
    const option = q?.votes.get(deviceId)
    if (!q || option === undefined || q.state !== 'open')
      return
    q.votes.delete(deviceId)
    q.counts[option]!--
    q.seq++
    this.schedule()
  }

  /** What `GET /api/vote` answers a phone: the question, and its own vote. */
  forPhone(deviceId: string): PhoneVoteAnswer {
    return { vote: this.phoneVote(), mine: this.current?.votes.get(deviceId) ?? null }
  }

  /** The tally now (null: no question). */
  tally(): VoteTally | null {
    const q = this.current
    return q ? { ...this.phoneVote()!, counts: { ...q.counts }, voters: q.votes.size, seq: q.seq } : null
  }

  /** Calls `follower` with the tally now, then after every change (a turn of the event loop's changes at once); returns how to stop. */
  follow(follower: Follower): () => void {
    this.followers.add(follower)
    clearTimeout(this.orphanTimer)
    follower(this.tally())
    return () => {
      if (this.followers.delete(follower) && this.followers.size === 0)
        this.watchOrphan()
    }
  }

  /** The last big screen left: an open question still unfollowed after {@link orphanMs} is released. */
  private watchOrphan(): void {
    clearTimeout(this.orphanTimer)
    const q = this.current
    if (q?.state !== 'open')
      return
    this.orphanTimer = setTimeout(() => {
      if (this.followers.size === 0 && this.current === q && q.state === 'open')
        this.release(q.id)
    }, this.orphanMs).unref()
  }

  /** How many follow the tally (tests: nothing held once the big screen left). */
  get following(): number {
    return this.followers.size
  }

  private phoneVote(): PhoneVote | null {
    const q = this.current
    return q ? { id: q.id, question: q.question, options: q.options, state: q.state, answer: q.answer } : null
  }

  private question(id: string): Question {
    if (this.current?.id !== id)
      throw new HttpError(404, `question ${JSON.stringify(id)} is not open (open it with PUT /audience/votes/${id})`)
    return this.current
  }

  /** The question's state changed: every phone hears it (over its own transport), and the big screen at once. */
  private changed(text: string): void {
    this.hub.push(text, 'direct', this.phoneVote())
    this.flush()
  }

  /** Tells the followers once the votes of this turn of the event loop are in. */
  private schedule(): void {
    if (this.flushing)
      return
    this.flushing = true
    setImmediate(() => this.flush())
  }

  private flush(): void {
    this.flushing = false
    const tally = this.tally()
    for (const f of [...this.followers]) f(tally)
  }
}

/** Parses a `PUT /audience/votes/:id` body; 400 with what is wrong. */
function parseOpen(body: unknown): VoteOpen {
  const b = (body ?? {}) as Partial<Record<keyof VoteOpen, unknown>>
  if (typeof b.question !== 'string' || !b.question.trim() || b.question.length > 200)
    throw new HttpError(400, 'question: 1 to 200 characters')
  if (!Array.isArray(b.options) || b.options.length < 2 || b.options.length > 4)
    throw new HttpError(400, 'options: 2 to 4 of {id, label}')
  const options = b.options.map((o: unknown) => {
    const { id, label } = (o ?? {}) as Record<string, unknown>
    if (typeof id !== 'string' || !VOTE_OPTION_ID.test(id) || typeof label !== 'string' || !label.trim() || label.length > 80)
      throw new HttpError(400, `each option: {id: ${VOTE_OPTION_ID.source}, label: 1 to 80 characters}`)
    return { id, label: label.trim() }
  })
  if (new Set(options.map(o => o.id)).size !== options.length)
    throw new HttpError(400, 'options: each id once')
  return { question: b.question.trim(), options }
}

const rooms = new WeakMap<AudienceHub, RoomVotes>()

/** The votes of `hub`'s room (one per hub, made on first use): the presenter's router and the phones' app share it. */
export function roomVotes(hub: AudienceHub): RoomVotes {
  let votes = rooms.get(hub)
  if (!votes) {
    votes = new RoomVotes(hub)
    rooms.set(hub, votes)
  }
  return votes
}
