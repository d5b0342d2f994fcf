import type { SseFrame } from './support/http-patterns.ts'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { startDemoServer, useDemoServer, waitFor } from './support/demo-server.ts'
import { call, readSse, startJob } from './support/http-patterns.ts'
import { trackDemoTimers } from './support/timers.ts'

const events = (frames: SseFrame[]) => frames.filter(f => f.event)

describe('SSE: GET /jobs/:id/events streams the job', () => {
  const s = useDemoServer({ connectBroker: false })

  it('is one text/event-stream response with retry, ids, progress events and a final done, then it ends', async () => {
    const job = await startJob(s.url, { durationMs: 500 })
    const res = await readSse(`${s.url}/jobs/${job.id}/events`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
    expect(res.headers.get('cache-control')).toBe('no-cache, no-transform')
    expect(res.headers.get('x-accel-buffering')).toBe('no')
    expect(res.frames[0]).toMatchObject({ retry: 2000, raw: 'retry: 2000' })
    const ev = events(res.frames)
    expect(ev.map(f => `${f.id}:${f.event}`)).toEqual(['1:progress', '2:progress', '3:progress', '4:progress', '5:progress', '6:done'])
    expect(ev.map(f => JSON.parse(f.data!).progress)).toEqual([0, 20, 40, 60, 80, 100])
    expect(JSON.parse(ev.at(-1)!.data!).finishedAt).toEqual(expect.any(Number))
    expect(s.ctx.lifecycle.openCount).toBe(0)
  })

  it('a failing job ends its stream with a failed event', async () => {
    const job = await startJob(s.url, { durationMs: 300, fail: true })
    const res = await readSse(`${s.url}/jobs/${job.id}/events`)
    const last = events(res.frames).at(-1)!
    expect(last.event).toBe('failed')
    expect(JSON.parse(last.data!)).toMatchObject({ state: 'failed', error: 'failed at 60%' })
  })

  it('a client dropped mid-job that reconnects with Last-Event-ID receives every missed event exactly once', async () => {
    const job = await startJob(s.url, { durationMs: 1000 })
    const first = await readSse(`${s.url}/jobs/${job.id}/events`, { onFrame: f => f.id === '2' })
    expect(events(first.frames).map(f => f.id)).toEqual(['1', '2'])
    // Offline while the job moves on: events 3 and 4 happen without us.
    await waitFor(async () => (await call(`${s.url}/jobs/${job.id}`)).body.version >= 4, 'two missed events')
    const second = await readSse(`${s.url}/jobs/${job.id}/events`, { headers: { 'Last-Event-ID': '2' } })
    const ids = [...events(first.frames), ...events(second.frames)].map(f => Number(f.id))
    expect(ids).toEqual([1, 2, 3, 4, 5, 6])
    expect(events(second.frames).at(-1)!.event).toBe('done')
  })

  it('resumes from ?lastEventId= too (for curl), and answers 204 when nothing is left to send', async () => {
    const job = await startJob(s.url, { durationMs: 200 })
    await waitFor(async () => (await call(`${s.url}/jobs/${job.id}`)).body.state === 'done', 'the end')
    const tail = await readSse(`${s.url}/jobs/${job.id}/events?lastEventId=4`)
    expect(events(tail.frames).map(f => f.id)).toEqual(['5', '6'])
    const nothing = await call(`${s.url}/jobs/${job.id}/events`, { headers: { 'Last-Event-ID': '6' } })
    expect(nothing.status).toBe(204)
  })

  it('a non-numeric Last-Event-ID is a 400, an unknown job a 404', async () => {
    const job = await startJob(s.url, { durationMs: 1000 })
    const bad = await call(`${s.url}/jobs/${job.id}/events`, { headers: { 'Last-Event-ID': 'abc' } })
    expect(bad.status).toBe(400)
    expect(bad.body.error).toMatch(/Last-Event-ID must be a non-negative integer/)
    expect((await call(`${s.url}/jobs/${job.id}/events?lastEventId=-3`)).status).toBe(400)
    expect((await call(`${s.url}/jobs/nope/events`)).status).toBe(404)
  })

  it('sends comment heartbeats while nothing happens', async () => {
    const local = await startDemoServer({ connectBroker: false, sseHeartbeatMs: 50 })
    try {
      const job = await startJob(local.url, { durationMs: 60_000 })
      let beats = 0
      const res = await readSse(`${local.url}/jobs/${job.id}/events`, { onFrame: f => f.comment === 'heartbeat' && ++beats === 3 })
      expect(res.frames.filter(f => f.comment === 'heartbeat')).toHaveLength(3)
      expect(events(res.frames)).toHaveLength(1)
    }
    finally {
      await local.close()
    }
  })

  it('refuses streams past the per-server cap with a 429 JSON error, and frees a slot when a client leaves', async () => {
    const local = await startDemoServer({ connectBroker: false, sseMaxClients: 2 })
    const streams = local.ctx.eventStreams
    try {
      const job = await startJob(local.url, { durationMs: 60_000 })
      const controllers = [new AbortController(), new AbortController()]
      const opened = await Promise.all(controllers.map(c => fetch(`${local.url}/jobs/${job.id}/events`, { signal: c.signal })))
      expect(opened.map(r => r.status)).toEqual([200, 200])
      const refused = await call(`${local.url}/jobs/${job.id}/events`)
      expect(refused.status).toBe(429)
      expect(refused.headers.get('retry-after')).toBe('5')
      expect(refused.body.error).toMatch(/too many event streams open \(limit 2\)/)
      controllers[0]!.abort()
      await waitFor(() => streams.size === 1, 'the slot to be freed')
      const again = new AbortController()
      const res = await fetch(`${local.url}/jobs/${job.id}/events`, { signal: again.signal })
      expect(res.status).toBe(200)
      again.abort()
      controllers[1]!.abort()
      await waitFor(() => streams.size === 0, 'every slot to be freed')
    }
    finally {
      await local.close()
    }
  })

  it('answers HEAD with the stream\'s headers and holds nothing open', async () => {
    const job = await startJob(s.url, { durationMs: 60_000 })
    const res = await fetch(`${s.url}/jobs/${job.id}/events`, { method: 'HEAD' })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
    expect(await res.text()).toBe('')
    await waitFor(() => s.ctx.eventStreams.size === 0 && s.ctx.lifecycle.openCount === 0 && s.ctx.jobs.watcherCount(job.id) === 0, 'nothing held')
  })

  it('a client that leaves releases its heartbeat timer, its listener and its hold', async () => {
    const store = s.ctx.jobs
    const job = await startJob(s.url, { durationMs: 60_000 })
    const tracked = trackDemoTimers('sse/')
    const timers = tracked.count
    const before = { timers: timers(), watchers: store.watcherCount(), open: s.ctx.lifecycle.openCount }
    const c = new AbortController()
    await fetch(`${s.url}/jobs/${job.id}/events`, { signal: c.signal })
    expect(store.watcherCount()).toBe(before.watchers + 1)
    expect(timers()).toBe(before.timers + 1)
    expect(s.ctx.lifecycle.openCount).toBe(before.open + 1)
    c.abort()
    await waitFor(() => s.ctx.lifecycle.openCount === before.open, 'the hold to be released')
    expect(store.watcherCount()).toBe(before.watchers)
    await waitFor(() => timers() === before.timers, 'its heartbeat timer to be released')
    expect(s.ctx.eventStreams.size).toBe(0)
    tracked.stop()
  })

  it('shutdown ends open streams with a comment', async () => {
    const local = await startDemoServer({ connectBroker: false })
    const job = await startJob(local.url, { durationMs: 60_000 })
    const reading = readSse(`${local.url}/jobs/${job.id}/events`)
    await waitFor(() => local.ctx.lifecycle.openCount === 1, 'the stream to open')
    await local.close()
    const res = await reading
    expect(res.frames.at(-1)!.comment).toBe('server shutting down')
  })

  it('a client that reconnects after the demo server restarted gets exactly the events it missed (the jobs outlive the process)', async () => {
    const jobsDb = join(mkdtempSync(join(tmpdir(), 'wp-jobs-')), 'jobs.sqlite')
    const first = await startDemoServer({ connectBroker: false, jobsDb })
    const job = await startJob(first.url, { durationMs: 2000 }) // a change every 400 ms
    const before = await readSse(`${first.url}/jobs/${job.id}/events`, { onFrame: f => f.id === '2' })
    expect(events(before.frames).map(f => f.id)).toEqual(['1', '2'])
    await first.close()
    // Down for more than one step: the change due meanwhile is not lost, it happens on restart.
    await new Promise(r => setTimeout(r, 500))
    const second = await startDemoServer({ connectBroker: false, jobsDb, port: first.port })
    try {
      const after = await readSse(`${second.url}/jobs/${job.id}/events`, { headers: { 'Last-Event-ID': '2' } })
      const ids = [...events(before.frames), ...events(after.frames)].map(f => Number(f.id))
      expect(ids).toEqual([1, 2, 3, 4, 5, 6])
      expect(events(after.frames).at(-1)!.event).toBe('done')
    }
    finally {
      await second.close()
    }
  })
})
