import { request } from 'node:http'
import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { useDemoServer } from './support/demo-server.ts'

const DECK = 'http://localhost:3030'

/** A request over node:http, which (unlike fetch) lets a test send any Host header. */
function send(url: string, { method = 'GET', headers = {}, body }: { method?: string, headers?: Record<string, string>, body?: string } = {}): Promise<{ status: number, headers: Record<string, string | string[] | undefined>, body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d) => { text += d })
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: res.headers['content-type']?.includes('json') && text ? JSON.parse(text) : text }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

describe('the demo server refuses what a web page on another site could make it do', () => {
  const s = useDemoServer({ connectBroker: false, allowedOrigins: [DECK] })
  const job = { 'Content-Type': 'application/json' }

  it('runs a state-changing request from the deck, from curl (no Origin), and refuses one from another origin with 403 before it runs', async () => {
    const jobsBefore = s.ctx.jobs.size
    expect((await send(`${s.url}/jobs`, { method: 'POST', headers: { ...job, Origin: DECK }, body: '{"durationMs":100}' })).status).toBe(202)
    expect((await send(`${s.url}/jobs`, { method: 'POST', headers: job, body: '{"durationMs":100}' })).status).toBe(202)
    // A form on evil.example can POST text/plain without a preflight: the request would run.
    const foreign = await send(`${s.url}/jobs`, { method: 'POST', headers: { 'Content-Type': 'text/plain', 'Origin': 'http://evil.example' }, body: '{"durationMs":100}' })
    expect(foreign.status).toBe(403)
    expect(foreign.body.error).toMatch(/POST from http:\/\/evil\.example is not allowed/)
    // A browser that says the request is cross-site, without an Origin, is refused too.
    expect((await send(`${s.url}/jobs`, { method: 'POST', headers: { ...job, 'Sec-Fetch-Site': 'cross-site' }, body: '{"durationMs":100}' })).status).toBe(403)
    expect(s.ctx.jobs.size).toBe(jobsBefore + 2) // the refused ones created nothing
    // Reading stays open to every origin (CORS decides whether the page may see the answer).
    expect((await send(`${s.url}/ping`, { headers: { Origin: 'http://evil.example' } })).status).toBe(200)
  })

  it('answers 421 to a Host that is not this server (DNS rebinding), and serves localhost, 127.0.0.1 and [::1] names', async () => {
    for (const host of ['localhost', '127.0.0.1', '[::1]'])
      expect((await send(`${s.url}/ping`, { headers: { Host: `${host}:${s.port}` } })).status, host).toBe(200)
    const rebound = await send(`${s.url}/jobs`, { method: 'POST', headers: { ...job, Host: `evil.example:${s.port}` }, body: '{"durationMs":100}' })
    expect(rebound.status).toBe(421)
    expect(rebound.body.error).toMatch(/does not answer for host "evil\.example:\d+"/)
    expect((await send(`${s.url}/health`, { headers: { Host: 'evil.example' } })).status).toBe(421)
  })

  it('refuses a WebSocket upgrade for a foreign Host with 421', async () => {
    const res = await send(`${s.url}/push/ws`, { headers: { 'Host': `evil.example:${s.port}`, 'Connection': 'Upgrade', 'Upgrade': 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' } })
    expect(res.status).toBe(421)
  })

  it('answers a plain request that offers an upgrade to h2c (curl --http2) over HTTP/1.1, not as a failed WebSocket', async () => {
    const res = await send(`${s.url}/ping`, { headers: { 'Connection': 'Upgrade, HTTP2-Settings', 'Upgrade': 'h2c', 'HTTP2-Settings': 'AAMAAABkAARAAAAAAAIAAAAA' } })
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ pong: true })
  })
})

describe('the demo server answers a client\'s mistakes with a 4xx JSON error and keeps serving', () => {
  const s = useDemoServer({ connectBroker: false })

  it.each([
    ['a malformed percent-encoding in the path', '/jobs/%ZZ', {}, 400],
    ['a body that says gzip but is not', '/jobs', { method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' }, body: '{"durationMs":100}' }, 400],
    ['a body in an encoding the server does not speak', '/jobs', { method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'zstd-not-really' }, body: '{}' }, 415],
    ['malformed JSON', '/jobs', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"durationMs":' }, 400],
  ] as const)('%s', async (_what, path, init, status) => {
    const res = await send(`${s.url}${path}`, init)
    expect(res.status).toBe(status)
    expect(res.headers['content-type']).toMatch(/application\/json/)
    expect(typeof res.body.error).toBe('string')
    expect(res.body.error).not.toMatch(/\n\s+at /) // never a stack trace
    expect((await send(`${s.url}/ping`)).status).toBe(200)
  })

  it('takes a body that really is gzip', async () => {
    const res = await fetch(`${s.url}/jobs`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' }, body: gzipSync('{"durationMs":100}') })
    expect(res.status).toBe(202)
  })
})
