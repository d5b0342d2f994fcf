import type { RunningDemoServer } from './support/demo-server.ts'
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isAlive } from './support/children.ts'
import { startDemoServer, waitFor } from './support/demo-server.ts'

interface Stats {
  sidecar: boolean
  app: { pid: number, requests: number, upstreamCalls: number, failures: number }
  proxy: null | { pid: number, requests: number, attempts: number, retries: number, log: string[] }
  upstream: { attempts: number, failed: number, traced: number }
}
interface Order { status: number, body: { ordered?: boolean, error?: string }, attempts: Array<{ status: number, traceparent?: string }> }

describe('sidecar: the same app, with and without a proxy beside it', () => {
  let demos: RunningDemoServer
  const mode = async (sidecar: boolean, failures = 1) => (await fetch(`${demos.url}/sidecar/mode`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ sidecar, failures }),
  })).json() as Promise<Stats>
  let orders = 0
  /**
   * Places one order (a POST), with a new Idempotency-Key unless `key` repeats an earlier one. The demo
   * server answers with the app's own status, which the body repeats.
   */
  const order = async (key = `test-${++orders}`) => {
    const res = await fetch(`${demos.url}/sidecar/order`, { method: 'POST', headers: { 'Idempotency-Key': key } })
    const body = await res.json() as Order
    expect(res.status, 'HTTP status of POST /sidecar/order').toBe(body.status)
    return body
  }
  const stats = async () => (await fetch(`${demos.url}/sidecar/stats`)).json() as Promise<Stats>

  beforeAll(async () => {
    demos = await startDemoServer({ connectBroker: false })
  })
  afterAll(async () => {
    await demos?.close()
  })

  it('without a sidecar, every other order fails: the app calls the flaky service once and gives up', async () => {
    await mode(false)
    const orders = [await order(), await order(), await order(), await order()]
    expect(orders.map(o => o.status)).toEqual([502, 200, 502, 200])
    expect(orders.every(o => o.attempts.length === 1 && !o.attempts[0]!.traceparent)).toBe(true)
    const s = await stats()
    expect(s.proxy).toBeNull()
    expect(s.app).toMatchObject({ requests: 4, upstreamCalls: 4, failures: 2 })
    expect(s.upstream).toMatchObject({ attempts: 4, failed: 2, traced: 0 })
  })

  it('with the sidecar, every order succeeds; the retries and trace headers come from the sidecar, the app still calls once', async () => {
    const fresh = await mode(true, 2)
    expect(fresh.app.requests).toBe(0)
    const orders = [await order(), await order(), await order()]
    expect(orders.map(o => o.status)).toEqual([200, 200, 200])
    for (const o of orders) {
      expect(o.attempts.map(a => a.status)).toEqual([503, 503, 200])
      // One trace id for all attempts of one order.
      expect(new Set(o.attempts.map(a => a.traceparent)).size).toBe(1)
      expect(o.attempts[0]!.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/)
    }
    const s = await stats()
    expect(s.app).toMatchObject({ requests: 3, upstreamCalls: 3, failures: 0 }) // one call per order: no retries in the app
    expect(s.proxy).toMatchObject({ requests: 3, attempts: 9, retries: 6 }) // the retries: in the sidecar
    expect(s.upstream).toMatchObject({ attempts: 9, failed: 6, traced: 9 })
    expect(s.proxy!.log.at(-1)).toMatch(/GET \/price -> 200 \(attempt 3\/3/)
    expect(s.proxy!.pid).not.toBe(s.app.pid)
  })

  it('an order sent again with the same Idempotency-Key is answered as the first time, without ordering again', async () => {
    await mode(true)
    const first = await order('same-order')
    const again = await order('same-order')
    expect(first.status).toBe(200)
    expect(again).toMatchObject({ status: 200, body: first.body, attempts: [] }) // the price service saw nothing new
    expect((await stats()).app).toMatchObject({ requests: 2, upstreamCalls: 1 })
    const get = await fetch(`${demos.url}/sidecar/order`)
    expect(get.status, 'an order is a POST: GET is safe and must not place one').toBe(404)
    const tooLong = await fetch(`${demos.url}/sidecar/order`, { method: 'POST', headers: { 'Idempotency-Key': 'k'.repeat(256) } })
    expect(tooLong.status).toBe(400)
  })

  it('the sidecar gives up after three attempts and passes the failure on', async () => {
    await mode(true, 3)
    const o = await order()
    expect(o.status).toBe(502)
    expect(o.attempts.map(a => a.status)).toEqual([503, 503, 503])
  })

  it('the app\'s code has no retry, no trace header, no logging', () => {
    const app = readFileSync(new URL('../demos/sidecar/app.ts', import.meta.url), 'utf8')
    expect(app).not.toMatch(/retry|traceparent|console\./i)
  })

  it('answers bad input with 4xx JSON errors', async () => {
    const bad = await fetch(`${demos.url}/sidecar/mode`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ sidecar: 'yes' }) })
    expect(bad.status).toBe(400)
    expect(await bad.json()).toEqual({ error: 'sidecar must be true or false' })
    const badFailures = await fetch(`${demos.url}/sidecar/mode`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ sidecar: true, failures: 9 }) })
    expect(badFailures.status).toBe(400)
  })

  it('when the app crashes its sidecar goes too, and the next order redeploys both', async () => {
    const before = await mode(true)
    process.kill(before.app.pid, 'SIGKILL')
    await waitFor(() => !isAlive(before.app.pid) && !isAlive(before.proxy!.pid), 'the app and its sidecar to be gone')
    const next = await order()
    expect(next.status).toBe(200)
    const after = await stats()
    expect(after.sidecar).toBe(true)
    expect([after.app.pid, after.proxy!.pid]).not.toContain(before.proxy!.pid)
  })

  it('switching the sidecar off stops its process; shutting the demo server down stops the app too', async () => {
    const on = await mode(true)
    expect(isAlive(on.proxy!.pid)).toBe(true)
    const off = await mode(false)
    expect(isAlive(on.proxy!.pid)).toBe(false)
    expect(isAlive(on.app.pid)).toBe(false)
    expect(isAlive(off.app.pid)).toBe(true)
    const resourcesBefore = process.getActiveResourcesInfo().filter(r => r !== 'Timeout').length
    await demos.close()
    expect(isAlive(off.app.pid)).toBe(false)
    demos = await startDemoServer({ connectBroker: false })
    await demos.close()
    // The app's pipes and the flaky service's listener are gone; nothing more than before is open.
    await waitFor(() => process.getActiveResourcesInfo().filter(r => r !== 'Timeout').length < resourcesBefore, 'the app\'s pipes and the flaky service to close')
  })
})
