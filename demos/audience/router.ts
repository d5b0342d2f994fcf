import type { Router } from 'express'
import type { DemoContext } from '../platform/context.ts'
import type { AudienceStats, JoinInfo, Transport } from '../../wire/audience.ts'
import express from 'express'
import QRCode from 'qrcode'
import { HttpError } from '../platform/http.ts'
import { publishToRoom } from './broker-bridge.ts'
import { audienceHub } from './state.ts'
import { votesRouter } from './votes-routes.ts'
import { TRANSPORTS } from '../../wire/audience.ts'

/**
 * The presenter's side of audience mode, on the demo server (127.0.0.1, the deck's origins):
 * `GET /audience/state` (what the big screen draws; `{on: false}` when audience mode is off),
 * `GET /audience/join` (URL and QR code; 409 when off), `POST /audience/push {text}` (202: sent to
 * every phone), `POST /audience/assign {mode}` (`round-robin` or one transport for new phones),
 * and the room's votes under `/audience/votes` (demos/audience/votes-routes.ts).
 */
export function audienceRouter(ctx: DemoContext): Router {
  const router = express.Router()
  const room = audienceHub(ctx)
  const hub = () => {
    if (!room)
      throw new HttpError(409, 'audience mode is off: start with `npm start -- --audience` (or AUDIENCE=1)')
    return room
  }

  router.get('/state', (_req, res) => {
    res.set('Cache-Control', 'no-store').json(room ? room.stats() : { on: false } satisfies Partial<AudienceStats>)
  })

  router.get('/join', async (_req, res) => {
    const h = hub()
    if (!h.joinUrl)
      throw new HttpError(503, 'the audience listener is not up yet', { 'Retry-After': '1' })
    const qrSvg = await QRCode.toString(h.joinUrl, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' })
    res.set('Cache-Control', 'no-store').json({ on: true, joinUrl: h.joinUrl, qrSvg } satisfies JoinInfo)
  })

  /** POST /audience/push {text, via?: 'direct' | 'rabbitmq'}: 202 once sent (rabbitmq: once the broker confirmed it; 503 while it is down). */
  router.post('/push', async (req, res) => {
    const body = (req.body ?? {}) as { text?: unknown, via?: unknown }
    const { text, via = 'direct' } = body
    if (typeof text !== 'string' || !text.trim() || text.length > 140)
      throw new HttpError(400, 'text: 1 to 140 characters')
    if (via !== 'direct' && via !== 'rabbitmq')
      throw new HttpError(400, 'via: direct or rabbitmq')
    const h = hub()
    if (via === 'rabbitmq') {
      await publishToRoom(ctx, h, text.trim())
      res.status(202).json({ via, published: true })
      return
    }
    res.status(202).json(h.push(text.trim()))
  })

  router.post('/assign', (req, res) => {
    const mode = (req.body as { mode?: unknown } | undefined)?.mode
    if (mode !== 'round-robin' && !TRANSPORTS.includes(mode as Transport))
      throw new HttpError(400, `mode: round-robin or one of ${TRANSPORTS.join(', ')}`)
    hub().assign = mode as Transport | 'round-robin'
    res.json({ assign: mode })
  })
  router.use('/votes', votesRouter(ctx, room))
  return router
}
