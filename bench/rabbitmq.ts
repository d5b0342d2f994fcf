// `npx tsx bench/index.ts rabbitmq`: publish throughput next to its floors (plain node:http and a
// trivial Express route with no broker, amqplib publishing with confirm alone, and a node:http route
// that publishes with confirm, each in a process of its own; same client, same concurrency), the highest publish
// rate whose publish -> SSE-client p99 stays <= 50 ms and the latency at half of it, the push path
// alone, fanout to 100 SSE subscribers (three runs), and the broker round trip alone (amqplib) as their floor.
// The demo server runs in a child process (as `npm run demos` does); this process publishes
// over HTTP and reads the event streams, so every latency is measured on one clock.
import type { ChildProcess } from 'node:child_process'
import type { BenchSection } from './lib.ts'
import { spawn } from 'node:child_process'
import { Agent, get } from 'node:http'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { connect } from 'amqplib'
import { frameSplitter } from '../wire/sse.ts'
import { DEMO_NODE_ARGS } from '../demos/platform/config.ts'
import { provisionBroker } from '../tools/broker.ts'
import { closedLoop, percentile, postJson, ratio, spawnUntilReady, stopChild } from './lib.ts'

const ROOT = join(import.meta.dirname, '..')
/** Connections of the closed-loop throughput runs (the floors and the publish route alike). */
const TP_CONCURRENCY = 10
const TP_MS = 3000
/** The publish -> SSE p99 a sustained rate must keep, ms. */
const SUSTAINED_P99_MS = 50
/** Length of the steady-rate runs (half the sustained rate; the push path), ms. */
const RUN_MS = 4000
/**
 * Each step of the rate search runs this long, ms: as long as the steady runs, so a rate the server
 * cannot keep up with has time to show its queue (in 2 s steps a rate above the closed-loop
 * throughput passed with a p99 of 29 ms, and half of it then failed).
 */
const STEP_MS = RUN_MS
const FANOUT_SUBSCRIBERS = 100
const FANOUT_RATE = 100
const FANOUT_MS = 3000
/** An unreported run before them, same subscribers and rate. */
const FANOUT_WARMUP_MS = 1000
/** Fanout runs in a row: the goal must hold in each. */
const FANOUT_RUNS = 3

const ms = (n: number) => n.toFixed(2)

function summary(latencies: number[]): { p50: number, p99: number, max: number, n: number } {
  const s = [...latencies].sort((a, b) => a - b)
  return { p50: percentile(s, 0.5), p99: percentile(s, 0.99), max: s.at(-1) ?? Number.NaN, n: s.length }
}

/** Starts `demos/main.ts` on a free port against the broker; resolves with its base URL. */
async function startDemoChild(amqpUrl: string, managementUrl?: string): Promise<{ url: string, child: ChildProcess }> {
  const child = spawn(process.execPath, [...(process.env.BENCH_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROF}`] : []), ...DEMO_NODE_ARGS], {
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
  await paced(count, rate, sent, i => pending.push(postJson(`${base}/pubsub/publish`, JSON.stringify(body(i)), agent).then((status) => {
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
async function brokerFloor(amqpUrl: string, rate: number): Promise<number[]> {
  const conn = await connect(amqpUrl, { noDelay: true })
  const ch = await conn.createConfirmChannel()
  const { queue } = await ch.assertQueue('', { exclusive: true, autoDelete: true })
  const sent = new Map<number, number>()
  const lat: number[] = []
  await ch.consume(queue, (msg) => {
    if (msg)
      lat.push(performance.now() - sent.get(Number(msg.content.toString()))!)
  }, { noAck: true })
  const count = Math.round((rate * RUN_MS) / 1000)
  await paced(count, rate, sent, i => ch.sendToQueue(queue, Buffer.from(String(i))))
  await ch.waitForConfirms()
  await waitUntil(() => lat.length >= count, 10_000)
  await conn.close()
  return lat
}

/** One steady run: publishes over HTTP at `rate`/s for `runMs` to one SSE subscriber of `key`. */
async function publishRun(url: string, key: string, rate: number, runMs: number): Promise<{ lat: ReturnType<typeof summary>, sent: number, lost: number, rejected: number, hops: { http: number[], broker: number[], sse: number[] } }> {
  const count = Math.max(1, Math.round((rate * runMs) / 1000))
  const sent = new Map<number, number>()
  const lat: number[] = []
  // Where the time goes, from the server's timestamps (same machine, same wall clock).
  const hops = { http: [] as number[], broker: [] as number[], sse: [] as number[] }
  const sub = await subscribe(`${url}/pubsub/subscribe?bindingKey=${key}`, (text, at, m) => {
    const send = sent.get(Number(text))!
    lat.push(at - send)
    const epoch = (t: number) => performance.timeOrigin + t
    hops.http.push(m.publishedAt - epoch(send))
    hops.broker.push(m.consumedAt - m.publishedAt)
    hops.sse.push(epoch(at) - m.sentAt)
  })
  const { rejected } = await publishAtRate(url, i => ({ message: String(i), routingKey: key }), count, rate, sent)
  await waitUntil(() => lat.length >= count - rejected, 10_000)
  sub.abort()
  return { lat: summary(lat), sent: count, lost: count - rejected - lat.length, rejected, hops }
}

type Throughput = Awaited<ReturnType<typeof closedLoop>>
/** The throughput floors: no broker (`http`, `express`), the broker alone (`confirm`), HTTP to the broker (`http-broker`). */
type FloorName = 'http' | 'express' | 'confirm' | 'http-broker'

/**
 * Closed-loop throughput of the floors (bench/floor-server.ts), each in its own process, the same
 * client, body and concurrency as the publish route: plain node:http and a trivial Express route (no
 * broker); amqplib alone publishing with confirm, TP_CONCURRENCY in flight (no HTTP); and a node:http
 * route that publishes each body with confirm and answers 202 after it (the floor of the route).
 */
async function throughputFloors(body: (i: number) => string, amqpUrl: string): Promise<Record<FloorName, Throughput>> {
  const floors: Partial<Record<FloorName, Throughput>> = {}
  const env = { AMQP_URL: amqpUrl }
  for (const mode of ['http', 'express', 'http-broker'] as const) {
    const { child, match } = await spawnUntilReady(['bench/floor-server.ts', mode], /^listening (\d+)/, env)
    try {
      floors[mode] = await closedLoop(`http://127.0.0.1:${match[1]}/publish`, body, { concurrency: TP_CONCURRENCY, durationMs: TP_MS })
    }
    finally {
      await stopChild(child)
    }
  }
  const { child, match } = await spawnUntilReady(['bench/floor-server.ts', 'confirm', String(TP_CONCURRENCY), String(TP_MS)], /^result (.*)/, env, TP_MS + 30_000)
  await stopChild(child)
  floors.confirm = JSON.parse(match[1]!) as Throughput
  return floors as Record<FloorName, Throughput>
}

/**
 * The highest open-loop publish rate whose publish -> SSE p99 stays <= SUSTAINED_P99_MS with nothing
 * rejected or lost: a geometric ladder from 50/s (up to 4x the trivial Express floor), then one
 * bisection step between the last rate that held and the first that did not. `best` is 0 if none held.
 */
async function sustainedRate(url: string, express: number): Promise<{ best: number, steps: Array<{ rate: number, p99: number, ok: boolean }> }> {
  await publishRun(url, 'bench.warm', 500, 1000) // connections, JIT
  const steps: Array<{ rate: number, p99: number, ok: boolean }> = []
  const tryRate = async (rate: number) => {
    const r = await publishRun(url, `bench.r${steps.length}`, rate, STEP_MS)
    const ok = r.rejected === 0 && r.lost === 0 && r.lat.p99 <= SUSTAINED_P99_MS
    steps.push({ rate, p99: r.lat.p99, ok })
    return ok
  }
  let best = 0
  let worst = Number.POSITIVE_INFINITY
  for (let rate = 50; rate < 4 * express; rate = Math.round(rate * 1.6)) {
    if (!(await tryRate(rate))) {
      worst = rate
      break
    }
    best = rate
  }
  if (best > 0 && Number.isFinite(worst)) {
    const mid = Math.round((best + worst) / 2)
    if (await tryRate(mid))
      best = mid
  }
  return { best, steps }
}

/** The push path alone at `rate` for RUN_MS: AMQP publish (no HTTP) -> broker -> demo server -> SSE client; delays in ms. */
async function pushPath(url: string, amqpUrl: string, rate: number): Promise<number[]> {
  const pushSent = new Map<number, number>()
  const pushLat: number[] = []
  const pushSub = await subscribe(`${url}/pubsub/subscribe?bindingKey=bench.push`, (text, at) => {
    pushLat.push(at - pushSent.get(Number(text))!)
  })
  const pushCount = Math.round((rate * RUN_MS) / 1000)
  await amqpPublishAtRate(amqpUrl, 'bench.push', pushCount, rate, pushSent)
  await waitUntil(() => pushLat.length >= pushCount, 10_000)
  pushSub.abort()
  return pushLat
}

/** One fanout run's deliveries: every delay in ms, how many were published, how long it took (s), how many publishes were refused. */
interface FanoutRun { lat: number[], count: number, seconds: number, rejected: number }

/**
 * Fanout, FANOUT_RUNS runs in a row to the same FANOUT_SUBSCRIBERS SSE clients (subscribed once, so
 * no run pays for another's parked queues), after an unreported warm-up run of FANOUT_WARMUP_MS: each
 * publishes FANOUT_RATE msg/s for FANOUT_MS through POST /pubsub/publish and waits for every delivery.
 */
async function fanout(url: string): Promise<FanoutRun[]> {
  let run: { sent: Map<number, number>, lat: number[] } = { sent: new Map(), lat: [] }
  const subs = await Promise.all(Array.from({ length: FANOUT_SUBSCRIBERS }, () =>
    subscribe(`${url}/pubsub/subscribe?exchange=fanout`, (text, at) => {
      const sent = run.sent.get(Number(text))
      if (sent !== undefined)
        run.lat.push(at - sent)
    })))
  const runs: FanoutRun[] = []
  try {
    // Run 0 is a warm-up, not reported (1 s: the 100 new queues' first deliveries, the JIT on this path).
    for (let r = -1; r < FANOUT_RUNS; r++) {
      run = { sent: new Map(), lat: [] }
      const count = (FANOUT_RATE * (r < 0 ? FANOUT_WARMUP_MS : FANOUT_MS)) / 1000
      const t0 = performance.now()
      const { rejected } = await publishAtRate(url, i => ({ exchange: 'fanout', message: String(i) }), count, FANOUT_RATE, run.sent)
      const { lat } = run
      await waitUntil(() => lat.length >= (count - rejected) * FANOUT_SUBSCRIBERS, 20_000)
      if (r >= 0)
        runs.push({ lat, count, seconds: (performance.now() - t0) / 1000, rejected })
      await new Promise(r => setTimeout(r, 300)) // the last acks settle
    }
  }
  finally {
    for (const s of subs) s.abort()
  }
  return runs
}

/** The publish route's closed loop and the open-loop rate search, each next to the floors. */
function throughputTable(floors: Record<FloorName, Throughput>, closed: Throughput, sustained: Awaited<ReturnType<typeof sustainedRate>>): BenchSection {
  const { best, steps } = sustained
  const express = floors.express.rps
  const broker = floors['http-broker'].rps
  const tp = (name: string, r: Throughput) => [name, Math.round(r.rps), ratio(r.rps, express), ratio(r.rps, broker), ms(r.p50), ms(r.p99), r.failed]
  const failed: string[] = []
  if (best === 0)
    failed.push(`no publish rate from 50/s up kept p99 ≤ ${SUSTAINED_P99_MS} ms with nothing lost (first step: p99 ${ms(steps[0]?.p99 ?? Number.NaN)} ms)`)
  const met = (ok: boolean) => (ok ? 'met' : 'NOT met')
  return {
    title: `RabbitMQ publish throughput: ${TP_CONCURRENCY} keep-alive connections (or publishes in flight), closed loop, ${TP_MS / 1000} s each (floors in processes of their own)`,
    columns: ['server', 'requests/s', '/ trivial Express', '/ HTTP → broker floor', 'request p50 ms', 'request p99 ms', 'errors'],
    rows: [
      tp('plain node:http, parse the JSON, answer 202 (floor, no broker)', floors.http),
      tp('trivial Express 5 route: express.json() + res.status(202).json() (floor, no broker)', floors.express),
      tp(`amqplib alone: confirm channel, ${TP_CONCURRENCY} publishes in flight, no HTTP (broker floor; latency publish → confirm)`, floors.confirm),
      tp('node:http route: parse the JSON, publish with confirm, 202 after the confirm (HTTP → broker floor)', floors['http-broker']),
      tp(`POST /pubsub/publish (the demo server; 202 after the publisher confirm; goal ≥ 0.7× HTTP → broker: ${met(closed.rps >= 0.7 * broker)})`, closed),
      [`highest open-loop rate with publish → SSE p99 ≤ ${SUSTAINED_P99_MS} ms, nothing lost (publish and delivery to a subscriber: the rate the next table runs at half of)`, best, ratio(best, express), ratio(best, broker), '', '', ''],
    ],
    notes: [
      `Rate search (open loop, ${STEP_MS / 1000} s per step, one SSE subscriber): ${steps.map(s => `${s.rate}/s → p99 ${ms(s.p99)} ms${s.ok ? '' : ' ✗'}`).join(', ')}.`,
      'The broker floors publish to the same topic exchange as the route (wire.topic, bench.tp: routed to no queue), on a connection of their own with Nagle off, as the demo server does. The route also asks the broker to return unroutable messages (mandatory) to say whether anyone got it.',
      'Every publish crosses the broker: this machine runs RabbitMQ, the demo server and the load client on the same cores, while the no-broker floors share them with the client only.',
    ],
    data: { floors, closed, steps, sustained: best },
    failed,
  }
}

export default async function (): Promise<BenchSection[]> {
  const loadBefore = loadavg()[0]!
  const { info, stop } = await provisionBroker()
  let child: ChildProcess | undefined
  try {
    // 1. Throughput floors: the same client, the same JSON body, the same concurrency.
    const body = (i: number) => JSON.stringify({ message: String(i), routingKey: 'bench.tp' })
    const floors = await throughputFloors(body, info.amqpUrl)
    const demo = await startDemoChild(info.amqpUrl, info.managementUrl)
    child = demo.child
    const { url } = demo
    // 2. The publish route, closed loop, as the floors (routed to no queue: the broker returns it).
    const closed = await closedLoop(`${url}/pubsub/publish`, body, { concurrency: TP_CONCURRENCY, durationMs: TP_MS })
    const sustained = await sustainedRate(url, floors.express.rps)
    const half = Math.max(50, Math.round(sustained.best / 2))
    await new Promise(r => setTimeout(r, 2000)) // the last (failed) step's backlog gone
    const atHalf = await publishRun(url, 'bench.half', half, RUN_MS)
    // 3. The push path alone and fanout; then the latency floor at the same rate.
    const pushLat = await pushPath(url, info.amqpUrl, half)
    const fans = await fanout(url)
    const floor = summary(await brokerFloor(info.amqpUrl, half))
    return [throughputTable(floors, closed, sustained), latencyTable({ kind: info.kind, half, atHalf, pushLat, fans, floor, loadBefore })]
  }
  finally {
    agent.destroy()
    if (child?.exitCode === null) {
      child.kill('SIGTERM')
      await new Promise(r => child!.once('exit', r))
    }
    await stop()
  }
}

/** Publish → SSE at half the sustained rate, the push path alone, and each fanout run, next to the broker round trip. */
function latencyTable(m: { kind: string, half: number, atHalf: Awaited<ReturnType<typeof publishRun>>, pushLat: number[], fans: FanoutRun[], floor: ReturnType<typeof summary>, loadBefore: number }): BenchSection {
  const { half, atHalf, floor } = m
  const a = atHalf.lat
  const p = summary(m.pushLat)
  const count = Math.round((half * RUN_MS) / 1000)
  const fanSummaries = m.fans.map(r => ({ ...summary(r.lat), lost: (r.count - r.rejected) * FANOUT_SUBSCRIBERS - r.lat.length, rejected: r.rejected, perS: Math.round(r.lat.length / r.seconds) }))
  const fanOk = fanSummaries.every(f => f.p99 <= 50 && f.rejected === 0 && f.lost === 0)
  return {
    title: `RabbitMQ: publish → SSE client at half the sustained rate (${half} msg/s for ${RUN_MS / 1000} s, loopback, broker ${m.kind})`,
    columns: ['path', 'messages', 'p50 ms', 'p99 ms', 'p99 / floor p99', 'max ms', 'lost / rejected'],
    rows: [
      ['broker round trip alone (amqplib publish → consume, one process), the floor', floor.n, ms(floor.p50), ms(floor.p99), '1.00×', ms(floor.max), `${count - floor.n} / 0`],
      ['AMQP publish → broker → demo-server consumer → SSE client (the push path)', p.n, ms(p.p50), ms(p.p99), ratio(p.p99, floor.p99), ms(p.max), `${count - p.n} / 0`],
      [`HTTP POST /pubsub/publish → broker → consumer → SSE client (goal p99 ≤ 10 ms: ${a.p99 <= 10 ? 'met' : 'NOT met'})`, a.n, ms(a.p50), ms(a.p99), ratio(a.p99, floor.p99), ms(a.max), `${atHalf.lost} / ${atHalf.rejected}`],
      ...fanSummaries.map((f, i) => [`fanout run ${i + 1} of ${FANOUT_RUNS}: POST → ${FANOUT_SUBSCRIBERS} SSE clients (${FANOUT_RATE} msg/s, ${f.perS} deliveries/s; goal p99 ≤ 50 ms, 0 lost or rejected, in every run: ${fanOk ? 'met' : 'NOT met'})`, f.n, ms(f.p50), ms(f.p99), ratio(f.p99, floor.p99), ms(f.max), `${f.lost} / ${f.rejected}`]),
    ],
    notes: [
      'Latency is measured in the bench process from just before the HTTP POST (or AMQP publish) to the arrival of the SSE event; the demo server runs in a child process.',
      'The publish is acknowledged (202) only after the broker confirmed it; the SSE bridge acks deliveries once written (prefetch 100).',
      `Fanout: the same ${FANOUT_SUBSCRIBERS} subscribers for the ${FANOUT_RUNS} runs of ${FANOUT_MS / 1000} s, one after the other, after an unreported ${FANOUT_WARMUP_MS / 1000} s warm-up run to them (their new queues' first deliveries, the JIT).`,
      `HTTP path, median per hop: client → publish handler ${ms(median(atHalf.hops.http))} ms, handler → consumer (broker) ${ms(median(atHalf.hops.broker))} ms, SSE write → client ${ms(median(atHalf.hops.sse))} ms.`,
      `Machine load average (1 min) before the run: ${m.loadBefore.toFixed(1)}, after: ${loadavg()[0]!.toFixed(1)}.`,
    ],
    data: { rate: half, httpToSse: a, amqpToSse: p, fanout: fanSummaries, floor },
  }
}

const median = (xs: number[]) => summary(xs).p50
