// Floors for `npm run bench`, each in its own process (as the demo server is): what the same
// machine does with no demo code in the way. Prints `listening <port>` on stdout, then serves:
//   http      node:http alone: POST /publish parses the JSON body, answers 202 JSON
//   express   the same route in a trivial Express 5 app (express.json(), one handler)
//   one-way   node:net: every socket gets `<epochMs>\n` from a setTimeout timer every 10 ms
//   write     node:net: answers each socket's request with a pre-built event-stream head and holds
//             it; on stdin `go`, stamps epochMs and writes one pre-built SSE frame (`id: 2`) to all
//             of them; prints {"type":"stamp","at":...,"sockets":N}
//   http-timer node:http alone: GET /poll is held and answered 20 ms later by a timer with JSON
//             {"state":"done","finishedAt":<epochMs>}; GET /events opens an event stream, and the timer
//             writes one `done` event with the same data and ends it
//   http-hold the same with node:http alone: each request answered with writeHead + `retry:` and held
//             (no routing, no framework: what node:http itself keeps per held response)
//   http-broker  node:http + amqplib: POST /publish parses the JSON body, publishes {message} to the
//             topic exchange wire.topic with its routingKey on one confirm channel ($AMQP_URL), and
//             answers 202 JSON once the broker confirmed it (503 if it did not)
//   confirm   no HTTP, no server: amqplib publishes to wire.topic on one confirm channel ($AMQP_URL),
//             `argv[3]` publishes in flight (each confirm sends the next), for `argv[4]` ms after a
//             1 s warm-up; prints `result {"rps":..,"p50":..,"p99":..,"failed":..}` (publish -> confirm, ms)
// Usage: node --import tsx bench/floor-server.ts <mode> [args]
import type { ConfirmChannel } from 'amqplib'
import type { ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { createServer as createHttpServer } from 'node:http'
import { createServer as createNetServer } from 'node:net'
import { createInterface } from 'node:readline'
import { connect } from 'amqplib'
import express from 'express'
import { epochMs } from '../wire/clock.ts'
import { coalesceWrites } from '../demos/platform/broker.ts'
import { percentile } from './lib.ts'

const mode = process.argv[2]
const answer = JSON.stringify({ status: 'confirmed' })

function ready(port: number): void {
  process.stdout.write(`listening ${port}\n`)
}

/**
 * On each stdin line `go`: stamps epochMs and writes one pre-built SSE frame (`id: 2`) to every one
 * of `held`, then prints {"type":"stamp","at":...,"sockets":N}. Anything else, or the end of stdin, exits.
 */
async function tellOnGo(held: Set<{ write: (frame: Buffer) => unknown }>): Promise<never> {
  for await (const line of createInterface({ input: process.stdin })) {
    if (line !== 'go')
      break
    const at = epochMs()
    // What an SSE change costs at the least: one pre-built frame, one write per socket.
    const frame = Buffer.from(`: floor\nid: 2\nevent: progress\ndata: ${JSON.stringify({ version: 2, at })}\n\n`)
    for (const s of held) s.write(frame)
    process.stdout.write(`${JSON.stringify({ type: 'stamp', at, sockets: held.size })}\n`)
  }
  process.exit(0)
}

/** The exchange both broker floors publish to: the demo server's topic exchange, declared as it declares it. */
const EXCHANGE = 'wire.topic'

/** A confirm channel on its own connection to $AMQP_URL (Nagle off, frames corked per pass: as the demo server's), the exchange declared. */
async function confirmChannel(): Promise<ConfirmChannel> {
  const conn = await connect(process.env.AMQP_URL ?? 'amqp://localhost', { noDelay: true })
  coalesceWrites(conn)
  const ch = await conn.createConfirmChannel()
  await ch.assertExchange(EXCHANGE, 'topic', { durable: true })
  process.once('SIGTERM', () => void conn.close().finally(() => process.exit(0)))
  return ch
}

/** The HTTP-to-broker floor: the least a route that publishes with confirm can do. */
async function httpBroker(): Promise<void> {
  const ch = await confirmChannel()
  const server = createHttpServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (d: string) => { body += d })
    req.on('end', () => {
      const { message, routingKey } = JSON.parse(body) as { message: string, routingKey?: string }
      ch.publish(EXCHANGE, routingKey ?? '', Buffer.from(message), { contentType: 'text/plain' }, (err) => {
        const text = err ? JSON.stringify({ error: String(err) }) : answer
        res.writeHead(err ? 503 : 202, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) })
        res.end(text)
      })
    })
  })
  server.listen(0, '127.0.0.1', () => ready((server.address() as { port: number }).port))
}

/** The confirm-publish floor: `inFlight` publishes outstanding at all times for `durationMs` (after 1 s), publish -> confirm. */
async function confirmPublish(inFlight: number, durationMs: number): Promise<void> {
  const ch = await confirmChannel()
  const lat: number[] = []
  let measuring = false
  let failed = 0
  let i = 0
  let stop = false
  const one = (): Promise<void> => new Promise((resolve) => {
    const t0 = performance.now()
    ch.publish(EXCHANGE, 'bench.tp', Buffer.from(String(i++)), { contentType: 'text/plain' }, (err) => {
      if (measuring) {
        if (err)
          failed++
        else lat.push(performance.now() - t0)
      }
      resolve()
    })
  })
  const workers = Array.from({ length: inFlight }, async () => {
    while (!stop) await one()
  })
  await new Promise(r => setTimeout(r, 1000))
  measuring = true
  const t0 = performance.now()
  await new Promise(r => setTimeout(r, durationMs))
  measuring = false
  const seconds = (performance.now() - t0) / 1000
  stop = true
  await Promise.all(workers)
  process.stdout.write(`result ${JSON.stringify({ rps: lat.length / seconds, p50: percentile(lat, 0.5), p99: percentile(lat, 0.99), failed })}\n`)
  process.exit(0)
}

if (mode === 'http') {
  const server = createHttpServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (d: string) => { body += d })
    req.on('end', () => {
      JSON.parse(body)
      res.writeHead(202, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(answer) })
      res.end(answer)
    })
  })
  server.listen(0, '127.0.0.1', () => ready((server.address() as { port: number }).port))
}
else if (mode === 'express') {
  const app = express()
  app.use(express.json())
  app.post('/publish', (_req, res) => {
    res.status(202).json({ status: 'confirmed' })
  })
  const server = app.listen(0, '127.0.0.1', () => ready((server.address() as { port: number }).port))
}
else if (mode === 'one-way') {
  const server = createNetServer((socket) => {
    socket.setNoDelay(true)
    const tick = () => {
      if (socket.destroyed)
        return
      socket.write(`${epochMs()}\n`)
      setTimeout(tick, 10)
    }
    setTimeout(tick, 10)
    socket.on('error', () => {})
  })
  server.listen(0, '127.0.0.1', () => ready((server.address() as { port: number }).port))
}
else if (mode === 'write') {
  const sockets = new Set<Socket>()
  const head = Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n\r\nretry: 2000\n\n')
  const server = createNetServer((socket) => {
    socket.on('error', () => {})
    socket.once('data', () => { // the request: no parsing, one pre-built answer
      sockets.add(socket)
      socket.write(head)
    })
    socket.once('close', () => sockets.delete(socket))
  })
  server.listen(0, '127.0.0.1', () => ready((server.address() as { port: number }).port))
  await tellOnGo(sockets)
}
else if (mode === 'http-timer') {
  // What a held long poll (GET /poll) or an open event stream (GET /events) costs at the least on
  // node:http: a timer stamps epochMs and answers with it, 20 ms after the request.
  const server = createHttpServer((req, res) => {
    const stream = req.url === '/events'
    if (stream) {
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' })
      res.write('retry: 2000\n\n')
    }
    setTimeout(() => {
      const body = JSON.stringify({ state: 'done', finishedAt: epochMs() })
      if (stream)
        return res.end(`event: done\ndata: ${body}\n\n`)
      res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) })
      res.end(body)
    }, 20)
  })
  server.listen(0, '127.0.0.1', () => ready((server.address() as { port: number }).port))
}
else if (mode === 'http-hold') {
  const held = new Set<ServerResponse>()
  const server = createHttpServer((_req, res) => { // no routing, no framework: node:http's own cost
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' })
    res.write('retry: 2000\n\n')
    held.add(res)
    res.on('close', () => held.delete(res))
  })
  server.listen(0, '127.0.0.1', () => ready((server.address() as { port: number }).port))
  await tellOnGo(held)
}
else if (mode === 'http-broker') {
  await httpBroker()
}
else if (mode === 'confirm') {
  await confirmPublish(Number(process.argv[3]) || 10, Number(process.argv[4]) || 3000)
}
else {
  console.error('usage: floor-server.ts <http|express|one-way|write|http-timer|http-hold|http-broker|confirm [inFlight] [ms]>')
  process.exit(2)
}
