import { describe, expect, it } from 'vitest'
import { startDemoServer, useDemoServer, waitFor } from './support/demo-server.ts'
import { call, startJob } from './support/http-patterns.ts'
import { epochMs } from '../wire/clock.ts'
import { trackDemoTimers } from './support/timers.ts'

describe('long polling: GET /jobs/:id?wait=<s> is held until something changes', () => {
  const s = useDemoServer({ connectBroker: false })

  it('holds the request until the job changes, then answers with the new state', async () => {
    const job = await startJob(s.url, { durationMs: 1000 }) // a change every 200 ms
    const sentAt = epochMs()
    const res = await call(`${s.url}/jobs/${job.id}?wait=10`)
    const answeredAt = epochMs()
    expect(res.status).toBe(200)
    expect(res.headers.get('x-long-poll')).toBe('changed')
    expect(res.body).toMatchObject({ id: job.id, version: 2, progress: 20 })
    // Held: sent before the change happened, answered after it.
    expect(res.body.updatedAt).toBeGreaterThan(sentAt)
    expect(answeredAt).toBeGreaterThanOrEqual(res.body.updatedAt)
  })

  it('one held request per state change follows a job to its end, learning of it well within one step', async () => {
    const job = await startJob(s.url, { durationMs: 2000 }) // a change every 400 ms
    let version = job.version
    let requests = 0
    let last: any
    do {
      const res = await call(`${s.url}/jobs/${job.id}?wait=10&since=${version}`)
      requests++
      last = { ...res.body, learnedAt: epochMs() }
      expect(last.version).toBe(version + 1) // every answer is news, none is empty
      version = last.version
    } while (last.state === 'running')
    expect(last.state).toBe('done')
    expect(requests).toBe(5)
    // Told as it happened: a few ms on a quiet machine; a poll that answered a whole step late
    // would have missed a change. Half a step leaves a slow machine tenfold room.
    expect(last.learnedAt - last.finishedAt).toBeGreaterThanOrEqual(0)
    expect(last.learnedAt - last.finishedAt).toBeLessThan(400 / 2)
  })

  it('wakes every poll held on one job with its next change, then keeps no listener on the job', async () => {
    // A change every 4 s: time for 200 polls to be held first, even on a slow machine.
    const job = await startJob(s.url, { durationMs: 20_000 })
    const store = s.ctx.jobs
    const polls = Array.from({ length: 200 }, () => call(`${s.url}/jobs/${job.id}?wait=10&since=${job.version}`))
    await waitFor(() => s.ctx.lifecycle.openCount === 200, '200 held polls')
    expect(store.watcherCount(job.id)).toBe(200) // every held poll is woken by the change itself
    const answers = await Promise.all(polls)
    expect(new Set(answers.map(a => a.body.version))).toEqual(new Set([job.version + 1]))
    expect(answers.every(a => a.headers.get('x-long-poll') === 'changed')).toBe(true)
    await waitFor(() => s.ctx.lifecycle.openCount === 0, 'holds released')
    expect(store.watcherCount(job.id)).toBe(0)
  })

  it('answers with the unchanged state when the wait ends first', async () => {
    const job = await startJob(s.url, { durationMs: 60_000 })
    const t0 = performance.now()
    const res = await call(`${s.url}/jobs/${job.id}?wait=0.3`)
    expect(performance.now() - t0).toBeGreaterThanOrEqual(290)
    expect(res.headers.get('x-long-poll')).toBe('timeout')
    expect(res.body.version).toBe(job.version)
  })

  it('answers at once when the client is behind (since) or the job is already over', async () => {
    // A change every 12 s: an answer that waited for the next change would take that long.
    const job = await startJob(s.url, { durationMs: 60_000 })
    const behind = await call(`${s.url}/jobs/${job.id}?wait=10&since=0`)
    expect(behind.headers.get('x-long-poll')).toBeNull() // answered as it came, not held to a timeout
    expect(behind.body.version).toBe(job.version)
    expect(behind.body.updatedAt).toBe(job.updatedAt) // the state it already had, not a newer one

    const short = await startJob(s.url, { durationMs: 200 })
    await waitFor(async () => (await call(`${s.url}/jobs/${short.id}`)).body.state === 'done', 'the end')
    const over = await call(`${s.url}/jobs/${short.id}?wait=10`)
    expect(over.body.state).toBe('done')
    expect(over.headers.get('x-long-poll')).toBeNull()
  })

  it.each([
    ['wait above the maximum', 'wait=31', /wait must be a number of seconds between 0 and 30/],
    ['a negative wait', 'wait=-1', /wait must be/],
    ['a non-numeric wait', 'wait=soon', /wait must be/],
    ['a non-numeric since', 'wait=1&since=x', /since must be/],
  ])('%s is a 400 naming the problem', async (_name, query, message) => {
    const job = await startJob(s.url, { durationMs: 1000 })
    const res = await call(`${s.url}/jobs/${job.id}?${query}`)
    expect(res.status).toBe(400)
    expect(res.body.error).toMatch(message)
  })

  it('an unknown job is a 404 even with wait', async () => {
    const res = await call(`${s.url}/jobs/nope?wait=5`)
    expect(res.status).toBe(404)
  })

  it('a client that goes away releases its listener, timer and hold at once', async () => {
    const store = s.ctx.jobs
    const job = await startJob(s.url, { durationMs: 60_000 })
    const tracked = trackDemoTimers('jobs/long-poll.ts')
    const timers = tracked.count
    const before = { timers: timers(), watchers: store.watcherCount(), open: s.ctx.lifecycle.openCount }
    const controller = new AbortController()
    const pending = call(`${s.url}/jobs/${job.id}?wait=30`, { signal: controller.signal }).catch(() => 'aborted')
    await waitFor(() => s.ctx.lifecycle.openCount === before.open + 1, 'the poll to be held')
    expect(store.watcherCount()).toBe(before.watchers + 1)
    expect(timers()).toBe(before.timers + 1)
    controller.abort()
    expect(await pending).toBe('aborted')
    await waitFor(() => s.ctx.lifecycle.openCount === before.open, 'the hold to be released')
    expect(store.watcherCount()).toBe(before.watchers)
    await waitFor(() => timers() === before.timers, 'its timer to be released')
    tracked.stop()
  })

  it('shutdown answers every held poll instead of cutting it', async () => {
    const local = await startDemoServer({ connectBroker: false })
    const job = await startJob(local.url, { durationMs: 60_000 })
    const pending = call(`${local.url}/jobs/${job.id}?wait=30`)
    await waitFor(() => local.ctx.lifecycle.openCount === 1, 'the poll to be held')
    await local.close()
    const res = await pending
    expect(res.status).toBe(200)
    expect(res.headers.get('x-long-poll')).toBe('shutdown')
  })
})
