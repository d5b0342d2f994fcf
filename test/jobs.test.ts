import { describe, expect, it } from 'vitest'
import { epochMs } from '../wire/clock.ts'
import { startDemoServer, useDemoServer, waitFor } from './support/demo-server.ts'
import { call, startJob } from './support/http-patterns.ts'
import { trackDemoTimers } from './support/timers.ts'

describe('jobs: the one job model every HTTP pattern watches', () => {
  const s = useDemoServer({ connectBroker: false })

  it('POST /jobs answers 202 with an id and a Location that GET answers', async () => {
    const res = await call(`${s.url}/jobs`, { json: { durationMs: 300 } })
    expect(res.status).toBe(202)
    expect(res.body).toMatchObject({ id: expect.any(String), state: 'running', progress: 0, version: 1, durationMs: 300, finishedAt: null })
    expect(res.headers.get('location')).toBe(`/jobs/${res.body.id}`)
    const again = await call(`${s.url}${res.headers.get('location')}`)
    expect(again.status).toBe(200)
    expect(again.body.id).toBe(res.body.id)
  })

  it('a job progresses on the server by itself and ends done, with the time it finished', async () => {
    const before = Date.now()
    const { id } = await startJob(s.url, { durationMs: 2000 }) // a change every 400 ms
    const mid = await waitFor(async () => {
      const r = await call(`${s.url}/jobs/${id}`)
      return r.body.progress > 0 && r
    }, 'the first progress')
    expect(mid.body.state).toBe('running')
    expect(mid.body.progress).toBeGreaterThan(0)
    expect(mid.body.progress).toBeLessThan(100)
    const done = await waitFor(async () => {
      const r = await call(`${s.url}/jobs/${id}`)
      return r.body.state === 'done' && r.body
    }, 'the job to finish')
    expect(done).toMatchObject({ progress: 100, version: 6 })
    expect(done.finishedAt - done.createdAt).toBeGreaterThanOrEqual(1995)
    expect(done.finishedAt).toBeGreaterThanOrEqual(before)
  })

  it('fail: true (or failAt) makes the job end in failed, with an error', async () => {
    const a = await startJob(s.url, { durationMs: 200, fail: true })
    const b = await startJob(s.url, { durationMs: 200, failAt: 20 })
    const end = async (id: string) => waitFor(async () => {
      const r = await call(`${s.url}/jobs/${id}`)
      return r.body.state !== 'running' && r.body
    }, 'the job to end')
    expect(await end(a.id)).toMatchObject({ state: 'failed', error: 'failed at 60%', finishedAt: expect.any(Number) })
    expect(await end(b.id)).toMatchObject({ state: 'failed', progress: 0, error: 'failed at 20%' })
  })

  it.each([
    ['malformed JSON', { body: '{"durationMs": ', headers: { 'Content-Type': 'application/json' } }, /malformed JSON/],
    ['no JSON body', { body: 'durationMs=100', headers: { 'Content-Type': 'text/plain' } }, /JSON object/],
    ['a JSON array', { json: [1000] }, /JSON object/],
    ['a negative duration', { json: { durationMs: -5 } }, /durationMs must be/],
    ['an absurd duration', { json: { durationMs: 1e12 } }, /durationMs must be/],
    ['a fractional duration', { json: { durationMs: 150.5 } }, /durationMs must be/],
    ['a string duration', { json: { durationMs: '1000' } }, /durationMs must be/],
    ['fail that is not a boolean', { json: { durationMs: 1000, fail: 'yes' } }, /fail must be/],
    ['failAt out of range', { json: { durationMs: 1000, failAt: 150 } }, /failAt must be/],
  ])('POST /jobs with %s is a 400 naming the problem', async (_name, init, message) => {
    const res = await call(`${s.url}/jobs`, { method: 'POST', ...init })
    expect(res.status).toBe(400)
    expect(res.body.error).toMatch(message)
  })

  it('an oversized body is a 413, an unknown job a 404, both as JSON', async () => {
    const big = await call(`${s.url}/jobs`, { json: { durationMs: 1000, pad: 'x'.repeat(20_000) } })
    expect(big.status).toBe(413)
    expect(big.body.error).toMatch(/too large/)
    const unknown = await call(`${s.url}/jobs/does-not-exist`)
    expect(unknown.status).toBe(404)
    expect(unknown.body.error).toMatch(/no job does-not-exist/)
  })

  it('a method the job API does not have is a 405 naming the ones it has (not a 404: the job is there)', async () => {
    const job = await startJob(s.url, { durationMs: 300 })
    for (const [method, path, allow] of [['DELETE', `/jobs/${job.id}`, 'GET, HEAD'], ['PUT', '/jobs', 'POST']] as const) {
      const res = await fetch(`${s.url}${path}`, { method })
      expect(res.status, `${method} ${path}`).toBe(405)
      expect(res.headers.get('allow')).toBe(allow)
      expect((await res.json()).error).toMatch(`${method} is not allowed here`)
    }
    expect((await call(`${s.url}/jobs/${job.id}`)).status).toBe(200) // still there
  })

  it('the store is bounded: the oldest finished job makes room, and when all are running it refuses with 429', async () => {
    const local = await startDemoServer({ connectBroker: false, jobsMax: 3 })
    try {
      const store = local.ctx.jobs
      const first = await startJob(local.url, { durationMs: 100 })
      await waitFor(() => store.get(first.id)?.state === 'done', 'the first job to finish')
      await startJob(local.url, { durationMs: 5000 })
      await startJob(local.url, { durationMs: 5000 })
      await startJob(local.url, { durationMs: 5000 }) // evicts `first`
      expect(store.size).toBe(3)
      expect((await call(`${local.url}/jobs/${first.id}`)).status).toBe(404)
      const full = await call(`${local.url}/jobs`, { json: { durationMs: 5000 } })
      expect(full.status).toBe(429)
      expect(full.headers.get('retry-after')).toBe('5')
      expect(full.body.error).toMatch(/3 jobs are running/)
    }
    finally {
      await local.close()
    }
  })

  it('a finished job is forgotten after its time-to-live', async () => {
    const local = await startDemoServer({ connectBroker: false, jobsTtlMs: 1000 })
    try {
      const { id } = await startJob(local.url, { durationMs: 100 })
      const done = await waitFor(() => local.ctx.jobs.get(id)?.state === 'done' && local.ctx.jobs.get(id), 'the job to finish')
      expect((await call(`${local.url}/jobs/${id}`)).status).toBe(200)
      await waitFor(async () => (await call(`${local.url}/jobs/${id}`)).status === 404, 'the job to be forgotten')
      expect(epochMs() - done.finishedAt!).toBeGreaterThanOrEqual(1000)
    }
    finally {
      await local.close()
    }
  })

  it('shutdown stops the timers of running jobs', async () => {
    const local = await startDemoServer({ connectBroker: false })
    const tracked = trackDemoTimers('jobs/')
    await startJob(local.url, { durationMs: 60_000 })
    await startJob(local.url, { durationMs: 60_000 })
    expect(tracked.count()).toBe(2)
    await local.close()
    await waitFor(() => tracked.count() === 0, 'the job timers to be released') // destroy hooks run a moment after clearTimeout
    tracked.stop()
  })
})
