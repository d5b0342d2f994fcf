import { connect } from 'node:net'
import { describe, expect, it } from 'vitest'
import { startDemoProcess } from './support/children.ts'
import { useDemoServer, waitFor } from './support/demo-server.ts'
import { call } from './support/http-patterns.ts'

/** Sends `raw` bytes over a fresh TCP connection and returns the whole answer. */
function rawRequest(port: number, raw: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(raw))
    let out = ''
    socket.setEncoding('utf8')
    socket.on('data', (d) => { out += d })
    socket.on('end', () => resolve(out))
    socket.on('error', reject)
  })
}

describe('request/response: /echo and the blocking /work', () => {
  const s = useDemoServer({ connectBroker: false })

  it('echoes the request exactly as it crossed the wire: start line, headers in their case and order, blank line, body', async () => {
    const sent = 'PUT /echo?x=1 HTTP/1.1\r\nHost: localhost\r\nX-Weird-CASE: a, b\r\nx-dup: 1\r\nx-dup: 2\r\nContent-Type: text/plain\r\nContent-Length: 11\r\nConnection: close\r\n\r\nhello world'
    const answer = await rawRequest(s.port, sent)
    const [head, ...rest] = answer.split('\r\n\r\n')
    expect(head).toMatch(/^HTTP\/1\.1 200 OK/)
    expect(head).toMatch(/Content-Type: text\/plain/i)
    expect(rest.join('\r\n\r\n')).toBe(sent)
  })

  it('rebuilds the head from the parsed request: the spaces around a header value are not part of it (RFC 9112 §5.1)', async () => {
    const sent = 'GET /echo HTTP/1.1\r\nHost: localhost\r\nX-Spaced:   a b  \r\nConnection: close\r\n\r\n'
    const answer = await rawRequest(s.port, sent)
    const body = answer.split('\r\n\r\n').slice(1).join('\r\n\r\n')
    expect(body).toBe('GET /echo HTTP/1.1\r\nHost: localhost\r\nX-Spaced: a b\r\nConnection: close\r\n\r\n')
  })

  it('as JSON, it also counts the bytes of head and body', async () => {
    const res = await call(`${s.url}/echo`, { method: 'POST', body: 'héllo', headers: { 'Content-Type': 'text/plain', 'Accept': 'application/json' } })
    expect(res.status).toBe(200)
    expect(res.body.head).toMatch(/^POST \/echo HTTP\/1\.1\r\n/)
    expect(res.body.head.endsWith('\r\n\r\n')).toBe(true)
    expect(res.body.headBytes).toBe(Buffer.byteLength(res.body.head))
    expect(res.body).toMatchObject({ body: 'héllo', bodyBytes: 6, exactBody: true })
  })

  it('returns a JSON body byte for byte, spacing and key order included', async () => {
    const body = '{ "b":1,\n  "a" : [ 2 ] }'
    const res = await call(`${s.url}/echo`, { method: 'POST', body, headers: { 'Content-Type': 'application/json', 'Accept': 'application/json' } })
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ body, bodyBytes: Buffer.byteLength(body), exactBody: true })
  })

  it.each(['GET', 'DELETE', 'PATCH', 'OPTIONS'])('answers %s too', async (method) => {
    const res = await call(`${s.url}/echo`, { method })
    expect(res.status).toBe(200)
    expect(res.body).toMatch(new RegExp(`^${method} /echo HTTP/1.1\r\n`))
  })

  it('refuses an oversized body with a 413 JSON error', async () => {
    const res = await call(`${s.url}/echo`, { method: 'POST', body: 'x'.repeat(20_000), headers: { 'Content-Type': 'text/plain' } })
    expect(res.status).toBe(413)
    expect(res.body.error).toMatch(/too large/)
  })

  it('POST /work keeps the client waiting for the job\'s whole duration, then answers with the result', async () => {
    const t0 = performance.now()
    const res = await call(`${s.url}/work`, { json: { durationMs: 400 } })
    expect(performance.now() - t0).toBeGreaterThanOrEqual(395)
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ state: 'done', progress: 100, durationMs: 400 })
    expect(s.ctx.lifecycle.openCount).toBe(0)
  })

  it('POST /work {"jobId"} waits for a job that is already running and answers when it ends; an unknown id is a 404', async () => {
    const job = (await call(`${s.url}/jobs`, { json: { durationMs: 400 } })).body
    const t0 = performance.now()
    const res = await call(`${s.url}/work`, { json: { jobId: job.id } })
    expect(performance.now() - t0).toBeGreaterThan(100)
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ id: job.id, state: 'done', progress: 100 })
    // Over already: the answer comes at once.
    expect((await call(`${s.url}/work`, { json: { jobId: job.id } })).body).toMatchObject({ id: job.id, state: 'done' })
    const unknown = await call(`${s.url}/work`, { json: { jobId: 'nope' } })
    expect(unknown.status).toBe(404)
    expect(unknown.body.error).toMatch(/no job nope/)
    expect((await call(`${s.url}/work`, { json: { jobId: 7 } })).status).toBe(400)
    expect(s.ctx.lifecycle.openCount).toBe(0)
  })

  it('POST /work validates like POST /jobs', async () => {
    const res = await call(`${s.url}/work`, { json: { durationMs: -1 } })
    expect(res.status).toBe(400)
    expect(res.body.error).toMatch(/durationMs must be/)
  })
})

describe('request/response: shutdown and the blocking /work', () => {
  it('SIGTERM answers a waiting POST /work with a 503, Retry-After and a JSON error saying the server is shutting down, never an empty 200', async () => {
    const { url, child } = await startDemoProcess({ AMQP_URL: 'amqp://127.0.0.1:1' })
    try {
      const waiting = call(`${url}/work`, { json: { durationMs: 60_000 } })
      await waitFor(async () => (await call(`${url}/health`)).body.openConnections === 1, 'POST /work to be held')
      const exited = new Promise(resolve => child.once('exit', resolve))
      child.kill('SIGTERM')
      const res = await waiting
      expect(res.status).toBe(503)
      expect(res.headers.get('retry-after')).toMatch(/^\d+$/)
      expect(res.body.error).toMatch(/shutting down/)
      expect(await exited).toBe(0)
    }
    finally {
      child.kill('SIGKILL')
    }
  })
})
