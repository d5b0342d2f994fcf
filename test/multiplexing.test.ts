import { describe, expect, it } from 'vitest'
import { startDemoServer, useDemoServer, waitFor } from './support/demo-server.ts'
import { trackDemoTimers } from './support/timers.ts'

interface Span { i: number, startMs: number, endMs: number, queuedMs: number, connection: number, stream?: number }
interface Run { protocol: string, count: number, tcpConnections: number, totalMs: number, spans: Span[] }
interface Slow { arrivedMs: number, inFlightAtArrival: number, maxInFlight: number, connection: number, connections: number }

const post = async (url: string, body: unknown) => {
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })
  return { status: res.status, body: await res.json() as Run & { error?: string, mode?: string } }
}

describe('multiplexing and pooling', () => {
  const demos = useDemoServer({ connectBroker: false })

  it('ten requests over HTTP/2 travel on one TCP connection, as ten streams, all at once', async () => {
    const { status, body } = await post(`${demos.url}/multiplexing/h2-run`, { count: 10, ms: 1000 })
    expect(status).toBe(200)
    expect(body.protocol).toBe('h2')
    expect(body.tcpConnections).toBe(1)
    expect(new Set(body.spans.map(s => s.stream)).size).toBe(10)
    // One wave: every request reached the server before the first answer came back.
    const firstEnd = Math.min(...body.spans.map(s => s.endMs))
    expect(Math.max(...body.spans.map(s => s.startMs))).toBeLessThan(firstEnd)
    expect(body.totalMs).toBeLessThan(2 * 1000) // two waves would take twice the request time
  })

  it('the same ten over HTTP/1.1 with six sockets open six connections and run in two waves', async () => {
    const { body } = await post(`${demos.url}/multiplexing/h1-run`, { count: 10, ms: 400, maxSockets: 6 })
    expect(body.protocol).toBe('http/1.1')
    expect(body.tcpConnections).toBe(6)
    const starts = body.spans.map(s => s.startMs).sort((a, b) => a - b)
    // The seventh started only once one of the first six had answered: four waited for a free socket.
    expect(starts[6]!).toBeGreaterThanOrEqual(Math.min(...body.spans.map(s => s.endMs)))
    expect(body.spans.filter(s => s.queuedMs >= 300)).toHaveLength(4)
    expect(body.totalMs).toBeGreaterThanOrEqual(2 * 400)
  })

  it('a warm pool reuses one connection; a new connection per request opens one each', async () => {
    const pooled = await post(`${demos.url}/multiplexing/pool-run`, { mode: 'pooled', count: 20 })
    const fresh = await post(`${demos.url}/multiplexing/pool-run`, { mode: 'fresh', count: 20 })
    expect(pooled.body).toMatchObject({ mode: 'pooled', count: 20, tcpConnections: 1 })
    expect(fresh.body).toMatchObject({ mode: 'fresh', count: 20, tcpConnections: 20 })
  })

  it('the browser path reports how many of a run\'s requests were in flight at once, and on which socket', async () => {
    // Three sequential requests of one run: never more than one in flight.
    const answers: Slow[] = []
    for (let i = 0; i < 3; i++)
      answers.push(await (await fetch(`${demos.url}/multiplexing/slow?run=seq-1&ms=100`)).json() as Slow)
    expect(answers.map(a => a.inFlightAtArrival)).toEqual([1, 1, 1])
    // Four at once from Node's fetch (its pool is not limited to six): four in flight, four sockets.
    const parallel = await Promise.all(Array.from({ length: 4 }, async () => (await fetch(`${demos.url}/multiplexing/slow?run=par-1&ms=300`)).json() as Promise<Slow>))
    expect(Math.max(...parallel.map(a => a.maxInFlight))).toBe(4)
    expect(new Set(parallel.map(a => a.connection)).size).toBe(4)
  })

  it('answers bad input with 4xx JSON errors', async () => {
    const cases: Array<[string, unknown, RegExp]> = [
      ['/multiplexing/h2-run', { count: 0 }, /count must be an integer from 1 to 50/],
      ['/multiplexing/h1-run', { maxSockets: 'six' }, /maxSockets/],
      ['/multiplexing/pool-run', { mode: 'warm' }, /mode must be/],
      ['/multiplexing/h2-run', { ms: 99999 }, /ms must be/],
    ]
    for (const [path, body, message] of cases) {
      const res = await post(`${demos.url}${path}`, body)
      expect(res.status).toBe(400)
      expect(res.body.error).toMatch(message)
    }
    const noRun = await fetch(`${demos.url}/multiplexing/slow?ms=100`)
    expect(noRun.status).toBe(400)
    const badMs = await fetch(`${demos.url}/multiplexing/slow?run=x&ms=1`)
    expect(await badMs.json()).toEqual({ error: 'ms must be an integer from 100 to 5000' })
  })

  it('a browser request abandoned mid-wait releases its timer and its in-flight slot', async () => {
    const tracked = trackDemoTimers('multiplexing/')
    const timers = tracked.count
    const before = timers()
    const controller = new AbortController()
    const pending = fetch(`${demos.url}/multiplexing/slow?run=gone-1&ms=3000`, { signal: controller.signal }).catch(() => 'aborted')
    const timersWhileWaiting = await waitFor(() => timers() > before && timers(), 'the request to be waiting on the server')
    controller.abort()
    expect(await pending).toBe('aborted')
    await waitFor(() => timers() < timersWhileWaiting, 'its timer to be released')
    tracked.stop()
    const next = await (await fetch(`${demos.url}/multiplexing/slow?run=gone-1&ms=100`)).json() as Slow
    expect(next.inFlightAtArrival).toBe(1)
  })

  it('a server-side run stops when its client goes away, and shutdown leaves no socket open', async () => {
    const other = await startDemoServer({ connectBroker: false })
    const sockets = () => process.getActiveResourcesInfo().filter(r => r === 'TCPSocketWrap').length
    const before = sockets()
    const controller = new AbortController()
    const run = fetch(`${other.url}/multiplexing/h1-run`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ count: 10, ms: 5000 }), signal: controller.signal,
    }).catch(() => 'aborted')
    // The six agent sockets and their six upstream ends (and the client's own).
    const during = await waitFor(() => sockets() >= before + 12 && sockets(), 'the run to open its six connections')
    controller.abort()
    expect(await run).toBe('aborted')
    // The six agent sockets and their six upstream ends are gone.
    await waitFor(() => sockets() <= during - 12, 'the run\'s twelve socket ends to close')
    await other.close()
  })

  it('a client that gives up on an HTTP/2 run mid-flight does not take the server down', async () => {
    for (const ms of [0, 5, 20, 100]) { // before, during and after the h2 session opens
      const controller = new AbortController()
      const run = fetch(`${demos.url}/multiplexing/h2-run`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ count: 10, ms: 1000 }), signal: controller.signal,
      }).catch(() => 'aborted')
      setTimeout(() => controller.abort(), ms)
      expect(await run).toBe('aborted')
    }
    // Still serving, and a fresh run works.
    expect((await fetch(`${demos.url}/ping`)).status).toBe(200)
    const { status, body } = await post(`${demos.url}/multiplexing/h2-run`, { count: 2, ms: 100 })
    expect(status).toBe(200)
    expect(body.tcpConnections).toBe(1)
  })
})
