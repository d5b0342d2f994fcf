// The sidecar: a small layer-7 proxy that runs beside the app (a child process of the demo
// server) and forwards everything to TARGET_URL, adding what the app lacks: retries,
// a W3C trace header, and a log line per request. Stats at GET /__sidecar/stats.
import type { IncomingMessage } from 'node:http'
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { reportReady } from '../platform/children.ts'

const TARGET = process.env.TARGET_URL
/** Attempts per request, first one included. */
const MAX_ATTEMPTS = 3
const stats = { requests: 0, attempts: 0, retries: 0, log: [] as string[] }

function log(line: string): void {
  stats.log = [...stats.log, line].slice(-20)
  console.log(`[sidecar] ${line}`)
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return chunks.length ? Buffer.concat(chunks) : undefined
}

/** The caller's W3C trace context, or a new one: every attempt of a request carries the same. */
function traceOf(req: IncomingMessage): string {
  return req.headers.traceparent as string | undefined
    ?? `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`
}

/** One attempt at the target, counted and logged; undefined when the connection failed. */
async function attemptOnce(req: IncomingMessage, traceparent: string, body: Buffer | undefined, attempt: number): Promise<Response | undefined> {
  stats.attempts++
  const headers = { 'content-type': req.headers['content-type'] ?? 'application/json', traceparent }
  const t0 = performance.now()
  const res = await fetch(`${TARGET}${req.url}`, { method: req.method, headers, body: body && new Uint8Array(body) })
    .catch(() => undefined)
  const ms = (performance.now() - t0).toFixed(1)
  log(`${req.method} ${req.url} -> ${res?.status ?? 'no connection'} (attempt ${attempt}/${MAX_ATTEMPTS}, ${ms} ms) trace ${traceparent.slice(3, 11)}`)
  return res
}

/** Before the next attempt: drain the failed answer (keeps the connection), wait 50 ms, then 100 ms. */
async function backOff(res: Response | undefined, attempt: number): Promise<void> {
  await res?.arrayBuffer().catch(() => {})
  stats.retries++
  await sleep(25 * 2 ** attempt)
}

// #region retry
/** Forwards one request; retries GET and HEAD on a 5xx or a failed connection. */
async function forward(req: IncomingMessage, body?: Buffer) {
  const traceparent = traceOf(req) // same trace id for every attempt
  const retryable = req.method === 'GET' || req.method === 'HEAD'
  for (let attempt = 1; ; attempt++) {
    const res = await attemptOnce(req, traceparent, body, attempt)
    const failed = !res || res.status >= 500
    if (!failed || !retryable || attempt === MAX_ATTEMPTS)
      return res
    await backOff(res, attempt)
  }
}
// #endregion retry

const server = createServer(async (req, res) => {
  if (req.url === '/__sidecar/stats') {
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ pid: process.pid, ...stats }))
    return
  }
  stats.requests++
  const upstream = await forward(req, await readBody(req))
  if (!upstream) {
    res.writeHead(502, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: 'upstream unreachable' }))
    return
  }
  res.writeHead(upstream.status, { 'Content-Type': upstream.headers.get('content-type') ?? 'application/json' })
  res.end(Buffer.from(await upstream.arrayBuffer()))
})

server.listen(0, '127.0.0.1', () => {
  const address = server.address()
  reportReady(typeof address === 'object' && address ? address.port : 0, () => server.close())
})
