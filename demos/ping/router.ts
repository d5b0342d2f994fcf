import { Router } from 'express'

/** The smoke demo: the smallest request/response there is. */
export function pingRouter(): Router {
  const router = Router()
  // #region ping
  /** GET /ping — answers at once with the server's clock, so the slide can show the round trip. */
  router.get('/', (req, res) => {
    const receivedAt = Date.now()
    res.set('Server-Timing', 'app;dur=0')
    res.json({ pong: true, receivedAt, requestBytes: Number(req.headers['content-length'] ?? 0) })
  })
  // #endregion ping
  return router
}
