import { request } from 'node:http'
import { gzipSync } from 'node:zlib'
import { describe, expect, it, vi } from 'vitest'
import { runDemoMain } from './support/children.ts'
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
    ['JSON that is not an object', '/jobs', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: 'null' }, 400],
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

describe('the demo server starts cleanly or says why not, in one line', () => {
  const s = useDemoServer({ connectBroker: false })

  it('a port already in use: the error first and only (no "listening", no broker connection), exit 2', async () => {
    const run = await runDemoMain({ DEMO_PORT: String(s.port), HOST: '127.0.0.1' })
    expect(run.code).toBe(2)
    expect(run.stdout).not.toMatch(/listening|broker/)
    expect(run.stderr.trim()).toMatch(/^\[demos\] port \d+ on 127\.0\.0\.1 is already in use/)
    expect(run.stderr.trim().split('\n')).toHaveLength(1)
  })

  it.each([
    ['DEMO_PORT', 'abc', /DEMO_PORT must be a whole number from 0 to 65535, got "abc"/],
    ['JOBS_MAX', '-5', /JOBS_MAX must be a whole number/],
    ['SSE_HEARTBEAT_MS', '1.5', /SSE_HEARTBEAT_MS must be a whole number/],
  ])('a bad %s (%s) is one line naming it, exit 2', async (name, value, message) => {
    const run = await runDemoMain({ [name]: value })
    expect(run.code).toBe(2)
    expect(run.stderr.trim()).toMatch(message)
    expect(run.stderr.trim().split('\n')).toHaveLength(1)
  })
})

describe('what the server logs', () => {
  const s = useDemoServer({ connectBroker: false })

  it('a refusal it chose (503 broker down, 429, a client gone) is one line; never a stack trace', async () => {
    const lines: string[] = []
    const spies = [vi.spyOn(console, 'warn'), vi.spyOn(console, 'error')]
    for (const spy of spies) spy.mockImplementation((...args: unknown[]) => void lines.push(args.map(a => a instanceof Error ? a.stack : String(a)).join(' ')))
    try {
      const refused = await send(`${s.url}/pubsub/publish`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"message":"hi"}' })
      expect(refused.status).toBe(503)
      expect(lines).toHaveLength(1)
      expect(lines[0]).toMatch(/POST \/pubsub\/publish -> 503: RabbitMQ is not reachable/)
      expect(lines.join('\n')).not.toMatch(/\n\s+at /)
    }
    finally {
      spies.forEach(spy => spy.mockRestore())
    }
  })
})
