// Simulated phones for audience mode, in a process of their own (the tests and the bench run it
// with `node --import tsx tools/audience-devices.ts <json>`): they join the audience
// listener on loopback, each over the transport it is assigned, and report every push as the
// phone page does. Input (argv[2], JSON): { url, token, devices, pushes, timeoutMs?, vote? }.
// With `vote` (a VotePlan, tools/audience-voters.ts) each device votes once it hears that question open.
// Output: one line `ready <n>` once every device is listening, then, once each has `pushes`
// pushes (and voted, with `vote`; or at the deadline), one JSON line: AudienceRun. Then every device leaves and it exits.
import type { VotePlan, VoteRun } from './audience-voters.ts'
import type { PhoneVote, Transport } from '../wire/audience.ts'
import WebSocket from 'ws'
import { simulatedVotes } from './audience-voters.ts'
import { readEventStream } from '../wire/sse.ts'

export interface AudienceRun {
  devices: number
  /** Pushes each device received, per transport: [min, max]. */
  received: Record<Transport, [number, number]>
  /** Delivery delays (server send → device), ms, per transport, every push of every device. */
  delays: Record<Transport, number[]>
  /** Devices that missed a push or got one twice. */
  missing: number
  duplicates: number
  /** With a vote plan: what the room voted. */
  votes?: VoteRun
}

interface Args { url: string, token: string, devices: number, pushes: number, timeoutMs?: number, vote?: VotePlan }

const args = JSON.parse(process.argv[2] ?? '{}') as Args
const controller = new AbortController()
const sleep = (ms: number) => new Promise(r => setTimeout(r, ms))

interface Sim { i: number, id: string, transport: Transport, seq: number, got: Map<number, number>, listening: boolean }
const votes = args.vote ? simulatedVotes(args.url, args.devices, args.vote) : undefined

async function post(path: string, body: unknown, signal: AbortSignal | null = controller.signal): Promise<Response> {
  return fetch(`${args.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body), signal })
}

function arrived(sim: Sim, p: { seq: number, sentAt: number, vote?: PhoneVote | null }): void {
  sim.seq = Math.max(sim.seq, p.seq)
  if (sim.got.has(p.seq)) {
    duplicates++
    return
  }
  const receivedAt = Date.now() // same machine, same clock: no offset
  sim.got.set(p.seq, receivedAt - p.sentAt)
  if ('vote' in p) // the room's question: voted on, not reported (as the phone page does)
    return votes?.heard(sim.i, sim.id, p.vote)
  void post('/api/report', { device: sim.id, seq: p.seq, receivedAt }).catch(() => {})
}
let duplicates = 0

async function run(sim: Sim): Promise<void> {
  const q = () => `device=${sim.id}&after=${sim.seq}`
  switch (sim.transport) {
    case 'short-poll':
      while (!controller.signal.aborted) {
        const res = await fetch(`${args.url}/api/poll?${q()}`, { signal: controller.signal }).catch(() => null)
        sim.listening = true
        if (res?.ok)
          (await res.json() as { pushes: Array<{ seq: number, sentAt: number }> }).pushes.forEach(p => arrived(sim, p))
        await sleep(1000)
      }
      return
    case 'long-poll':
      sim.listening = true // its request is held from now on
      while (!controller.signal.aborted) {
        const res = await fetch(`${args.url}/api/long-poll?${q()}`, { signal: controller.signal }).catch(() => null)
        if (res?.ok)
          (await res.json() as { pushes: Array<{ seq: number, sentAt: number }> }).pushes.forEach(p => arrived(sim, p))
        else if (!controller.signal.aborted)
          await sleep(1000)
      }
      return
    case 'sse': {
      const res = await fetch(`${args.url}/api/events?${q()}`, { signal: controller.signal })
      sim.listening = true
      await readEventStream(res.body!, (f) => {
        if (f.dispatch && f.type === 'push')
          arrived(sim, JSON.parse(f.data))
      }, controller.signal).catch(() => {})
      return
    }
    case 'websocket': {
      const ws = new WebSocket(`${args.url.replace(/^http/, 'ws')}/api/ws?${q()}`)
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve())
        ws.once('error', reject)
      })
      sim.listening = true
      ws.on('message', (data) => {
        const m = JSON.parse(String(data)) as { type: string, seq: number, sentAt: number }
        if (m.type === 'push')
          arrived(sim, m)
      })
      controller.signal.addEventListener('abort', () => ws.close(1000))
      await new Promise(resolve => ws.once('close', resolve))
    }
  }
}

const sims: Sim[] = []
for (let i = 0; i < args.devices; i++) {
  const res = await post('/api/join', { token: args.token, nickname: `sim ${i + 1}` })
  if (res.status !== 201)
    throw new Error(`join ${i + 1}: ${res.status} ${await res.text()}`)
  const j = await res.json() as { device: string, transport: Transport, seq: number }
  sims.push({ i, id: j.device, transport: j.transport, seq: j.seq, got: new Map(), listening: false })
}
const running = sims.map(s => run(s).catch(() => {}))
while (!sims.every(s => s.listening)) await sleep(20)
await sleep(200) // the last requests reach the server
console.log(`ready ${sims.length}`)

const deadline = Date.now() + (args.timeoutMs ?? 60_000)
while (Date.now() < deadline && !(sims.every(s => s.got.size >= args.pushes) && (votes?.done() ?? true))) await sleep(50)
await sleep(300) // the last reports
const result: AudienceRun = { devices: sims.length, received: {} as AudienceRun['received'], delays: {} as AudienceRun['delays'], missing: 0, duplicates, votes: votes?.result() }
for (const s of sims) {
  const [lo, hi] = result.received[s.transport] ?? [Infinity, 0]
  result.received[s.transport] = [Math.min(lo, s.got.size), Math.max(hi, s.got.size)]
  ;(result.delays[s.transport] ??= []).push(...s.got.values())
  if (s.got.size < args.pushes)
    result.missing++
}
console.log(JSON.stringify(result))
controller.abort()
await Promise.all(sims.map(s => post('/api/leave', { device: s.id }, null).catch(() => {})))
await Promise.race([Promise.all(running), sleep(2000)])
process.exit(0)
