// Simulated phones for audience mode, in processes of their own (the tests and the bench run it
// with `node --import tsx tools/audience-devices.ts <json>`): they join the audience listener on
// loopback, each over the transport it is assigned, and report every push as the phone page does.
// Input (argv[2], JSON): { url, token, devices, pushes, timeoutMs?, processes?, floor?, floorSockets?, vote?, hold? }.
// With `vote` (a VotePlan, tools/audience-voters.ts) each device votes once it hears that question open.
// Output: one line `ready <n>` once every device is listening, then, once each has `pushes`
// pushes (and voted, with `vote`; or at the deadline), one JSON line: AudienceRun. Then every device leaves
// (with `hold`: once a line comes on stdin, so the caller can look at the room first) and it exits.
//
// A room's phones each have their own CPU; 1,000 simulated ones share this machine's. So that the
// load generator costs as little as it can and is not what the numbers measure:
// - `processes` > 1 splits the phones over that many child processes (each joins its share; the
//   room assigns transports round-robin, so each process holds a mix); this one only merges.
// - A phone stamps a push's arrival (epochMs, wire/clock.ts: the server's clock on the same machine)
//   in the first callback that sees its bytes (a response, an SSE chunk, a WebSocket message), and
//   does everything else after the I/O of that turn (setImmediate): parsing, the next long poll.
// - Its report (POST /api/report, as the phone page sends at once) goes REPORT_AFTER_MS later,
//   after the fan-out, not on the shared cores in the middle of it.
// - node:http and ws, not fetch: one request costs a few tens of µs, and no shared AbortSignal.
// `floor` (a URL of bench/floor-server.ts `write`): `floorSockets` raw sockets besides (default as
// many as phones), in the same processes, each stamping the floor server's pre-built frames the
// same way (the fan-out floor).
import type { ClientRequest, IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import type { VotePlan, VoteRun } from './audience-voters.ts'
import type { PhoneVote, Transport } from '../wire/audience.ts'
import { spawn } from 'node:child_process'
import { Agent, request } from 'node:http'
import { connect } from 'node:net'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import WebSocket from 'ws'
import { epochMs } from '../wire/clock.ts'
import { frameSplitter } from '../wire/sse.ts'
import { simulatedVotes } from './audience-voters.ts'

/** What the phones heard, per transport, and the raw floor sockets under `floor` when there were any. */
export interface AudienceRun {
  /** Phones (raw floor sockets not counted). */
  devices: number
  /** Pushes each device received, per transport: [min, max]. */
  received: Record<Transport, [number, number]> & { floor?: [number, number] }
  /** Delivery delays (server's `sentAt` → the phone's first callback with the bytes, both epochMs), ms, per transport, every push of every device. */
  delays: Record<Transport, number[]> & { floor?: number[] }
  /** Devices that missed a push or got one twice. */
  missing: number
  duplicates: number
  /** Processes the phones ran in (not counting the one that merged their results). */
  processes: number
  /** How long after a push arrived each phone reported it, ms (REPORT_AFTER_MS). */
  reportAfterMs: number
  /** With a vote plan: what the room voted. */
  votes?: VoteRun
}

interface Args { url: string, token: string, devices: number, pushes: number, timeoutMs?: number, processes?: number, floor?: string, floorSockets?: number, vote?: VotePlan, shard?: boolean, first?: number, hold?: boolean }

/** How long after a push arrived its report goes, ms: after the fan-out it reports on. */
const REPORT_AFTER_MS = 250

const args = JSON.parse(process.argv[2] ?? '{}') as Args
const sleep = (ms: number) => new Promise(r => setTimeout(r, ms))
const agent = new Agent({ keepAlive: true })
let stopped = false
let duplicates = 0

interface Sim { i: number, id: string, transport: Transport | 'floor', seq: number, got: Map<number, number>, listening: boolean, close?: () => void }
interface Heard { seq: number, sentAt: number, vote?: PhoneVote | null }
/** The phones' votes, by the plan (phone i is device `first + i` of the whole room). */
const votes = args.vote ? simulatedVotes(args.url, args.devices, args.vote) : undefined

/** One HTTP request on the keep-alive agent; resolves with the status, the body and `at`: epochMs when its head arrived. */
function call(method: string, path: string, body?: string): Promise<{ status: number, body: string, at: number }> & { req?: ClientRequest } {
  let req: ClientRequest
  const answer = new Promise<{ status: number, body: string, at: number }>((resolve, reject) => {
    req = request(`${args.url}${path}`, { method, agent, headers: body ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } : {} }, (res) => {
      const at = epochMs()
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => (text += d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, at }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
  return Object.assign(answer, { req: req! })
}

/**
 * `POST path` with `body`, tried three times, as a well-behaved phone does: on a loaded machine a
 * reused keep-alive socket can be reset, and pushes that come in a burst can take a phone past its
 * rate limit (10 requests a second: 429), so it waits 1 s, then 2 s. A leave that never arrived
 * would hold the device until the server's idle sweep (30 s); a lost report, a missing delay.
 */
async function postPolitely(path: string, body: string): Promise<void> {
  for (let attempt = 1; attempt <= 3; attempt++) {
    const res = await call('POST', path, body).catch(() => null)
    if (res && res.status !== 429 && res.status < 500)
      return
    await sleep(1000 * attempt)
  }
}

const reports: Array<{ device: string, seq: number, receivedAt: number }> = []
const sending = new Set<Promise<unknown>>()
let reportTimer: NodeJS.Timeout | undefined
function flushReports(): void {
  reportTimer = undefined
  for (const r of reports.splice(0)) {
    const sent = postPolitely('/api/report', JSON.stringify(r))
    sending.add(sent)
    void sent.then(() => sending.delete(sent))
  }
}

/** `pushes` reached `sim` at `at` (epochMs): counted once each, reported a little later. */
function heard(sim: Sim, pushes: Heard[], at: number): void {
  for (const p of pushes) {
    sim.seq = Math.max(sim.seq, p.seq)
    if (sim.got.has(p.seq)) {
      duplicates++
      continue
    }
    sim.got.set(p.seq, at - p.sentAt)
    if ('vote' in p) // the room's question: voted on, not reported (as the phone page does)
      votes?.heard(sim.i, sim.id, p.vote)
    else if (sim.transport !== 'floor')
      reports.push({ device: sim.id, seq: p.seq, receivedAt: at })
  }
  reportTimer ??= setTimeout(flushReports, REPORT_AFTER_MS)
}

const afterIo = () => new Promise(resolve => setImmediate(resolve))

async function poll(sim: Sim, path: 'poll' | 'long-poll'): Promise<void> {
  if (path === 'poll')
    await sleep(Math.random() * 1000) // phones join at different moments: their polls are spread over the second
  sim.listening = path === 'long-poll' // a long poll is held from its first request on
  while (!stopped) {
    const asked = call('GET', `/api/${path}?device=${sim.id}&after=${sim.seq}`)
    sim.close = () => asked.req?.destroy()
    const r = await asked.catch(() => null)
    sim.listening = true
    await afterIo()
    if (r?.status === 200)
      heard(sim, (JSON.parse(r.body) as { pushes: Heard[] }).pushes, r.at)
    if (path === 'poll' || r?.status !== 200)
      await sleep(1000)
  }
}

function sse(sim: Sim): Promise<void> {
  return new Promise((resolve) => {
    const req = request(`${args.url}/api/events?device=${sim.id}&after=${sim.seq}`, { agent }, (res: IncomingMessage) => {
      sim.listening = true
      let at = 0
      const split = frameSplitter((f) => {
        if (f.dispatch && f.type === 'push')
          heard(sim, [JSON.parse(f.data) as Heard], at)
      })
      res.on('data', (chunk: Buffer) => {
        const now = epochMs()
        setImmediate(() => {
          at = now
          split(chunk)
        })
      })
      res.on('close', resolve)
    })
    req.on('error', () => resolve())
    req.end()
    sim.close = () => req.destroy()
  })
}

function websocket(sim: Sim): Promise<void> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${args.url.replace(/^http/, 'ws')}/api/ws?device=${sim.id}&after=${sim.seq}`, { perMessageDeflate: false })
    ws.once('open', () => (sim.listening = true))
    ws.on('message', (data) => {
      const at = epochMs()
      setImmediate(() => {
        const m = JSON.parse(String(data)) as Heard & { type: string }
        if (m.type === 'push')
          heard(sim, [m], at)
      })
    })
    ws.on('error', () => {})
    ws.once('close', resolve)
    sim.close = () => ws.close(1000)
  })
}

/** A raw floor socket (`floor`): asks once, then stamps each pre-built frame; its `"at":` is the floor server's stamp. */
function rawSocket(sim: Sim): Promise<void> {
  return new Promise((resolve) => {
    const url = new URL(args.floor!)
    const s: Socket = connect(Number(url.port), url.hostname, () => s.write(`GET / HTTP/1.1\r\nHost: ${url.host}\r\n\r\n`))
    s.setNoDelay(true)
    let n = 0
    s.on('data', (chunk: Buffer) => {
      const at = epochMs()
      if (!sim.listening)
        return void (sim.listening = true) // the head
      setImmediate(() => {
        for (const m of chunk.toString().matchAll(/"at":([\d.]+)/g)) heard(sim, [{ seq: ++n, sentAt: Number(m[1]) }], at)
      })
    })
    s.on('error', () => {})
    s.once('close', () => resolve())
    sim.close = () => s.destroy()
  })
}

function run(sim: Sim): Promise<void> {
  switch (sim.transport) {
    case 'short-poll': return poll(sim, 'poll')
    case 'long-poll': return poll(sim, 'long-poll')
    case 'sse': return sse(sim)
    case 'websocket': return websocket(sim)
    case 'floor': return rawSocket(sim)
  }
}

async function join(i: number): Promise<Sim> {
  const r = await call('POST', '/api/join', JSON.stringify({ token: args.token, nickname: `sim ${i + 1}` }))
  if (r.status !== 201)
    throw new Error(`join ${i + 1}: ${r.status} ${r.body}`)
  const j = JSON.parse(r.body) as { device: string, transport: Transport, seq: number }
  return { i: (args.first ?? 0) + i, id: j.device, transport: j.transport, seq: j.seq, got: new Map(), listening: false }
}

type Merged = Omit<AudienceRun, 'received' | 'delays'> & { received: Record<string, [number, number]>, delays: Record<string, number[]> }

function result(sims: Sim[]): Merged {
  const out: Merged = { devices: sims.filter(s => s.transport !== 'floor').length, received: {}, delays: {}, missing: 0, duplicates, processes: 1, reportAfterMs: REPORT_AFTER_MS, votes: votes?.result() }
  for (const s of sims) {
    const [lo, hi] = out.received[s.transport] ?? [Infinity, 0]
    out.received[s.transport] = [Math.min(lo, s.got.size), Math.max(hi, s.got.size)]
    ;(out.delays[s.transport] ??= []).push(...s.got.values())
    if (s.got.size < args.pushes)
      out.missing++
  }
  return out
}

/** This process's phones: join, listen, say `ready`, wait for the pushes, print the result, leave. */
async function phones(): Promise<void> {
  // A child of the merging process: gone with it, and its phones leave when it says (once every
  // child's result is in and printed, so one child's phones do not leave before the others report).
  const mayLeave = new Promise(resolve => (args.shard || args.hold ? createInterface({ input: process.stdin }).once('line', resolve).once('close', () => process.exit(0)) : resolve(null)))
  const sims: Sim[] = []
  for (let i = 0; i < args.devices; i++) sims.push(await join(i))
  for (let i = 0; args.floor && i < (args.floorSockets ?? args.devices); i++) sims.push({ i, id: `raw ${i + 1}`, transport: 'floor', seq: 0, got: new Map(), listening: false })
  const running = sims.map(s => run(s).catch(() => {}))
  while (!sims.every(s => s.listening)) await sleep(20)
  await sleep(200) // the last requests reach the server
  console.log(`ready ${args.devices}`)
  const deadline = Date.now() + (args.timeoutMs ?? 60_000)
  while (Date.now() < deadline && !(sims.every(s => s.got.size >= args.pushes) && (votes?.done() ?? true))) await sleep(50)
  await sleep(REPORT_AFTER_MS + 50)
  await Promise.all(sending) // the last reports
  console.log(JSON.stringify(result(sims)))
  await mayLeave
  stopped = true
  for (const s of sims) s.close?.()
  await Promise.all(sims.filter(s => s.transport !== 'floor').map(s => postPolitely('/api/leave', JSON.stringify({ device: s.id }))))
  await Promise.race([Promise.all(running), sleep(2000)])
  process.exit(0)
}

/** Two processes' votes as one room's. */
function mergeVotes(a: VoteRun | undefined, b: VoteRun): VoteRun {
  if (!a)
    return b
  const add = (x: Record<string, number>, y: Record<string, number>) => Object.fromEntries([...new Set([...Object.keys(x), ...Object.keys(y)])].map(k => [k, (x[k] ?? 0) + (y[k] ?? 0)]))
  return { voters: a.voters + b.voters, sent: a.sent + b.sent, refused: add(a.refused, b.refused), expected: add(a.expected, b.expected), receipts: [...a.receipts, ...b.receipts], unasked: a.unasked + b.unasked }
}

/** `processes` > 1: that many children of this script, each with its share of the phones; their results merged. */
async function coordinate(n: number): Promise<void> {
  const script = fileURLToPath(import.meta.url)
  const share = (total: number, i: number) => Math.floor(total / n) + (i < total % n ? 1 : 0)
  const children = Array.from({ length: n }, (_, i) => spawn(process.execPath, [...process.execArgv, script, JSON.stringify({ ...args, hold: false, devices: share(args.devices, i), first: Array.from({ length: i }, (_, k) => share(args.devices, k)).reduce((a, b) => a + b, 0), floorSockets: share(args.floorSockets ?? args.devices, i), processes: 1, shard: true })], { stdio: ['pipe', 'pipe', 'inherit'] }))
  process.once('SIGTERM', () => process.exit(0)) // the children see their stdin end and go too
  const lines = children.map(c => createInterface({ input: c.stdout! })[Symbol.asyncIterator]())
  const next = async (i: number) => {
    const r = await lines[i]!.next()
    if (r.done)
      throw new Error(`phone process ${i + 1} of ${n} exited early`)
    return r.value
  }
  const ready = await Promise.all(children.map((_, i) => next(i)))
  console.log(`ready ${ready.reduce((sum, line) => sum + Number(line.split(' ')[1]), 0)}`)
  const runs = (await Promise.all(children.map((_, i) => next(i)))).map(line => JSON.parse(line) as Merged)
  const merged: Merged = { devices: 0, received: {}, delays: {}, missing: 0, duplicates: 0, processes: n, reportAfterMs: REPORT_AFTER_MS }
  for (const r of runs) {
    if (r.votes)
      merged.votes = mergeVotes(merged.votes, r.votes)
    merged.devices += r.devices
    merged.missing += r.missing
    merged.duplicates += r.duplicates
    for (const [t, [lo, hi]] of Object.entries(r.received)) {
      const [mlo, mhi] = merged.received[t] ?? [Infinity, 0]
      merged.received[t] = [Math.min(mlo, lo), Math.max(mhi, hi)]
      ;(merged.delays[t] ??= []).push(...r.delays[t]!)
    }
  }
  console.log(JSON.stringify(merged))
  if (args.hold) // the caller looks at the room first, then says leave
    await new Promise(resolve => createInterface({ input: process.stdin }).once('line', resolve).once('close', resolve))
  for (const c of children) c.stdin!.write('leave\n')
  await Promise.all(children.map(c => new Promise(resolve => c.exitCode === null ? c.once('exit', resolve) : resolve(null))))
  process.exit(0)
}

await ((args.processes ?? 1) > 1 ? coordinate(args.processes!) : phones())
