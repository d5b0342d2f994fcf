// The application of the sidecar demo: a child process of the demo server. It knows one
// thing about the network: a plain-HTTP URL on localhost (env UPSTREAM_URL). No retries,
// no tracing, no logging. Whether a sidecar sits behind that URL is not its business.
import { createServer } from 'node:http'
import { reportReady } from '../platform/children.ts'

const stats = { requests: 0, upstreamCalls: 0, failures: 0 }

// #region app
const UPSTREAM = process.env.UPSTREAM_URL // e.g. http://127.0.0.1:4001, nothing more
const placed = new Map<string, object>() // Idempotency-Key -> that order's answer

/** POST /order — asks the price service once (a GET: safe to repeat) and places the order. */
async function order(key?: string): Promise<{ status: number, body: object }> {
  const earlier = key === undefined ? undefined : placed.get(key)
  if (earlier)
    return { status: 200, body: earlier } // the same key again: the same answer, no second order
  stats.upstreamCalls++
  const res = await fetch(`${UPSTREAM}/price`).catch(() => undefined)
  if (!res?.ok) // nothing was ordered: the same key may try again
    return { status: 502, body: { error: res ? `price service answered ${res.status}` : 'price service unreachable' } }
  const body = { ordered: true, ...await res.json().catch(() => ({})) as object }
  remember(placed, key, body)
  return { status: 200, body }
}
// #endregion app

/** Keeps an order's answer under its key; the oldest of more than 1,000 is forgotten. */
function remember(orders: Map<string, object>, key: string | undefined, body: object): void {
  if (key === undefined)
    return
  orders.set(key, body)
  if (orders.size > 1000)
    orders.delete(orders.keys().next().value!)
}

const server = createServer(async (req, res) => {
  if (req.url === '/order' && req.method === 'POST') {
    stats.requests++
    const key = req.headers['idempotency-key']
    const out = await order(typeof key === 'string' ? key : undefined)
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
