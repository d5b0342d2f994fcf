// Ports for the servers the tests, scripts and bench start.
import { createServer } from 'node:net'

/**
 * Resolves with a TCP port (1-65535) that was free on 127.0.0.1 a moment ago: the OS picks one
 * for a listener on port 0, which is then closed again, so another process could still take it
 * before the caller listens (possible, but rare). Rejects with the listener's error.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number }
      srv.close(() => resolve(port))
    })
    srv.once('error', reject)
  })
}
