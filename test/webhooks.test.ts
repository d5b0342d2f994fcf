import type { Delivery } from '../demos/webhooks/sender.ts'
import type { RunningDemoServer } from './support/demo-server.ts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sign } from '../demos/webhooks/signature.ts'
import { startDemoServer, waitFor } from './support/demo-server.ts'
import { trackDemoTimers } from './support/timers.ts'

const DECK = 'http://deck.test:3030'

interface PartnerView { processed: Array<{ id: string, type: string, videoId: string }>, duplicates: number, rejected: number }

describe('webhooks: signed, retried, idempotent', () => {
  let demos: RunningDemoServer
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) => fetch(`${demos.url}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
  const get = async <T>(path: string) => await (await fetch(`${demos.url}${path}`)).json() as T
  /** Sends a webhook through the demo's sender and waits until it is delivered (or given up). */
  async function deliver(body: object): Promise<Delivery> {
    const res = await post('/webhooks/deliveries', body)
    expect(res.status).toBe(202)
    const { id } = await res.json() as { id: string }
    expect(res.headers.get('location')).toBe(`/webhooks/deliveries/${id}`)
    return await waitFor(async () => {
      const d = await get<Delivery>(`/webhooks/deliveries/${id}`)
      return d.state !== 'delivering' && d
    }, `delivery ${id}`)
  }

  beforeAll(async () => {
    demos = await startDemoServer({ connectBroker: false, allowedOrigins: [DECK] })
  })
  afterAll(async () => {
    await demos?.close()
  })

  it('delivers exactly once after three attempts when the receiver fails the first two, waiting longer each time', async () => {
    const before = await get<PartnerView>('/webhooks/partner')
    const d = await deliver({ failFirst: 2 })
    expect(d.state).toBe('delivered')
    expect(d.attempts.map(a => a.status)).toEqual([503, 503, 200])
    const [w1, w2, w3] = d.attempts.map(a => a.waitedMs)
    expect(w1).toBe(0)
    expect(w2).toBeGreaterThanOrEqual(400 * 0.8)
    expect(w3).toBeGreaterThan(w2!) // exponential: 400 ms ±20 %, then 800 ms ±20 %
    // Every attempt carries the same id, its own timestamp and a signature over id.timestamp.body.
    expect(new Set(d.attempts.map(a => a.headers['webhook-id']))).toEqual(new Set([d.id]))
    for (const a of d.attempts)
      expect(a.headers['webhook-signature']).toMatch(/^v1,[\w+/]{43}=$/)
    const after = await get<PartnerView>('/webhooks/partner')
    expect(after.processed.length - before.processed.length).toBe(1)
    expect(after.processed.at(-1)).toMatchObject({ id: d.id, type: 'video.ready' })
  })

  it('acknowledges a webhook sent again with the same id, and does not process it twice', async () => {
    const d = await deliver({ failFirst: 0 })
    const before = await get<PartnerView>('/webhooks/partner')
    const again = await deliver({ redeliver: d.id })
    expect(again.attempts.at(-1)).toMatchObject({ status: 200, duplicate: true })
    const after = await get<PartnerView>('/webhooks/partner')
    expect(after.processed).toHaveLength(before.processed.length)
    expect(after.duplicates).toBe(before.duplicates + 1)
  })

  it('gives up after five attempts and says so', async () => {
    const d = await deliver({ failFirst: 5 })
    expect(d.state).toBe('failed')
    expect(d.attempts.map(a => a.status)).toEqual([503, 503, 503, 503, 503])
  }, 20_000)

  it('refuses a tampered body or a wrong signature with 401 JSON, unsigned requests with 400, and keeps running', async () => {
    // A real delivery's headers, from the sender, on a body someone changed on the way.
    const d = await deliver({ failFirst: 0 })
    const headers = d.attempts[0]!.headers
    const tampered = d.body.replace('video.ready', 'video.deleted')
    const before = await get<PartnerView>('/webhooks/partner')
    for (const [body, h, status, error] of [
      [tampered, headers, 401, 'signature does not match'],
      [d.body, { ...headers, 'webhook-signature': sign(Buffer.from('not the secret'), d.id, Number(headers['webhook-timestamp']), d.body) }, 401, 'signature does not match'],
      [d.body, { ...headers, 'webhook-id': 'msg_other' }, 401, 'signature does not match'],
      [d.body, {}, 400, 'a webhook needs webhook-id, webhook-timestamp and webhook-signature headers'],
      [d.body, { ...headers, 'webhook-timestamp': 'yesterday' }, 400, 'webhook-timestamp must be Unix seconds'],
    ] as const) {
      const res = await post('/webhooks/partner', body, h)
      expect(res.status, error).toBe(status)
      expect(await res.json()).toEqual({ error })
    }
    const after = await get<PartnerView>('/webhooks/partner')
    expect(after.processed).toEqual(before.processed)
    expect(after.rejected).toBe(before.rejected + 5)
    // Still serving: the next real delivery goes through.
    expect((await deliver({ failFirst: 0 })).state).toBe('delivered')
  })

  it('refuses a webhook whose timestamp is stale (a captured request replayed later), before it looks at the signature', async () => {
    const d = await deliver({ failFirst: 0 })
    const captured = d.attempts[0]!.headers
    for (const skew of [-10 * 60, +10 * 60]) {
      const res = await post('/webhooks/partner', d.body, { ...captured, 'webhook-timestamp': String(Number(captured['webhook-timestamp']) + skew) })
      expect(res.status).toBe(401)
      expect(await res.json()).toEqual({ error: 'timestamp is more than 300 s away from our clock' })
    }
  })

  it('answers bad input with 400 JSON and unknown deliveries with 404', async () => {
    for (const [body, error] of [
      [{ failFirst: 9 }, 'failFirst must be an integer from 0 to 5'],
      [{ failFirst: 1.5 }, 'failFirst must be an integer from 0 to 5'],
      [{ failFirst: '2' }, 'failFirst must be an integer from 0 to 5'],
      [{ redeliver: 7 }, 'redeliver must be the id of an earlier delivery'],
      ['[1]', 'expected a JSON object: {"failFirst": 0-5, "redeliver": "<id>"}'],
      ['null', 'expected a JSON object: {"failFirst": 0-5, "redeliver": "<id>"}'],
    ] as const) {
      const res = await post('/webhooks/deliveries', body)
      expect(res.status, JSON.stringify(body)).toBe(400)
      expect(await res.json()).toEqual({ error })
    }
    const malformed = await post('/webhooks/deliveries', '{"failFirst":')
    expect(malformed.status).toBe(400)
    expect(((await malformed.json()) as { error: string }).error).toMatch(/^malformed JSON body/)
    const unknown = await post('/webhooks/deliveries', { redeliver: 'msg_nope' })
    expect(unknown.status).toBe(404)
    expect(await unknown.json()).toEqual({ error: 'no delivery msg_nope to send again' })
    expect((await fetch(`${demos.url}/webhooks/deliveries/msg_nope`)).status).toBe(404)
  })

  it('refuses a delivery started from a page on another origin with 403 JSON', async () => {
    const res = await post('/webhooks/deliveries', { failFirst: 0 }, { Origin: 'http://evil.example' })
    expect(res.status).toBe(403)
    expect(((await res.json()) as { error: string }).error).toMatch(/^POST from http:\/\/evil\.example is not allowed/)
    const ok = await post('/webhooks/deliveries', { failFirst: 0 }, { Origin: DECK })
    expect(ok.status).toBe(202)
  })
})

describe('webhooks: cleanup', () => {
  it('streams each attempt to a watcher, and leaves no timer, request or stream behind on shutdown mid-retry', async () => {
    const timers = trackDemoTimers('webhooks')
    const demos = await startDemoServer({ connectBroker: false, allowedOrigins: [DECK] })
    try {
      const events = new AbortController()
      const stream = await fetch(`${demos.url}/webhooks/events`, { signal: events.signal })
      expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/)
      const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader()
      let text = ''
      const res = await fetch(`${demos.url}/webhooks/deliveries`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"failFirst":5}' })
      const { id } = await res.json() as { id: string }
      while (!text.includes('event: answer')) {
        const { value, done } = await reader.read()
        if (done)
          throw new Error(`the event stream ended before the first answer:\n${text}`)
        text += value
      }
      expect(text).toContain('event: attempt')
      expect(text).toContain(`"id":"${id}"`)
      expect(text).toContain('"status":503')
      // Now it waits to retry: shut down in the middle of it.
      expect(timers.count()).toBeGreaterThan(0)
      await demos.close()
      events.abort()
      await waitFor(() => timers.count() === 0, 'the webhooks demo\'s timers to be gone')
    }
    finally {
      timers.stop()
    }
  })
})
