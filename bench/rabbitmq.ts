// `npx tsx bench/index.ts rabbitmq`: publish -> SSE-client latency through a real RabbitMQ,
// fanout to 100 SSE subscribers, and the broker round trip alone (amqplib) as the floor.
// The demo server runs in a child process (as `npm run demos` does); this process publishes
// over HTTP and reads the event streams, so every latency is measured on one clock.
import type { ChildProcess } from 'node:child_process'
import type { BenchSection } from './index.ts'
import { spawn } from 'node:child_process'
import { Agent, get, request } from 'node:http'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { connect } from 'amqplib'
import { frameSplitter } from '../composables/sse-parse.ts'
import { provisionBroker } from '../test/support/broker.ts'

const ROOT = join(import.meta.dirname, '..')
/** Target publish rate, messages per second. */
const RATE = 1000
/** Length of the steady-rate run, ms. */
const RUN_MS = 5000
const FANOUT_SUBSCRIBERS = 100
const FANOUT_RATE = 100
const FANOUT_MS = 3000

function percentile(sorted: number[], p: number): number {
  if (!sorted.length)
    return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}
const ms = (n: number) => n.toFixed(2)

function summary(latencies: number[]): { p50: number, p99: number, max: number, n: number } {
  const s = [...latencies].sort((a, b) => a - b)
  return { p50: percentile(s, 50), p99: percentile(s, 99), max: s.at(-1) ?? Number.NaN, n: s.length }
}

/** Starts `demos/main.ts` on a free port against the broker; resolves with its base URL. */
async function startDemoChild(amqpUrl: string, managementUrl?: string): Promise<{ url: string, child: ChildProcess }> {
  const child = spawn(process.execPath, [...(process.env.BENCH_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROF}`] : []), '--import', 'tsx', 'demos/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, DEMO_PORT: '0', AMQP_URL: amqpUrl, ...(managementUrl ? { AMQP_MANAGEMENT_URL: managementUrl } : {}) },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let out = ''
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo server did not start:\n${out}`)), 30_000)
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      if (process.env.BENCH_VERBOSE)
        process.stderr.write(d)
      const m = /listening on (http:\/\/[\d.]+:\d+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve(m[1]!)
      }
    })
    child.once('exit', code => reject(new Error(`demo server exited (${code}):\n${out}`)))
  })
  for (let i = 0; i < 200; i++) { // wait for the broker connection
    const h = await fetch(`${url}/health`).then(r => r.json() as Promise<{ broker: string }>)
    if (h.broker === 'up')
      return { url, child }
    await new Promise(r => setTimeout(r, 50))
  }
  throw new Error('the demo server did not connect to the broker')
}

/** A lean SSE reader (node:http and the shared frame splitter, no web streams): calls `onMessage` with each `message` event's text. */
interface SseMessage { message: string, publishedAt: number, consumedAt: number, sentAt: number }

function subscribe(url: string, onMessage: (text: string, at: number, m: SseMessage) => void): Promise<{ abort: () => void }> {
  return new Promise((resolve, reject) => {
    const req = get(url, { agent: false }, (res) => {
      if (res.statusCode !== 200) {
        res.resume()
        reject(new Error(`subscribe answered ${res.statusCode}`))
        return
      }
      let at = 0 // when the chunk carrying the frame arrived
      const push = frameSplitter((frame) => {
        if (frame.type === 'message') {
          const m = JSON.parse(frame.data) as SseMessage
          onMessage(m.message, at, m)
        }
      })
      res.on('data', (chunk: Buffer) => {
        at = performance.now()
        push(chunk)
      })
      res.on('error', () => {}) // aborted
      resolve({ abort: () => req.destroy() })
    })
    req.on('error', reject)
  })
}

/** Keep-alive connections for the HTTP publishes: a bounded pool, as a real client would use. */
const agent = new Agent({ keepAlive: true, maxSockets: 32 })

/** POST `body` as JSON; resolves with the status (0 on a network error). */
function post(url: string, body: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'POST', agent, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      res.resume()
      res.once('end', () => resolve(res.statusCode ?? 0))
    })
    req.once('error', () => resolve(0))
    req.end(body)
  })
}

/**
 * Calls `send(i)` for i = 0 .. count-1 at `rate` per second, open loop: each call is due at
 * start + i/rate, whether or not earlier ones finished (a late one does not push the rest back).
 * Records each call's time in `sent` (performance.now()).
 */
async function paced(count: number, rate: number, sent: Map<number, number>, send: (i: number) => void): Promise<void> {
  const start = performance.now()
  for (let i = 0; i < count; i++) {
    const wait = start + (i * 1000) / rate - performance.now()
    if (wait > 1)
      await new Promise(r => setTimeout(r, wait))
    sent.set(i, performance.now())
    send(i)
  }
}

/** Publishes `count` messages at `rate`/s over HTTP, open loop; records each send time. */
async function publishAtRate(base: string, body: (i: number) => object, count: number, rate: number, sent: Map<number, number>): Promise<{ rejected: number }> {
  let rejected = 0
  const pending: Promise<void>[] = []
  await paced(count, rate, sent, i => pending.push(post(`${base}/pubsub/publish`, JSON.stringify(body(i))).then((status) => {
    if (status !== 202) // 0: a network error counts as a failed publish, the run goes on
      rejected++
  })))
  await Promise.all(pending)
  return { rejected }
}

async function waitUntil(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check() && Date.now() < deadline) await new Promise(r => setTimeout(r, 20))
}

/** Publishes `count` messages straight to the broker (amqplib, this process) at `rate`/s. */
async function amqpPublishAtRate(amqpUrl: string, routingKey: string, count: number, rate: number, sent: Map<number, number>): Promise<void> {
  const conn = await connect(amqpUrl, { noDelay: true })
  const ch = await conn.createConfirmChannel()
  await paced(count, rate, sent, i => ch.publish('wire.topic', routingKey, Buffer.from(String(i))))
  await ch.waitForConfirms()
  await conn.close()
}

/** The floor: amqplib publish (confirm channel) -> consume, same process, no HTTP, no SSE. */
async function brokerFloor(amqpUrl: string): Promise<number[]> {
  const conn = await connect(amqpUrl, { noDelay: true })
  const ch = await conn.createConfirmChannel()
  const { queue } = await ch.assertQueue('', { exclusive: true, autoDelete: true })
  const sent = new Map<number, number>()
  const lat: number[] = []
  await ch.consume(queue, (msg) => {
    if (msg)
      lat.push(performance.now() - sent.get(Number(msg.content.toString()))!)
  }, { noAck: true })
  const count = (RATE * RUN_MS) / 1000
  await paced(count, RATE, sent, i => ch.sendToQueue(queue, Buffer.from(String(i))))
  await ch.waitForConfirms()
  await waitUntil(() => lat.length >= count, 10_000)
  await conn.close()
  return lat
}

export default async function (): Promise<BenchSection[]> {
  const loadBefore = loadavg()[0]!
  const { info, stop } = await provisionBroker()
  const { url, child } = await startDemoChild(info.amqpUrl, info.managementUrl)
  try {
    // 1. publish -> one SSE client, at RATE msg/s
    const count = (RATE * RUN_MS) / 1000
    const sent = new Map<number, number>()
    const lat: number[] = []
    // Where the time goes, from the server's timestamps (same machine, same wall clock).
    const hops = { http: [] as number[], broker: [] as number[], sse: [] as number[] }
    const sub = await subscribe(`${url}/pubsub/subscribe?bindingKey=bench.one`, (text, at, m) => {
      const send = sent.get(Number(text))!
      lat.push(at - send)
      const epoch = (t: number) => performance.timeOrigin + t
      hops.http.push(m.publishedAt - epoch(send))
      hops.broker.push(m.consumedAt - m.publishedAt)
      hops.sse.push(epoch(at) - m.sentAt)
    })
    // warm-up: connections, JIT
    await publishAtRate(url, i => ({ message: String(i), routingKey: 'bench.warm' }), 200, RATE, new Map())
    const one = await publishAtRate(url, i => ({ message: String(i), routingKey: 'bench.one' }), count, RATE, sent)
    await waitUntil(() => lat.length >= count, 10_000)
    sub.abort()

    // 1b. the push path alone: AMQP publish (no HTTP) -> broker -> demo server consumer -> SSE client
    const pushSent = new Map<number, number>()
    const pushLat: number[] = []
    const pushSub = await subscribe(`${url}/pubsub/subscribe?bindingKey=bench.push`, (text, at) => {
      pushLat.push(at - pushSent.get(Number(text))!)
    })
    await amqpPublishAtRate(info.amqpUrl, 'bench.push', count, RATE, pushSent)
    await waitUntil(() => pushLat.length >= count, 10_000)
    pushSub.abort()

    // 2. fanout to 100 SSE subscribers
    const fanSent = new Map<number, number>()
    const fanLat: number[] = []
    const subs = await Promise.all(Array.from({ length: FANOUT_SUBSCRIBERS }, () =>
      subscribe(`${url}/pubsub/subscribe?exchange=fanout`, (text, at) => {
        fanLat.push(at - fanSent.get(Number(text))!)
      })))
    const fanCount = (FANOUT_RATE * FANOUT_MS) / 1000
    const t0 = performance.now()
    const fan = await publishAtRate(url, i => ({ exchange: 'fanout', message: String(i) }), fanCount, FANOUT_RATE, fanSent)
    await waitUntil(() => fanLat.length >= fanCount * FANOUT_SUBSCRIBERS, 20_000)
    const fanSeconds = (performance.now() - t0) / 1000
    for (const s of subs) s.abort()

    // 3. the floor
    const floor = await brokerFloor(info.amqpUrl)

    const a = summary(lat)
    const p = summary(pushLat)
    const f = summary(fanLat)
    const b = summary(floor)
    return [{
      title: `RabbitMQ: publish -> SSE client (${RATE} msg/s for ${RUN_MS / 1000} s, loopback, broker ${info.kind})`,
      columns: ['path', 'messages', 'p50 ms', 'p99 ms', 'max ms', 'lost / rejected'],
      rows: [
        ['broker round trip alone (amqplib publish -> consume), the floor', b.n, ms(b.p50), ms(b.p99), ms(b.max), `${count - b.n} / 0`],
        ['AMQP publish -> broker -> demo-server consumer -> SSE client (the push path)', p.n, ms(p.p50), ms(p.p99), ms(p.max), `${count - p.n} / 0`],
        ['HTTP POST /pubsub/publish -> broker -> consumer -> SSE client', a.n, ms(a.p50), ms(a.p99), ms(a.max), `${count - a.n} / ${one.rejected}`],
        [`fanout: POST -> ${FANOUT_SUBSCRIBERS} SSE clients (${FANOUT_RATE} msg/s, ${Math.round(fanLat.length / fanSeconds)} deliveries/s)`, f.n, ms(f.p50), ms(f.p99), ms(f.max), `${fanCount * FANOUT_SUBSCRIBERS - f.n} / ${fan.rejected}`],
      ],
      notes: [
        `Target p99 <= 10 ms at ${RATE} msg/s: push path ${p.p99 <= 10 ? 'met' : 'NOT met'} (${ms(p.p99)} ms); with the HTTP publish in front ${a.p99 <= 10 ? 'met' : 'NOT met'} (${ms(a.p99)} ms).`,
        'Latency is measured in the bench process from just before the HTTP POST to the arrival of the SSE event; the demo server runs in a child process.',
        'The publish is acknowledged (202) only after the broker confirmed it; the SSE bridge acks each delivery after writing it (prefetch 100).',
        `HTTP path, median per hop: client -> publish handler ${ms(summary(hops.http).p50)} ms, handler -> consumer (broker) ${ms(summary(hops.broker).p50)} ms, SSE write -> client ${ms(summary(hops.sse).p50)} ms (p99: ${ms(summary(hops.http).p99)} / ${ms(summary(hops.broker).p99)} / ${ms(summary(hops.sse).p99)}).`,
        `Machine load average (1 min) before the run: ${loadBefore.toFixed(1)}, after: ${loadavg()[0]!.toFixed(1)}; on a busy 2-core box the broker, the demo server and this client compete for the CPU.`,
      ],
      data: { httpToSse: a, amqpToSse: p, fanout: f, floor: b },
    }]
  }
  finally {
    agent.destroy()
    if (child.exitCode === null) {
      child.kill('SIGTERM')
      await new Promise(r => child.once('exit', r))
    }
    await stop()
  }
}
