import type { AddressInfo } from 'node:net'
import type { ServerFrame } from '../wire/push.ts'
import type { RunningDemoServer } from './support/demo-server.ts'
import { createServer } from 'node:http'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { WebSocketHub } from '../demos/push/hub.ts'
import { startDemoServer, waitFor } from './support/demo-server.ts'

const DECK = 'http://deck.test:3030'

/** A connected view: its socket and every frame it received, parsed. */
interface View { ws: WebSocket, frames: ServerFrame[], id: string }

async function connect(url: string, origin: string | undefined = DECK, options: { autoPong?: boolean } = {}): Promise<View> {
  const ws = new WebSocket(url, { origin, ...options })
  const frames: ServerFrame[] = []
  ws.on('message', data => frames.push(JSON.parse(String(data)) as ServerFrame))
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve)
    ws.once('error', reject)
  })
  const hello = await waitFor(() => frames.find(f => f.type === 'hello'), 'the hello frame')
  return { ws, frames, id: hello.type === 'hello' ? hello.id : '' }
}

/** The handshake's HTTP answer when the server refuses to upgrade. */
function refused(url: string, origin?: string): Promise<{ status: number, body: unknown }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { origin })
    ws.once('open', () => reject(new Error('the upgrade was accepted')))
    ws.once('error', () => {})
    ws.once('unexpected-response', (_req, res) => {
      let text = ''
      res.on('data', (c: Buffer) => (text += c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }))
    })
  })
}

const notifications = (v: View) => v.frames.filter(f => f.type === 'notification')
/** The view count the server last pushed to `v`. */
function countOf(v: View): number | undefined {
  const f = v.frames.filter(f => f.type === 'clients').at(-1)
  return f?.type === 'clients' ? f.count : undefined
}

describe('push over WebSocket: the server sends when it has something', () => {
  let demos: RunningDemoServer
  let wsUrl: string
  const views: View[] = []

  beforeAll(async () => {
    demos = await startDemoServer({ connectBroker: false, allowedOrigins: [DECK] })
    wsUrl = `${demos.url.replace('http', 'ws')}/push/ws`
  })
  afterEach(async () => {
    for (const v of views.splice(0)) v.ws.terminate()
    await waitFor(async () => (await (await fetch(`${demos.url}/push/clients`)).json() as { clients: number }).clients === 0, 'views to be gone')
  })
  afterAll(async () => {
    await demos?.close()
  })

  async function open(n: number): Promise<View[]> {
    const opened: View[] = []
    for (let i = 0; i < n; i++) opened.push(await connect(wsUrl))
    views.push(...opened)
    return opened
  }

  it('pushes a notification to every connected view, without any of them asking', async () => {
    const [a, b, c] = await open(3)
    const res = await fetch(`${demos.url}/push/notify`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ kind: 'login', text: 'ada just logged in' }),
    })
    expect(res.status).toBe(202)
    expect(await res.json()).toMatchObject({ delivered: 3 })
    for (const v of [a!, b!, c!]) {
      await waitFor(() => notifications(v).length === 1, `the notification at ${v.id}`)
      expect(notifications(v)[0]).toMatchObject({ type: 'notification', kind: 'login', text: 'ada just logged in' })
    }
  })

  it('pushes a message one view sends up the same connection to every view (the protocol is bidirectional)', async () => {
    const [a, b] = await open(2)
    a!.ws.send(JSON.stringify({ type: 'message', text: '  lunch at noon?  ' }))
    for (const v of [a!, b!]) {
      await waitFor(() => notifications(v).length === 1, `the message at ${v.id}`)
      expect(notifications(v)[0]).toMatchObject({ kind: 'message', text: 'lunch at noon?', from: a!.id })
    }
  })

  it('tells every view how many are connected, and removes a view that goes away at once', async () => {
    const [a, b, c] = await open(3)
    await waitFor(() => countOf(a!) === 3, 'a count of 3')
    const t0 = Date.now()
    c!.ws.terminate() // no close frame: the TCP connection just drops, like a closed tab
    await waitFor(async () => (await (await fetch(`${demos.url}/push/clients`)).json() as { clients: number }).clients === 2, 'the server to count 2 views')
    // Seen when the TCP connection dropped, not at the next ping sweep (every 15 s).
    expect(Date.now() - t0).toBeLessThan(15_000 / 3)
    for (const v of [a!, b!])
      await waitFor(() => countOf(v) === 2, `${v.id} to hear the count drop`)
    const res = await fetch(`${demos.url}/push/notify`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ kind: 'message', text: 'hi' }) })
    expect(await res.json()).toMatchObject({ delivered: 2 })
    expect(c!.frames.filter(f => f.type === 'notification')).toEqual([])
  })

  it('refuses an upgrade from an origin that is not on the allow-list, with a 403 JSON error', async () => {
    expect(await refused(wsUrl, 'http://evil.example')).toEqual({
      status: 403,
      body: { error: 'origin http://evil.example is not allowed; add it to DECK_ORIGINS' },
    })
    // Tools without an Origin (websocat, curl, servers) are not browsers: let in, as with CORS.
    views.push(await connect(wsUrl, undefined))
    expect(views[0]!.id).toMatch(/^view-\d+$/)
  })

  it('answers an upgrade to an unknown path with a 404 JSON error', async () => {
    expect(await refused(`${demos.url.replace('http', 'ws')}/nope/ws`, DECK)).toEqual({
      status: 404,
      body: { error: 'no WebSocket endpoint at /nope/ws' },
    })
  })

  it('rejects bad notifications with 400 JSON, bad frames with an error frame, and oversized frames by closing with 1009', async () => {
    const post = (body: string) => fetch(`${demos.url}/push/notify`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body })
    for (const [body, error] of [
      ['{"kind":"party","text":"x"}', 'kind must be one of video, login, message'],
      ['{"kind":"login"}', 'text must be a string of 1-200 characters'],
      [JSON.stringify({ kind: 'login', text: 'x'.repeat(201) }), 'text must be a string of 1-200 characters'],
      ['{"kind":', undefined],
    ] as const) {
      const res = await post(body)
      expect(res.status, body).toBe(400)
      const json = await res.json() as { error: string }
      if (error)
        expect(json).toEqual({ error })
      else
        expect(json.error).toMatch(/^malformed JSON body/)
    }

    const [v] = await open(1)
    for (const frame of ['not json', '{"type":"shout","text":"x"}', '{"type":"message","text":""}'])
      v!.ws.send(frame)
    await waitFor(() => v!.frames.filter(f => f.type === 'error').length === 3, 'three error frames')
    expect(v!.frames.find(f => f.type === 'error')).toEqual({ type: 'error', error: 'send {"type":"message","text":"..."} with 1-200 characters of text' })
    expect(notifications(v!)).toEqual([])

    const closed = new Promise<number>(resolve => v!.ws.once('close', code => resolve(code)))
    v!.ws.send('x'.repeat(5000))
    expect(await closed).toBe(1009)
  })
})

describe('push over WebSocket: cleanup', () => {
  it('says goodbye with 1001 on shutdown and leaves no socket, timer or listener behind', async () => {
    const resources = () => process.getActiveResourcesInfo().filter(r => r !== 'TTYWrap').length
    const before = resources()
    const demos = await startDemoServer({ connectBroker: false, allowedOrigins: [DECK] })
    expect(demos.server.listenerCount('upgrade')).toBe(1)
    const wsUrl = `${demos.url.replace('http', 'ws')}/push/ws`
    const views = [await connect(wsUrl), await connect(wsUrl)]
    const codes = views.map(v => new Promise<number>(resolve => v.ws.once('close', code => resolve(code))))
    await demos.close()
    expect(await Promise.all(codes)).toEqual([1001, 1001])
    await waitFor(() => resources() <= before, 'sockets and timers to be released')
  })

  it('drops a view that stops answering pings (a closed laptop lid sends no goodbye)', async () => {
    const hub = new WebSocketHub({ pingIntervalMs: 100 })
    const server = createServer()
    server.on('upgrade', (req, socket, head) => hub.wss.handleUpgrade(req, socket, head, ws => hub.add(ws)))
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`
    try {
      const silent = await connect(url, undefined, { autoPong: false })
      const lively = await connect(url)
      expect(hub.count).toBe(2)
      await waitFor(() => hub.count === 1, 'the silent view to be dropped')
      expect(hub.ids).toEqual([lively.id])
      silent.ws.terminate()
      lively.ws.terminate()
    }
    finally {
      hub.close()
      await new Promise<void>(resolve => server.close(() => resolve()))
    }
  })
})
