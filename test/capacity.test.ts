import type { CapacityProgress, CapacityResult } from '../wire/capacity.ts'
import { spawn } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { forkChild, runningChildren } from '../demos/platform/children.ts'
import { checkRoom } from '../demos/capacity/limits.ts'
import { HttpError } from '../demos/platform/http.ts'
import { startDemoServer, useDemoServer, waitFor } from './support/demo-server.ts'
import { isAlive } from './support/children.ts'
import { call } from './support/http-patterns.ts'
import { trackDemoTimers } from './support/timers.ts'

const runs = (base: string, json: unknown, signal?: AbortSignal) => call<CapacityResult & { error?: string }>(`${base}/capacity/runs`, { json, signal })
const current = async (base: string) => (await call<CapacityProgress | { running: false }>(`${base}/capacity/runs/current`)).body
const openConnections = async (base: string) => (await call<{ openConnections: number }>(`${base}/health`)).body.openConnections

describe('capacity: POST /capacity/runs holds 1,000 connections from a helper process', () => {
  const s = useDemoServer({ connectBroker: false })

  it('a run of 1,000 event streams reports 1,000 held, their memory, the time to tell them all; then nothing is left behind', async () => {
    const baseline = await openConnections(s.url)
    const jobsBefore = s.ctx.jobs.size
    const timers = trackDemoTimers('capacity/')
    const res = await runs(s.url, { mode: 'sse', connections: 1000 })
    expect(res.status, res.body.error).toBe(200)
    const r = res.body
    // What the slide shows first: every one held, none refused.
    expect(r).toMatchObject({ mode: 'sse', connections: 1000, held: 1000, failed: 0, told: 1000 })
    // Holding them cost the server memory; the figure is per held connection.
    expect(r.rssHeldKb).toBeGreaterThan(r.rssBeforeKb)
    expect(r.rssPerConnectionKb).toBeGreaterThan(0)
    expect(r.rssPerConnectionKb).toBeCloseTo((r.rssHeldKb - r.rssBeforeKb) / r.held, 0)
    // One change, stamped by the server, reached the first client and then the last one after it.
    expect(r.firstToldMs).toBeGreaterThan(0)
    expect(r.tellAllMs).toBeGreaterThanOrEqual(r.firstToldMs!)
    expect(r.openMs).toBeGreaterThan(0)
    expect(r.runMs).toBeGreaterThanOrEqual(r.openMs)
    // Short polling at the same N: computed, N / interval.
    expect(r.shortPolling).toEqual([{ intervalMs: 1000, requestsPerSecond: 1000 }, { intervalMs: 300, requestsPerSecond: 3333 }])
    // Afterwards: the server holds what it held before, the helper has exited, the run's job and timers are gone.
    expect(r.openConnections).toEqual({ before: baseline, after: baseline })
    expect(await openConnections(s.url)).toBe(baseline)
    expect(isAlive(r.helper.pid)).toBe(false)
    expect(r.helper.exitCode).toBe(0)
    expect(runningChildren()).toBe(0)
    expect(await current(s.url)).toEqual({ running: false })
    expect(s.ctx.jobs.size).toBe(jobsBefore)
    expect(s.ctx.jobs.watcherCount()).toBe(0)
    expect(s.ctx.eventStreams.size).toBe(0)
    await waitFor(() => timers.count() === 0, 'the run\'s timers to be released')
    timers.stop()
  })

  it('a run of 1,000 pending long polls: all held, all answered by the one change, all released', async () => {
    const baseline = await openConnections(s.url)
    const res = await runs(s.url, { mode: 'long-poll', connections: 1000 })
    expect(res.status, res.body.error).toBe(200)
    expect(res.body).toMatchObject({ mode: 'long-poll', held: 1000, failed: 0, told: 1000, openConnections: { before: baseline, after: baseline } })
    expect(res.body.tellAllMs).toBeGreaterThanOrEqual(res.body.firstToldMs!)
    expect(isAlive(res.body.helper.pid)).toBe(false)
  })

  it('another held connection that closes while a run opens its streams (the deck\'s own vote stream, on the run\'s click) does not stall the run', async () => {
    const other = s.ctx.jobs.create(60_000)
    const c = new AbortController()
    const res = await fetch(`${s.url}/jobs/${other.id}/events`, { signal: c.signal })
    expect(res.status).toBe(200)
    await waitFor(async () => await openConnections(s.url) > 0, 'the other stream to be held')
    const run = runs(s.url, { mode: 'sse', connections: 1000 })
    await waitFor(async () => (await current(s.url)).running, 'the run to start')
    c.abort() // gone while the run opens its own: the run counts the streams on its job, not every held connection
    const r = await run
    expect(r.status, r.body.error).toBe(200)
    expect(r.body).toMatchObject({ held: 1000, told: 1000 })
    s.ctx.jobs.remove(other.id)
  })

  it('shows a run in progress, and refuses a second one meanwhile with a 409', async () => {
    const first = runs(s.url, { mode: 'long-poll', connections: 1000 })
    const progress = await waitFor(async () => {
      const c = await current(s.url)
      return c.running && c
    }, 'the run to be in progress')
    expect(progress).toMatchObject({ running: true, mode: 'long-poll', connections: 1000 })
    const second = await runs(s.url, { mode: 'sse', connections: 1000 })
    expect(second.status).toBe(409)
    expect(second.headers.get('retry-after')).toBe('5')
    expect(second.body.error).toMatch(/a run of 1000 long polls is in progress .*one run at a time/)
    expect((await first).status).toBe(200)
    expect(await current(s.url)).toEqual({ running: false })
  })

  it('refuses other sizes, other modes and bodies that are not objects with a 400, and a page on another origin with a 403', async () => {
    for (const connections of [0, 999, 1001, 5000, 10_001, 100_000, '1000', null]) {
      const res = await runs(s.url, { mode: 'sse', connections })
      expect(res.status, String(connections)).toBe(400)
      expect(res.body.error).toBe('connections must be 1000 or 10000')
    }
    const mode = await runs(s.url, { mode: 'websocket', connections: 1000 })
    expect(mode.status).toBe(400)
    expect(mode.body.error).toBe('mode must be "sse" or "long-poll"')
    for (const body of [null, [], 'sse'])
      expect((await runs(s.url, body)).status).toBe(400)
    const foreign = await call(`${s.url}/capacity/runs`, { json: { mode: 'sse', connections: 1000 }, headers: { Origin: 'http://evil.example' } })
    expect(foreign.status).toBe(403)
    expect(runningChildren()).toBe(0)
  })

  it('a client that leaves mid-run stops it: the helper exits and every connection is closed', async () => {
    const baseline = await openConnections(s.url)
    const c = new AbortController()
    const leaving = runs(s.url, { mode: 'sse', connections: 10_000 }, c.signal).catch(err => err)
    await waitFor(async () => {
      const p = await current(s.url)
      return p.running && p.held > 0
    }, 'some streams to be held')
    expect(runningChildren()).toBe(1)
    c.abort()
    expect(await leaving).toBeInstanceOf(Error)
    await waitFor(() => runningChildren() === 0, 'the helper to exit')
    await waitFor(async () => (await current(s.url)).running === false, 'the run to be over')
    expect(await openConnections(s.url)).toBe(baseline)
    expect(s.ctx.eventStreams.size).toBe(0)
    expect(s.ctx.jobs.watcherCount()).toBe(0)
  })
})

describe('capacity: limits and deadlines', () => {
  it('a run not over by its deadline is stopped with a 504, its helper killed and its connections closed', async () => {
    const local = await startDemoServer({ connectBroker: false, capacityDeadlineMs: 100 })
    try {
      const res = await runs(local.url, { mode: 'sse', connections: 1000 })
      expect(res.status).toBe(504)
      expect(res.body.error).toMatch(/not over within 100 ms \(CAPACITY_DEADLINE_MS\)/)
      expect(runningChildren()).toBe(0)
      expect(local.ctx.lifecycle.openCount).toBe(0)
      expect(await current(local.url)).toEqual({ running: false })
    }
    finally {
      await local.close()
    }
  })

  it('the helper exits by itself at its deadline, even when no one tells it anything', async () => {
    const helper = forkChild(new URL('../demos/capacity/clients.ts', import.meta.url), { name: 'capacity clients', env: { CAPACITY_DEADLINE_MS: '500' } })
    await waitFor(() => helper.exited, 'the helper to exit by itself')
    expect(helper.process.exitCode).toBe(3)
  })

  it('a shutdown mid-run ends it: the helper exits', async () => {
    const local = await startDemoServer({ connectBroker: false })
    const run = runs(local.url, { mode: 'long-poll', connections: 10_000 }).catch(err => err)
    await waitFor(async () => (await current(local.url)).running, 'the run to start')
    await local.close()
    await run
    await waitFor(() => runningChildren() === 0, 'the helper to exit')
  })

  it('refuses, with a 503 saying what to change, a run past SSE_MAX_CLIENTS or past the open-file limit', async () => {
    const local = await startDemoServer({ connectBroker: false, sseMaxClients: 500 })
    try {
      const res = await runs(local.url, { mode: 'sse', connections: 1000 })
      expect(res.status).toBe(503)
      expect(res.body.error).toMatch(/1000 more event streams would pass SSE_MAX_CLIENTS \(500; 0 open\): start the demo server with SSE_MAX_CLIENTS=1000/)
      // The file limit as /proc/self/limits would give it: 1024 files, soft and hard.
      const refusal = (() => {
        try {
          checkRoom(local.ctx, 'long-poll', 10_000, { soft: 1024, hard: 1024, open: 40 })
        }
        catch (err) {
          return err
        }
      })()
      expect(refusal).toBeInstanceOf(HttpError)
      expect((refusal as HttpError).status).toBe(503)
      expect((refusal as HttpError).message).toMatch(/10000 held connections need about 10140 open files, and this demo server may have 1024 .*ulimit -n 11000/)
      expect(() => checkRoom(local.ctx, 'long-poll', 1000, { soft: 20_000, hard: 20_000, open: 40 })).not.toThrow()
    }
    finally {
      await local.close()
    }
  })

  it('a demo server started with `ulimit -n 2000` refuses 10,000 with that advice, from its own /proc/self/limits', async () => {
    const child = spawn('bash', ['-c', `ulimit -n 2000 && exec "${process.execPath}" --import tsx demos/main.ts`], {
      env: { ...process.env, DEMO_PORT: '0', JOBS_DB: ':memory:', AMQP_URL: 'amqp://127.0.0.1:1' },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    try {
      let out = ''
      child.stdout!.on('data', (d: Buffer) => { out += d })
      const url = await waitFor(() => /listening on (http:\/\/[\d.]+:\d+)/.exec(out)?.[1], 'the demo server to listen', 20_000)
      const res = await runs(url, { mode: 'long-poll', connections: 10_000 })
      expect(res.status).toBe(503)
      expect(res.body.error).toMatch(/may have 2000 .*ulimit -n 11000/)
    }
    finally {
      child.kill('SIGTERM')
      await new Promise(r => child.once('exit', r))
    }
  })
})
