// The application of the sidecar demo: a child process of the demo server. It knows one
// thing about the network: a plain-HTTP URL on localhost (env UPSTREAM_URL). No retries,
// no tracing, no logging. Whether a sidecar sits behind that URL is not its business.
import { createServer } from 'node:http'
import { reportReady } from '../platform/children.ts'

const stats = { requests: 0, upstreamCalls: 0, failures: 0 }

// #region app
const UPSTREAM = process.env.UPSTREAM_URL // e.g. http://127.0.0.1:4001, nothing more

/** GET /order — asks the price service once and answers with what it said. */
async function order(): Promise<{ status: number, body: object }> {
  stats.upstreamCalls++
  try {
    const res = await fetch(`${UPSTREAM}/price`)
    if (!res.ok)
      return { status: 502, body: { error: `price service answered ${res.status}` } }
    return { status: 200, body: { ordered: true, ...await res.json() } }
  }
  catch {
    return { status: 502, body: { error: 'price service unreachable' } }
  }
}
// #endregion app

const server = createServer(async (req, res) => {
  if (req.url === '/order') {
    stats.requests++
    const out = await order()
    if (out.status !== 200)
      stats.failures++
    res.writeHead(out.status, { 'Content-Type': 'application/json' }).end(JSON.stringify(out.body))
    return
  }
  if (req.url === '/stats') {
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ pid: process.pid, ...stats }))
    return
  }
  res.writeHead(404, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: 'not found' }))
})

server.listen(0, '127.0.0.1', () => {
  const address = server.address()
  reportReady(typeof address === 'object' && address ? address.port : 0, () => server.close())
})
