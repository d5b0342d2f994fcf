import { Router } from 'express'

/** The smoke demo: the smallest request/response there is. */
export function pingRouter(): Router {
  const router = Router()
  // #region ping
  /** GET /ping — answers at once. */
  router.get('/', (_req, res) => {
    const receivedAt = Date.now()
    res.json({ pong: true, receivedAt })
  })
  // #endregion ping
  return router
}
