import { describe, expect, it } from 'vitest'
import { useDemoServer } from './support/demo-server.ts'
import { call, sleep, startJob } from './support/http-patterns.ts'

describe('short polling: GET /jobs/:id answers at once', () => {
  const s = useDemoServer({ connectBroker: false })

  it('answers immediately with the current state, never holding the request', async () => {
    const { id } = await startJob(s.url, { durationMs: 2000 })
    const t0 = performance.now()
    const res = await call(`${s.url}/jobs/${id}`)
    expect(performance.now() - t0).toBeLessThan(100)
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(res.body).toMatchObject({ id, state: 'running', finishedAt: null })
    expect(s.ctx.lifecycle.openCount).toBe(0)
  })

  it('a client polling every 100 ms gets several "not ready" answers and learns of the end within one interval', async () => {
    const { id } = await startJob(s.url, { durationMs: 500 })
    let polls = 0
    let notReady = 0
    let final: any
    for (;;) {
      const res = await call(`${s.url}/jobs/${id}`)
      polls++
      if (res.body.state === 'running') {
        notReady++
        await sleep(100)
        continue
      }
      final = { ...res.body, learnedAt: performance.timeOrigin + performance.now() }
      break
    }
    expect(final.state).toBe('done')
    expect(polls).toBeGreaterThanOrEqual(4)
    expect(notReady).toBe(polls - 1)
    const delay = final.learnedAt - final.finishedAt
    expect(delay).toBeGreaterThanOrEqual(0)
    expect(delay).toBeLessThan(100 + 50)
  })

  it('an unknown job is a 404 with a JSON error', async () => {
    const res = await call(`${s.url}/jobs/zzz`)
    expect(res.status).toBe(404)
    expect(res.body).toEqual({ error: 'no job zzz (unknown or expired)' })
  })
})
