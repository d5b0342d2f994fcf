import type { Express, Router } from 'express'
import type { AudienceHub } from './hub.ts'
import type { DemoContext } from '../platform/context.ts'
import type { VoteTally } from '../../wire/audience.ts'
import express from 'express'
import { HttpError } from '../platform/http.ts'
import { openSseSession } from '../platform/sse-session.ts'
import { roomVotes } from './votes.ts'

/**
 * The presenter's side of the room's votes, on the demo server (mounted at `/audience/votes`:
 * 127.0.0.1, the deck's origins only, as every state-changing demo route). 409 while audience
 * mode is off (`hub` null).
 * - `PUT /:id {question, options}`: opens question `id` (201; 200 if it already is the current one), answers the tally.
 * - `POST /:id/close`: no more votes (200 tally; 404 unless it is the current question).
 * - `POST /:id/result {answer}`: the option the run proved (200 tally; 400 not an option).
 * - `DELETE /:id`: the question is gone (204, also when it was not the current one).
 * - `GET /`: the tally now (null: no question). `GET /events`: an event stream of `tally` events, the current one first.
 */
export function votesRouter(ctx: DemoContext, hub: AudienceHub | null): Router {
  const router = express.Router()
  const votes = () => {
    if (!hub)
      throw new HttpError(409, 'audience mode is off: start with `npm start -- --audience` (or AUDIENCE=1)')
    return roomVotes(hub)
  }
  const answer = (res: express.Response, tally: VoteTally | null, status = 200) => res.status(status).set('Cache-Control', 'no-store').json(tally)

  router.get('/', (_req, res) => answer(res, votes().tally()))

  router.get('/events', (_req, res) => {
    const v = votes()
    const stream = openSseSession(ctx, res, () => stop())
    const stop = v.follow(tally => void stream.send('tally', tally))
  })

  router.put('/:id', (req, res) => {
    const { created, tally } = votes().open(req.params.id, req.body)
    answer(res, tally, created ? 201 : 200)
  })

  router.post('/:id/close', (req, res) => answer(res, votes().close(req.params.id)))

  router.post('/:id/result', (req, res) => {
    answer(res, votes().reveal(req.params.id, (req.body as { answer?: unknown } | undefined)?.answer))
  })

  router.delete('/:id', (req, res) => {
    votes().release(req.params.id)
    res.status(204).end()
  })
  return router
}

/**
 * The phones' side, on the audience listener (after its Host and Origin checks, its JSON body
 * limit and each device's rate limit, as every phone route):
 * - `GET /api/vote?device=`: 200 {@link PhoneVoteAnswer} (the question now, and this phone's vote).
 * - `POST /api/vote {device, question, option}`: 200 {@link VoteReceipt}; 404 unknown device or
 *   question, 409 closed, 400 not an option, 429 too fast.
 * A phone's `POST /api/leave` also takes back its vote while the question is open (see `leave`).
 */
export function mountPhoneVotes(app: Express, hub: AudienceHub): void {
  const votes = roomVotes(hub)
  app.get('/api/vote', (req, res) => {
    const d = hub.use(req.query.device)
    const text = JSON.stringify(votes.forPhone(d.id))
    hub.sent(d, Buffer.byteLength(text))
    res.set('Cache-Control', 'no-store').type('json').send(text)
  })
  app.post('/api/vote', (req, res) => {
    const body = (req.body && typeof req.body === 'object' && !Array.isArray(req.body) ? req.body : null) as Record<string, unknown> | null
    if (!body)
      throw new HttpError(400, 'expected a JSON object: {device, question, option}')
    const d = hub.use(body.device)
    res.json(votes.vote(d, body.question, body.option))
  })
}
