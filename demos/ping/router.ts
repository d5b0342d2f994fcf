import { Router } from 'express'
import { allowTiming } from '../platform/http.ts'

/** The smoke demo: the smallest request/response there is. */
export function pingRouter(): Router {
  const router = Router()
  // The slide splits each round trip into the network's share and the browser's (Resource Timing).
  router.use((_req, res, next) => {
    allowTiming(res)
    next()
  })
  // #region ping
  /** GET /ping — answers at once. */
  router.get('/', (_req, res) => {
    const receivedAt = Date.now()
    res.json({ pong: true, receivedAt })
  })
  // #endregion ping
  return router
}
