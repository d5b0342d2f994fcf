// HTTP patterns benchmark. Each row next to its floor, measured in the same run:
// - notification delay (server finish -> client knows) per pattern, against the loopback one-way
//   floor (a timer fires in another process and writes on an open socket);
// - capacity of one demo-server process for 10,000 held connections (SSE streams, pending long
//   polls), against 10,000 raw sockets given one pre-built write each, with no framework.
// The demo server runs in a child process, as `npm run demos` runs it; clients in this process
// (delay) or in a load-generator child with its own fd limit (capacity).
import type { ChildProcess } from 'node:child_process'
import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import type { HelperCommand, HelperReport } from '../demos/capacity/run.ts'
import type { CapacityMode, CapacityResult } from '../wire/capacity.ts'
import type { BenchSection } from './lib.ts'
import { fork } from 'node:child_process'
import { Agent, request } from 'node:http'
import { join } from 'node:path'
import { frameSplitter } from '../wire/sse.ts'
import { CAPACITY_SIZES } from '../wire/capacity.ts'
import { epochMs } from '../wire/clock.ts'
import { DEMO_NODE_ARGS } from '../demos/platform/config.ts'
import { f2, nextJson, oneWayFloor, percentile, ratio, RowFailed, rssKb, spawnUntilReady, stopChild } from './lib.ts'

/** Jobs per pattern for the delay measurement. */
const JOBS = Number(process.env.BENCH_JOBS ?? 240)
/** Jobs running at once while measuring delay. */
const CONCURRENCY = 2
const JOB_MS = 100
/** Short-polling interval, ms: the delay it adds is about half of it. */
const POLL_MS = 100
/** Held connections for the capacity runs: one of the sizes the capacity run offers (CAPACITY_SIZES). */
const CAPACITY = Number(process.env.BENCH_CAPACITY ?? 10_000)
/** The goal for a held connection's share of the server's RSS, KB (issue 23). */
const RSS_GOAL_KB = 12
if (!(CAPACITY_SIZES as readonly number[]).includes(CAPACITY))
  throw new Error(`BENCH_CAPACITY must be ${CAPACITY_SIZES.join(' or ')} (the sizes POST /capacity/runs offers), got ${process.env.BENCH_CAPACITY}`)

/** A keep-alive agent whose sockets are counted, to report bytes on the wire per job. */
function countingAgent() {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 })
  const sockets: Socket[] = []
  const create = agent.createConnection.bind(agent)
  agent.createConnection = ((opts: any, cb: any) => {
    const s = create(opts, cb) as Socket
    sockets.push(s)
    return s
  }) as typeof agent.createConnection
  return { agent, bytes: () => sockets.reduce((n, s) => n + s.bytesRead + s.bytesWritten, 0) }
}

interface Answer { status: number, body: string, res: IncomingMessage }
function call(base: string, agent: Agent, method: string, path: string, json?: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const body = json === undefined ? undefined : JSON.stringify(json)
    const req = request(`${base}${path}`, { method, agent, headers: body ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } : {} }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d) => { text += d })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, res }))
    })
    req.on('error', reject)
    req.end(body)
  })
}
const getJson = async <T>(base: string, agent: Agent, path: string) => JSON.parse((await call(base, agent, 'GET', path)).body) as T

type Job = { id: string, state: string, version: number, finishedAt: number | null, updatedAt: number }
type Watch = (base: string, agent: Agent) => Promise<{ requests: number, delay: number }>

const patterns: Record<string, Watch> = {
  'request/response (POST /work)': async (base, agent) => {
    const a = await call(base, agent, 'POST', '/work', { durationMs: JOB_MS })
    const job = JSON.parse(a.body) as Job
    return { requests: 1, delay: epochMs() - job.finishedAt! }
  },
  [`short polling (every ${POLL_MS} ms)`]: async (base, agent) => {
    const job = JSON.parse((await call(base, agent, 'POST', '/jobs', { durationMs: JOB_MS })).body) as Job
    let requests = 1
    for (;;) {
      await new Promise(r => setTimeout(r, POLL_MS))
      const j = await getJson<Job>(base, agent, `/jobs/${job.id}`)
      requests++
      if (j.state !== 'running')
        return { requests, delay: epochMs() - j.finishedAt! }
    }
  },
  'long polling (?wait=10&since=v)': async (base, agent) => {
    let j = JSON.parse((await call(base, agent, 'POST', '/jobs', { durationMs: JOB_MS })).body) as Job
    let requests = 1
    while (j.state === 'running') {
      j = await getJson<Job>(base, agent, `/jobs/${j.id}?wait=10&since=${j.version}`)
      requests++
    }
    return { requests, delay: epochMs() - j.finishedAt! }
  },
  'Server-Sent Events': async (base, agent) => {
    const job = JSON.parse((await call(base, agent, 'POST', '/jobs', { durationMs: JOB_MS })).body) as Job
    return { requests: 2, delay: await untilDone(`${base}/jobs/${job.id}/events`, agent) }
  },
}

/** Opens the event stream at `url`; resolves with the delay of its `done` (or `failed`) event: now - its finishedAt, ms. */
function untilDone(url: string, agent: Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      res.on('data', frameSplitter((f) => {
        if (f.type !== 'done' && f.type !== 'failed')
          return false
        resolve(epochMs() - (JSON.parse(f.data) as Job).finishedAt!)
        return true
      }))
    })
    req.on('error', reject)
    req.end()
  })
}

/**
 * The same client code against plain node:http (bench/floor-server.ts `http-timer`: a timer answers
 * a held GET, or writes one event to an open stream): what long polling and SSE cost at the least
 * on node:http, HTTP heads and parsing included.
 */
const httpFloors: Record<string, Watch> = {
  'plain node:http: a timer answers a held GET (the long poll\'s HTTP floor)': async (base, agent) => {
    const j = JSON.parse((await call(base, agent, 'GET', '/poll')).body) as Job
    return { requests: 1, delay: epochMs() - j.finishedAt! }
  },
  'plain node:http: a timer writes one event to an open stream (the stream\'s HTTP floor)': async (base, agent) =>
    ({ requests: 1, delay: await untilDone(`${base}/events`, agent) }),
}

/** The demo server as `npm run demos` runs it, on a free port, no broker (these patterns need none). */
async function startDemo(env: Record<string, string> = {}): Promise<{ child: ChildProcess, base: string }> {
  const { child, match } = await spawnUntilReady([...DEMO_NODE_ARGS], /listening on (http:\/\/[\d.]+:\d+)/, { DEMO_PORT: '0', AMQP_URL: 'amqp://127.0.0.1:1', ...env })
  child.stdout!.resume() // its log lines go nowhere
  return { child, base: match[1]! }
}


/** Runs `watch` JOBS times, CONCURRENCY at a time, against `base`: every delay (ms), requests and wire bytes per job. */
async function measure(base: string, watch: Watch): Promise<{ d: number[], requestsPerJob: number, bytesPerJob: number }> {
  const { agent, bytes } = countingAgent()
  const d: number[] = []
  let requests = 0
  let started = 0
  const worker = async () => {
    while (started < JOBS) {
      started++
      const r = await watch(base, agent)
      d.push(r.delay)
      requests += r.requests
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  agent.destroy()
  return { d, requestsPerJob: requests / JOBS, bytesPerJob: bytes() / JOBS }
}

/** The rows of `watches` against a server at `base`, each next to the one-way floor's p99. */
async function delayRows(base: string, watches: Record<string, Watch>, floorP99: number, data: Record<string, unknown>): Promise<Array<Array<string | number>>> {
  const rows: Array<Array<string | number>> = []
  for (const [name, watch] of Object.entries(watches)) {
    const { d, requestsPerJob, bytesPerJob } = await measure(base, watch)
    const p99 = percentile(d, 0.99)
    rows.push([name, f2(percentile(d, 0.5)), f2(p99), ratio(p99, floorP99), requestsPerJob.toFixed(1), Math.round(bytesPerJob)])
    data[name] = { jobs: JOBS, p50: percentile(d, 0.5), p99, max: Math.max(...d), requestsPerJob, wireBytesPerJob: bytesPerJob }
  }
  return rows
}

async function delays(): Promise<BenchSection> {
  const floor = await oneWayFloor()
  const floorP99 = percentile(floor, 0.99)
  const rows: Array<Array<string | number>> = [['loopback one-way: timer → write → read, another process (the floor)', f2(percentile(floor, 0.5)), f2(floorP99), '1.00×', '–', '–']]
  const data: Record<string, unknown> = { oneWayFloorMs: { p50: percentile(floor, 0.5), p99: floorP99 } }
  const http = await spawnUntilReady(['bench/floor-server.ts', 'http-timer'], /^listening (\d+)/)
  try {
    rows.push(...await delayRows(`http://127.0.0.1:${http.match[1]}`, httpFloors, floorP99, data))
  }
  finally {
    await stopChild(http.child)
  }
  const { child, base } = await startDemo()
  try {
    for (let i = 0; i < 300; i++) await call(base, new Agent(), 'GET', '/ping') // JIT warm-up
    rows.push(...await delayRows(base, patterns, floorP99, data))
  }
  finally {
    await stopChild(child)
  }
  const p99Of = (name: string) => (data[name] as { p99: number }).p99
  const [lpFloor, sseFloor] = Object.keys(httpFloors).map(p99Of) as [number, number]
  const target = (name: string, httpFloor: number) => `${name.split(' (')[0]} ${p99Of(name) <= 2 * floorP99 ? 'met' : 'NOT met'} (${ratio(p99Of(name), floorP99)}; ${ratio(p99Of(name), httpFloor)} its node:http floor)`
  return {
    title: `HTTP patterns: notification delay (server finish → client knows), ${JOBS} jobs of ${JOB_MS} ms, ${CONCURRENCY} at a time`,
    columns: ['pattern', 'delay p50 (ms)', 'delay p99 (ms)', 'p99 / floor p99', 'requests / job', 'bytes on the wire / job'],
    rows,
    notes: [
      `Target: SSE and long-polling p99 ≤ 2× the one-way floor's p99: ${target('long polling (?wait=10&since=v)', lpFloor)}; ${target('Server-Sent Events', sseFloor)}.`,
      'The demo server runs in a child process (as `npm run demos`), the node:http floors in another (bench/floor-server.ts http-timer, same client code); bytes are TCP payload both ways (headers included); requests include the POST.',
      `Short polling's delay is bounded by its interval (${POLL_MS} ms): about half of it on average. Request/response learns at once, but its client waited the whole job.`,
    ],
    data,
  }
}

interface Told { held: number, failed: number, rssPerConnKb: number, firstToLastMs: number, changeToLastMs: number, openMs: number }

/**
 * A write floor: CAPACITY connections held by a server of bench/floor-server.ts, `write` (raw
 * node:net sockets) or `http-hold` (node:http responses, no framework), opened by the capacity
 * demo's own load generator (demos/capacity/clients.ts, forked here as the demo server forks it),
 * then told with one pre-built frame each.
 */
async function writeFloor(mode: 'write' | 'http-hold' = 'write'): Promise<Told> {
  // node:http with the demo server's young generation (DEMO_NODE_ARGS), grown from the start as the
  // demo server's is by then: its growth during the burst is not counted against the connections.
  const v8 = mode === 'http-hold' ? ['--min-semi-space-size=8', '--max-semi-space-size=8', '--import', 'tsx'] : []
  const { child: server, match, lines: serverOut } = await spawnUntilReady([...v8, 'bench/floor-server.ts', mode], /^listening (\d+)/)
  const gen = fork(join(import.meta.dirname, '../demos/capacity/clients.ts'), [], { execArgv: ['--import', 'tsx'], env: { ...process.env, CAPACITY_DEADLINE_MS: '60000' }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const reports: HelperReport[] = []
  let wake = () => {}
  gen.on('message', (m: HelperReport) => {
    reports.push(m)
    wake()
  })
  const next = async (type: HelperReport['type'], timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const i = reports.findIndex(r => r.type === type)
      if (i >= 0)
        return reports.splice(i, 1)[0]!
      if (Date.now() > deadline || gen.exitCode !== null)
        throw new RowFailed(`no "${type}" from the load generator within ${timeoutMs} ms`)
      await new Promise<void>((resolve) => {
        wake = resolve
        setTimeout(resolve, 100)
      })
    }
  }
  try {
    await next('ready', 30_000)
    await new Promise(r => setTimeout(r, 200))
    const before = await rssKb(server.pid!)
    const t0 = Date.now()
    gen.send({ type: 'open', host: '127.0.0.1', port: Number(match[1]), mode: 'sse', path: '/', headers: {}, count: CAPACITY, marker: '\nid: 2\n' } satisfies HelperCommand)
    const opened = await next('opened', 60_000) as Extract<HelperReport, { opened: number }>
    const openMs = Date.now() - t0
    await new Promise(r => setTimeout(r, 500)) // every accept handled
    const after = await rssKb(server.pid!)
    server.stdin!.write('go\n')
    const stamp = await nextJson(serverOut, 'stamp', 10_000)
    const got = await next('received', 30_000) as Extract<HelperReport, { type: 'received' }>
    if (stamp.sockets < opened.opened || got.last === null || got.first === null)
      throw new RowFailed(`the floor server held ${stamp.sockets} of ${opened.opened} sockets, ${got.told} told`)
    return { held: stamp.sockets, failed: got.failed, rssPerConnKb: (after - before) / Math.max(1, stamp.sockets), firstToLastMs: got.last - got.first, changeToLastMs: got.last - stamp.at, openMs }
  }
  finally {
    if (gen.exitCode === null) {
      const gone = new Promise(r => gen.once('exit', r))
      gen.kill('SIGTERM')
      await gone
    }
    server.stdin!.end()
    await stopChild(server)
  }
}

/**
 * One capacity run on a fresh demo-server process: the run the capacity slide makes
 * (`POST /capacity/runs`, demos/capacity/): its helper process opens CAPACITY clients, the server
 * measures its own RSS before and with all of them held, finishes the run's job (the one change),
 * and the helper reports when the first and the last client received it.
 */
async function capacity(mode: CapacityMode): Promise<Told> {
  const { child: server, base } = await startDemo({ JOBS_DB: ':memory:', SSE_MAX_CLIENTS: String(CAPACITY + 100) })
  const agent = new Agent({ keepAlive: false })
  try {
    for (let i = 0; i < 300; i++) await call(base, agent, 'GET', '/ping') // JIT warm-up
    const answer = await call(base, agent, 'POST', '/capacity/runs', { mode, connections: CAPACITY })
    if (answer.status !== 200)
      throw new RowFailed(`POST /capacity/runs answered ${answer.status}: ${answer.body}`)
    const r = JSON.parse(answer.body) as CapacityResult
    if (r.tellAllMs === null || r.firstToldMs === null || r.held < CAPACITY)
      throw new RowFailed(`held ${r.held} of ${CAPACITY}, told ${r.told}, failed ${r.failed}`)
    return { held: r.held, failed: r.failed, rssPerConnKb: r.rssPerConnectionKb, firstToLastMs: r.tellAllMs - r.firstToldMs, changeToLastMs: r.tellAllMs, openMs: r.openMs }
  }
  finally {
    agent.destroy()
    await stopChild(server)
  }
}

export default async function (): Promise<BenchSection[]> {
  const out = [await delays()]
  const failed: string[] = []
  const rows: Array<Array<string | number>> = []
  const data: Record<string, Told | string> = {}
  let floor: Told | undefined
  const runs: Array<[string, () => Promise<Told>, number]> = [
    [`raw node:net, ${CAPACITY} sockets, one pre-built write each (the floor)`, () => writeFloor('write'), Number.NaN],
    [`plain node:http, ${CAPACITY} responses held, writeHead + one write each (no framework: what node:http itself holds)`, () => writeFloor('http-hold'), Number.NaN],
    ['SSE streams (GET /jobs/:id/events)', () => capacity('sse'), 150],
    ['pending long polls (GET /jobs/:id?wait=30&since=v)', () => capacity('long-poll'), 400],
  ]
  const rssRatio = (row: string, to: string) => ratio((data[row] as Told | undefined)?.rssPerConnKb ?? Number.NaN, (data[to] as Told | undefined)?.rssPerConnKb ?? Number.NaN)
  for (const [name, run, goalMs] of runs) {
    try {
      const t = await run()
      floor ??= t
      data[name] = t
      const goal = Number.isNaN(goalMs) ? '' : ` (goal ≤ ${RSS_GOAL_KB} KB, ≤ ${goalMs} ms: ${t.rssPerConnKb <= RSS_GOAL_KB && t.changeToLastMs <= goalMs ? 'met' : 'NOT met'})`
      rows.push([`${name}${goal}`, t.held, t.failed, t.rssPerConnKb.toFixed(1), ratio(t.rssPerConnKb, floor.rssPerConnKb), f2(t.changeToLastMs), ratio(t.changeToLastMs, floor.changeToLastMs), f2(t.firstToLastMs), t.openMs])
    }
    catch (err) {
      const why = (err as Error).message
      failed.push(`${name}: ${why}`)
      data[name] = why
      rows.push([name, 'FAILED', why, '', '', '', '', '', ''])
    }
  }
  out.push({
    title: `HTTP patterns: ${CAPACITY} held connections on one demo-server process (clients in another process)`,
    columns: ['held connections', 'held', 'failed', 'server RSS / connection (KB)', 'RSS / floor', 'change → last client told (ms)', 'told / floor', 'first → last told (ms)', 'time to open all (ms)'],
    rows,
    notes: [
      'Each row is the capacity slide\'s own run (POST /capacity/runs, demos/capacity/) on a fresh server: the change is its job finishing, stamped by the server (finishedAt), once /health counts every client held; the floor\'s is the stamp taken just before its write loop. One load generator (demos/capacity/clients.ts) for every row.',
      'RSS is the server\'s resident memory with all connections held minus before, divided by their number (kernel socket buffers are not in it).',
      `Of a held response's RSS, node:http keeps most (its row): its HTTP parser alone is ~6 KB of native memory per connection (a plain node:http server holding 10,000 fell from 14.2 to 7.3 KB each when the parsers were freed, which node:http does only for an upgraded connection). SSE / node:http ${rssRatio(runs[2]![0], runs[1]![0])}, long polls / node:http ${rssRatio(runs[3]![0], runs[1]![0])}.`,
    ],
    data,
    failed,
  })
  return out
}
