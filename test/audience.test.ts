import type { AudienceRun } from '../tools/audience-devices.ts'
import type { RunningDemoServer } from './support/demo-server.ts'
import { spawn } from 'node:child_process'
import { connect } from 'node:net'
import { createInterface } from 'node:readline'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { AudienceHub } from '../demos/audience/hub.ts'
import { audienceHub } from '../demos/audience/state.ts'
import { TRANSPORTS } from '../wire/audience.ts'
import { startDemoServer, waitFor } from './support/demo-server.ts'

// Audience mode: the room's phones as clients, simulated on loopback (no test sends traffic to
// any other address). The audience listener is bound to 127.0.0.1 here.
const AUDIENCE = { audience: true, audienceHost: '127.0.0.1', audiencePort: 0, connectBroker: false } as const

/** Runs `devices` simulated phones in `processes` processes of their own; resolves once they all listen, with how to wait for their result. */
function simulate(url: string, token: string, devices: number, pushes: number, processes = 1): Promise<{ result: Promise<AudienceRun>, leave: () => void }> {
  // `hold`: the phones stay joined after their result until `leave()`, so the room can be looked at first.
  const child = spawn(process.execPath, ['--import', 'tsx', 'tools/audience-devices.ts', JSON.stringify({ url, token, devices, pushes, processes, timeoutMs: 60_000, hold: true })], { stdio: ['pipe', 'pipe', 'inherit'] })
  const leave = () => void child.stdin!.end('leave\n')
  const lines = createInterface({ input: child.stdout })
  return new Promise((resolve, reject) => {
    let ready = false
    const result = new Promise<AudienceRun>((done, fail) => {
      lines.on('line', (line) => {
        if (line.startsWith('ready ')) {
          ready = true
          resolve({ result, leave })
        }
        else if (line.startsWith('{')) {
          done(JSON.parse(line) as AudienceRun)
        }
      })
      child.on('exit', code => code !== 0 && fail(new Error(`the simulated devices exited with ${code}`)))
    })
    child.on('exit', code => !ready && reject(new Error(`the simulated devices exited with ${code} before they were ready`)))
  })
}

const json = (res: Response) => res.json() as Promise<any>
const resources = () => process.getActiveResourcesInfo().filter(r => r === 'Timeout' || r === 'TCPSocketWrap').length

describe('audience mode', () => {
  let demos: RunningDemoServer
  beforeAll(async () => {
    demos = await startDemoServer({ ...AUDIENCE, audienceMaxDevices: 400 })
  })
  afterAll(() => demos?.close())

  it('300 phones (75 per transport, in two processes) each hear 10 pushes, none missing; once they leave nothing is held', async () => {
    const hub = audienceHub(demos.ctx)!
    const audienceUrl = demos.audience!.url
    const baseline = resources()
    const { result, leave } = await simulate(audienceUrl, hub.token, 300, 10, 2)
    const state = await fetch(`${demos.url}/audience/state`).then(json)
    expect(state.devices).toEqual({ 'short-poll': 75, 'long-poll': 75, 'sse': 75, 'websocket': 75 })
    for (let i = 1; i <= 10; i++) {
      const res = await fetch(`${demos.url}/audience/push`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ text: `news #${i}` }) })
      expect(res.status).toBe(202)
    }
    const run = await result
    expect(run.processes).toBe(2)
    expect(run.devices).toBe(300)
    expect(run.missing).toBe(0)
    expect(run.duplicates).toBe(0)
    for (const t of TRANSPORTS) expect(run.received[t]).toEqual([10, 10])
    // The big screen saw their reports of the last push.
    const after = await fetch(`${demos.url}/audience/state`).then(json)
    expect(after.latest.seq).toBe(10)
    expect(Object.values(after.delays as Record<string, number[]>).reduce((n, d) => n + d.length, 0)).toBeGreaterThan(0)
    leave()
    // Everyone left: no device, no held response, no timer or socket beyond the baseline.
    await waitFor(() => hub.devices.size === 0 && hub.held === 0, 'every device to be gone', 20_000)
    await waitFor(() => resources() <= baseline, `timers and sockets back at the baseline (${baseline})`)
  }, 120_000)

  it('refuses a wrong token (403), a full room (429 + Retry-After), malformed input (400 JSON), and serves no demo route to the room (404)', async () => {
    const a = demos.audience!.url
    const post = (path: string, body: string) => fetch(`${a}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body })
    expect((await fetch(`${a}/?t=nope`)).status).toBe(403)
    expect((await fetch(`${a}/`)).status).toBe(403)
    const page = await fetch(`${a}/?t=${audienceHub(demos.ctx)!.token}`)
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('your phone is a client')
    const wrong = await post('/api/join', JSON.stringify({ token: 'nope' }))
    expect(wrong.status).toBe(403)
    expect((await json(wrong)).error).toMatch(/join token/)
    const bad = await post('/api/join', '{"token": ')
    expect(bad.status).toBe(400)
    expect((await json(bad)).error).toMatch(/malformed JSON/)
    const long = await post('/api/join', JSON.stringify({ token: audienceHub(demos.ctx)!.token, nickname: 'x'.repeat(25) }))
    expect(long.status).toBe(400)
    const report = await post('/api/report', JSON.stringify({ device: 'nobody', seq: 'x' }))
    expect(report.status).toBe(404)
    for (const path of ['/ping', '/jobs', '/health', '/audience/state', '/push/notify'])
      expect((await fetch(`${a}${path}`)).status, path).toBe(404)
    // A page on another site may not join.
    const foreign = await fetch(`${a}/api/join`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Origin': 'https://evil.example' }, body: JSON.stringify({ token: audienceHub(demos.ctx)!.token }) })
    expect(foreign.status).toBe(403)
    // A sandboxed page or a file says Origin: null: refused, and the server stays up.
    const nullOrigin = await fetch(`${a}/api/join`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Origin': 'null' }, body: JSON.stringify({ token: audienceHub(demos.ctx)!.token }) })
    expect(nullOrigin.status).toBe(403)
    const upgrade = await new Promise<string>((resolve) => {
      const s = connect(Number(new URL(a).port), '127.0.0.1', () => s.write(`GET /api/ws HTTP/1.1\r\nHost: ${new URL(a).host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: null\r\n\r\n`))
      let got = ''
      s.on('data', (d) => {
        got += d
      })
      s.on('close', () => resolve(got))
    })
    expect(upgrade).toMatch(/^HTTP\/1.1 403/)
    expect((await fetch(`${a}/?t=${audienceHub(demos.ctx)!.token}`)).status).toBe(200)
    // The demo server answers the presenter only.
    expect((await fetch(`${demos.url}/audience/push`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Origin': 'https://evil.example' }, body: '{"text":"x"}' })).status).toBe(403)
  })

  it('hears a push on a WebSocket as one uncompressed text frame (deflate declined even when offered)', async () => {
    const hub = audienceHub(demos.ctx)!
    hub.assign = 'websocket'
    try {
      const join = async () => (await fetch(`${demos.audience!.url}/api/join`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token: hub.token }) }).then(json)).device as string
      const sockets = await Promise.all([await join(), await join()].map(async (device) => {
        const ws = new WebSocket(`${demos.audience!.url.replace('http', 'ws')}/api/ws?device=${device}&after=${hub.seq}`, { perMessageDeflate: true })
        await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject))
        return { ws, device, message: new Promise<{ data: Buffer, binary: boolean }>(resolve => ws.once('message', (data, binary) => resolve({ data: data as Buffer, binary }))) }
      }))
      const p = hub.push('one frame')
      for (const { ws, message, device } of sockets) {
        expect(ws.extensions).toBe('') // no permessage-deflate: a 100-byte push needs no zlib pass per socket
        const { data, binary } = await message
        expect(binary).toBe(false)
        expect(JSON.parse(data.toString())).toEqual({ type: 'push', ...p })
        ws.close()
        hub.leave(device)
      }
    }
    finally {
      hub.assign = 'round-robin'
    }
  })

  it('says 429 with Retry-After when the room is full or a phone asks too often, and tells every phone the talk has ended when it stops', async () => {
    const small = await startDemoServer({ ...AUDIENCE, audienceMaxDevices: 3 })
    let closed = false
    try {
      const a = small.audience!.url
      const token = audienceHub(small.ctx)!.token
      const join = () => fetch(`${a}/api/join`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token }) })
      const [first, , third] = [await json(await join()), await json(await join()), await json(await join())]
      expect([first.transport, third.transport]).toEqual(['short-poll', 'sse'])
      const full = await join()
      expect(full.status).toBe(429)
      expect(full.headers.get('retry-after')).toBe('10')
      // A phone that asks too often is slowed down (10 a second, 20 in a burst).
      let limited: Response | undefined
      for (let i = 0; i < 40 && !limited; i++) {
        const res = await fetch(`${a}/api/poll?device=${first.device}`)
        if (res.status === 429)
          limited = res
      }
      expect(limited?.headers.get('retry-after')).toBe('1')
      // The SSE phone holds its stream; stopping the server ends it with the reason.
      const stream = await fetch(`${a}/api/events?device=${third.device}`)
      const text = stream.text()
      await waitFor(() => audienceHub(small.ctx)!.held === 1, 'the event stream to be held')
      await small.close()
      closed = true
      expect(await text).toMatch(/event: bye\ndata: \{"reason":"The talk has ended"\}/)
      expect(audienceHub(small.ctx)!.devices.size).toBe(0)
    }
    finally {
      if (!closed)
        await small.close()
    }
  })
})

describe('the audience hub', () => {
  it('lets one network address hold 10 phones at most (one attendee cannot fill the room); loopback is the presenter\'s', () => {
    const hub = new AudienceHub({ maxDevices: 100 })
    try {
      for (let i = 0; i < 10; i++) hub.join(hub.token, undefined, '192.168.1.23')
      expect(() => hub.join(hub.token, undefined, '192.168.1.23')).toThrow(/at most 10 phones from one address/)
      expect(() => hub.join(hub.token, undefined, '192.168.1.24')).not.toThrow()
      for (let i = 0; i < 20; i++) hub.join(hub.token, undefined, '127.0.0.1')
      expect(hub.devices.size).toBe(31)
    }
    finally {
      hub.close()
    }
  })
})

describe('audience mode through RabbitMQ', () => {
  let demos: RunningDemoServer
  beforeAll(async () => {
    demos = await startDemoServer({ ...AUDIENCE, connectBroker: true })
    await waitFor(() => audienceHub(demos.ctx)!.viaBroker, 'the room\'s queue bound on the broker')
  })
  afterAll(() => demos?.close())

  it('publishes once to the fanout exchange and every phone, on every transport, hears it', async () => {
    const { result, leave } = await simulate(demos.audience!.url, audienceHub(demos.ctx)!.token, 8, 1)
    const res = await fetch(`${demos.url}/audience/push`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ text: 'via the broker', via: 'rabbitmq' }) })
    expect(res.status).toBe(202)
    const run = await result
    expect(run.missing).toBe(0)
    for (const t of TRANSPORTS) expect(run.received[t]).toEqual([1, 1])
    expect((await fetch(`${demos.url}/audience/state`).then(json)).latest.via).toBe('rabbitmq')
    leave()
  }, 60_000)
})
