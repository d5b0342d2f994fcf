import { describe, expect, it } from 'vitest'
import { useDemoServer } from './support/demo-server.ts'
import { call, sleep, startJob } from './support/http-patterns.ts'
import { epochMs } from '../wire/clock.ts'

describe('short polling: GET /jobs/:id answers at once', () => {
  const s = useDemoServer({ connectBroker: false })

  it('answers immediately with the current state, never holding the request', async () => {
    // The next change is 12 s away: an answer that waited for it would carry version 2.
    const { id, version } = await startJob(s.url, { durationMs: 60_000 })
    const res = await call(`${s.url}/jobs/${id}`)
    expect(res.status).toBe(200)
    expect(res.body.version).toBe(version)
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(res.body).toMatchObject({ id, state: 'running', finishedAt: null })
    expect(s.ctx.lifecycle.openCount).toBe(0)
  })

  it('a client polling every 100 ms gets several "not ready" answers and learns of the end within one interval', async () => {
    const { id } = await startJob(s.url, { durationMs: 500 })
    let polls = 0
    let notReady = 0
    let final: any
    let previousSentAt = 0
    let sentAt = 0
    for (;;) {
      previousSentAt = sentAt
      sentAt = epochMs()
      const res = await call(`${s.url}/jobs/${id}`)
      polls++
      if (res.body.state === 'running') {
        notReady++
        await sleep(100)
        continue
      }
      final = { ...res.body, learnedAt: epochMs() }
      break
    }
    expect(final.state).toBe('done')
    expect(polls).toBeGreaterThanOrEqual(4)
    expect(notReady).toBe(polls - 1)
    // Learned at the first poll after the end: the end fell between the last two polls, so the
    // delay is at most one interval (as this machine kept it) plus that poll's round trip.
    expect(final.finishedAt).toBeGreaterThan(previousSentAt)
    const delay = final.learnedAt - final.finishedAt
    expect(delay).toBeGreaterThanOrEqual(0)
    expect(delay).toBeLessThan(final.learnedAt - previousSentAt)
  })

  it('an unknown job is a 404 with a JSON error', async () => {
    const res = await call(`${s.url}/jobs/zzz`)
    expect(res.status).toBe(404)
    expect(res.body).toEqual({ error: 'no job zzz (unknown or expired)' })
  })
})
