import type { ClientRequest } from 'node:http'
import type { RunningDemoServer } from './support/demo-server.ts'
import { request } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DemoTimers } from './support/timers.ts'
import { startDemoServer, waitFor } from './support/demo-server.ts'
import { trackDemoTimers } from './support/timers.ts'

const CYCLES = 1000

let demoTimers: DemoTimers

describe('held connections leave nothing behind', () => {
  let s: RunningDemoServer
  let jobId: string
  beforeAll(async () => {
    demoTimers = trackDemoTimers()
    s = await startDemoServer({ connectBroker: false })
    // Created in-process: a fetch here would leave a pooled keep-alive socket (and its timer) in the baseline.
    jobId = s.ctx.jobs.create(60_000).id
  })
  afterAll(async () => {
    demoTimers.stop()
    await s?.close()
  })

  /** What a leak would grow: timers, sockets, job listeners, held responses, SSE slots, server connections. */
  async function snapshot() {
    const resources = process.getActiveResourcesInfo()
    const connections = await new Promise<number>((resolve, reject) => s.server.getConnections((err, n) => err ? reject(err) : resolve(n)))
    const store = s.ctx.jobs
    return {
      timers: demoTimers.count(),
      sockets: resources.filter(r => r === 'TCPSocketWrap').length,
      watchers: store.watcherCount(),
      held: s.ctx.lifecycle.openCount,
      sseClients: s.ctx.eventStreams.size,
      connections,
    }
  }

  /** Waits (bounded) until nothing differs from `baseline`; returns the last snapshot. */
  async function settle(baseline: Awaited<ReturnType<typeof snapshot>>) {
    let last = await snapshot()
    const deadline = Date.now() + 3000
    while (JSON.stringify(last) !== JSON.stringify(baseline) && Date.now() < deadline) {
      await new Promise(r => setTimeout(r, 20))
      last = await snapshot()
    }
    return last
  }

  /** Spins (no timers: they would be counted) until `done()`, at most `ms`. */
  async function until(done: () => boolean, what: string, ms = 2000): Promise<void> {
    const deadline = Date.now() + ms
    while (!done()) {
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${what}`)
      await new Promise(r => setImmediate(r))
    }
  }

  /** Opens `path` on a fresh connection, waits until the server holds it, aborts, and waits for the release. */
  async function connectThenAbort(path: string): Promise<void> {
    const base = s.ctx.lifecycle.openCount
    const req: ClientRequest = request({ host: '127.0.0.1', port: s.port, path, agent: false })
    req.on('error', () => {})
    req.on('response', res => res.on('error', () => {}).resume())
    req.end()
    await until(() => s.ctx.lifecycle.openCount === base + 1, 'the server to hold the request')
    req.destroy()
    await until(() => s.ctx.lifecycle.openCount === base, 'the server to release it')
  }

  async function cycles(path: string) {
    const baseline = await snapshot()
    for (let i = 0; i < CYCLES; i++)
      await connectThenAbort(path)
    return { baseline, after: await settle(baseline) }
  }

  it('the check itself notices one stream left open (so the tests below can fail)', async () => {
    const baseline = await snapshot()
    const req = request({ host: '127.0.0.1', port: s.port, path: `/jobs/${jobId}/events`, agent: false })
    req.on('error', () => {})
    req.end()
    await waitFor(() => s.ctx.lifecycle.openCount === baseline.held + 1, 'the stream to be held')
    const leaking = await settle(baseline)
    expect(leaking).not.toEqual(baseline)
    expect(leaking).toMatchObject({ watchers: baseline.watchers + 1, held: baseline.held + 1, sseClients: 1, timers: baseline.timers + 1 })
    req.destroy()
    expect(await settle(baseline)).toEqual(baseline)
  })

  it(`${CYCLES} long polls that connect and then abort leave no timer, listener, socket or hold behind`, async () => {
    const { baseline, after } = await cycles(`/jobs/${jobId}?wait=30`)
    expect(after).toEqual(baseline)
  })

  it(`${CYCLES} SSE clients that connect and then abort leave no timer, listener, socket, hold or slot behind`, async () => {
    const { baseline, after } = await cycles(`/jobs/${jobId}/events`)
    expect(after).toEqual(baseline)
  })
})
