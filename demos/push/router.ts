import { Router } from 'express'
import type { DemoContext } from '../platform/context.ts'
import type { NotificationKind } from '../../wire/push.ts'
import { HttpError } from '../platform/http.ts'
import { pushHub } from './hub.ts'

const KINDS: readonly NotificationKind[] = ['video', 'login', 'message']

/** The HTTP side of the push demo: something happens on the server, every view hears of it. */
export function pushRouter(ctx: DemoContext): Router {
  const router = Router()
  const hub = pushHub(ctx)

  // #region notify
  /** POST /push/notify {kind, text} — something happened (a video is out): push it to every connected view. */
  router.post('/notify', (req, res) => {
    const { kind, text } = (req.body ?? {}) as { kind?: unknown, text?: unknown }
    if (!KINDS.includes(kind as NotificationKind))
      throw new HttpError(400, `kind must be one of ${KINDS.join(', ')}`)
    if (typeof text !== 'string' || !text.trim() || text.length > 200)
      throw new HttpError(400, 'text must be a string of 1-200 characters')
    const { seq, delivered } = hub.notify(kind as NotificationKind, text.trim())
    res.status(202).json({ seq, delivered })
  })
  // #endregion notify

  /** GET /push/clients — how many views are connected right now, as the server counts them. */
  router.get('/clients', (_req, res) => {
    res.set('Cache-Control', 'no-store').json({ clients: hub.count, ids: hub.ids })
  })

  return router
}
