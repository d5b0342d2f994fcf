import type { RunningDemoServer } from './support/demo-server.ts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { waitFor } from './support/demo-server.ts'
import { call, deleteQueue, openSse, startConnectedDemoServer } from './support/mq.ts'

// Its own work queue: test files run in parallel against one broker.
const WORK_QUEUE = 'wire.jobs.test-work-queue'

describe('work queue: competing workers, manual acks, redelivery', () => {
  let demos: RunningDemoServer
  beforeAll(async () => {
    demos = await startConnectedDemoServer({ workQueue: WORK_QUEUE })
    await call(demos.url, 'DELETE', '/work-queue/jobs')
  })
  afterAll(async () => {
    await demos?.close()
    await deleteQueue(process.env.AMQP_URL!, WORK_QUEUE)
  })

  it('acks every one of 20 jobs exactly once although a worker is killed mid-job, counting the redelivery', async () => {
    const events = await openSse(`${demos.url}/work-queue/events`)
    const w1 = (await call(demos.url, 'POST', '/work-queue/workers', { delayMs: 40 })).body
    const w2 = (await call(demos.url, 'POST', '/work-queue/workers', { delayMs: 40 })).body
    // the victim is slow, so it is surely mid-job when we kill it
    const slow = (await call(demos.url, 'POST', '/work-queue/workers', { delayMs: 5000 })).body
    expect([w1.state, w2.state, slow.state]).toEqual(['idle', 'idle', 'idle'])

    const posted = await call(demos.url, 'POST', '/work-queue/jobs', { count: 20 })
    expect(posted.status).toBe(202)
    expect(posted.body.jobs).toHaveLength(20)

    const victimJob = await waitFor(() => events.events.find(e => e.event === 'delivered' && e.data.worker === slow.id)?.data.job as string | undefined, 'the slow worker to take a job')
    const killed = await call(demos.url, 'POST', `/work-queue/workers/${slow.id}/kill`)
    expect(killed.body).toEqual({ killed: slow.id, job: victimJob })

    const stats = await waitFor(async () => {
      const s = (await call(demos.url, 'GET', '/work-queue/stats')).body
      return s.acked === 20 && s
    }, 'all 20 jobs acked')
    expect(stats.ackedMoreThanOnce).toBe(0)
    expect(Object.keys(stats.acks).sort()).toEqual([...posted.body.jobs].sort())
    expect(stats.redelivered).toBeGreaterThanOrEqual(1)
    expect(stats.deliveries).toBe(20 + stats.redelivered)
    expect(stats.queue).toEqual({ ready: 0, consumers: 2 })
    // the job the victim held came back, flagged redelivered, and another worker acked it
    const again = events.events.find(e => e.event === 'delivered' && e.data.job === victimJob && e.data.redelivered)
    expect(again?.data.worker).not.toBe(slow.id)
    expect(events.events.some(e => e.event === 'acked' && e.data.job === victimJob && e.data.worker !== slow.id)).toBe(true)
    await events.close()
    await waitFor(() => demos.ctx.lifecycle.openCount === 0, 'the event stream released')
  })

  it('lets the presenter slow a worker down, and rejects bad input', async () => {
    const workers = (await call(demos.url, 'GET', '/work-queue/workers')).body
    const slowed = await call(demos.url, 'PATCH', `/work-queue/workers/${workers[0].id}`, { delayMs: 3000 })
    expect(slowed.body.delayMs).toBe(3000)
    expect((await call(demos.url, 'PATCH', `/work-queue/workers/${workers[0].id}`, { delayMs: -1 })).status).toBe(400)
    expect((await call(demos.url, 'POST', '/work-queue/workers/999/kill')).status).toBe(404)
    expect((await call(demos.url, 'POST', '/work-queue/jobs', { count: 0 })).status).toBe(400)
    expect((await call(demos.url, 'POST', '/work-queue/jobs', { count: 'many' })).status).toBe(400)
  })

  it('keeps jobs in the durable queue while no worker runs, and a new worker gets them', async () => {
    for (const w of (await call(demos.url, 'GET', '/work-queue/workers')).body)
      await call(demos.url, 'POST', `/work-queue/workers/${w.id}/kill`)
    await call(demos.url, 'DELETE', '/work-queue/jobs')
    await call(demos.url, 'POST', '/work-queue/jobs', { count: 5 })
    await waitFor(async () => (await call(demos.url, 'GET', '/work-queue/stats')).body.queue.ready === 5, '5 ready jobs')
    await call(demos.url, 'POST', '/work-queue/workers', { delayMs: 10 })
    await waitFor(async () => (await call(demos.url, 'GET', '/work-queue/stats')).body.acked === 5, '5 acked jobs')
  })

  it('bounds the queue: a post that would pass the limit of waiting jobs is a 429, and nothing of it is enqueued', async () => {
    const small = await startConnectedDemoServer({ workQueue: `${WORK_QUEUE}.small`, workQueueMax: 5 })
    try {
      expect((await call(small.url, 'POST', '/work-queue/jobs', { count: 3 })).status).toBe(202)
      const refused = await call(small.url, 'POST', '/work-queue/jobs', { count: 3 })
      expect(refused.status).toBe(429)
      expect(refused.body.error).toMatch(/holds 3 waiting jobs; 3 more would pass its limit of 5/)
      expect((await call(small.url, 'GET', '/work-queue/stats')).body).toMatchObject({ published: 3, queue: { ready: 3 } })
      expect((await call(small.url, 'POST', '/work-queue/jobs', { count: 2 })).status).toBe(202)
    }
    finally {
      await small.close()
      await deleteQueue(process.env.AMQP_URL!, `${WORK_QUEUE}.small`)
    }
  })

  it('the bound holds under concurrency: four simultaneous posts of 500 against a limit of 1000 enqueue at most 1000', async () => {
    const queue = `${WORK_QUEUE}.race`
    const racing = await startConnectedDemoServer({ workQueue: queue, workQueueMax: 1000 })
    try {
      await call(racing.url, 'DELETE', '/work-queue/jobs')
      const answers = await Promise.all(Array.from({ length: 4 }, () => call(racing.url, 'POST', '/work-queue/jobs', { count: 500 })))
      const accepted = answers.filter(a => a.status === 202).length
      expect(answers.map(a => a.status).sort()).toEqual([...Array(accepted).fill(202), ...Array(4 - accepted).fill(429)])
      expect(accepted).toBeGreaterThanOrEqual(1)
      expect(accepted).toBeLessThanOrEqual(2)
      const stats = (await call(racing.url, 'GET', '/work-queue/stats')).body
      expect(stats.queue.ready).toBe(accepted * 500)
      expect(stats.published).toBe(accepted * 500)
    }
    finally {
      await racing.close()
      await deleteQueue(process.env.AMQP_URL!, queue)
    }
  })

  it('a queue deleted behind its back fails no request and takes the shared connection down for nobody', async () => {
    const sub = await openSse(`${demos.url}/pubsub/subscribe?bindingKey=bystander.%23`)
    await sub.waitForEvent('subscribed')
    await deleteQueue(process.env.AMQP_URL!, WORK_QUEUE) // as if from the management UI
    const purged = await call(demos.url, 'DELETE', '/work-queue/jobs')
    expect(purged).toMatchObject({ status: 200, body: { purged: 0 } })
    const stats = await call(demos.url, 'GET', '/work-queue/stats')
    expect(stats.status).toBe(200)
    expect(stats.body.queue).toMatchObject({ ready: 0 })
    // The subscriber on the same AMQP connection heard of no outage, and still receives.
    expect((await call(demos.url, 'POST', '/pubsub/publish', { message: 'still here', routingKey: 'bystander.x' })).status).toBe(202)
    expect((await sub.waitForMessages(1)).map(m => m.message)).toEqual(['still here'])
    expect(sub.events.filter(e => e.event === 'broker')).toEqual([])
    await sub.close()
  })

  it('tells when the broker cancels its workers (queue deleted), and declares the queue again on the next post', async () => {
    const events = await openSse(`${demos.url}/work-queue/events`)
    await call(demos.url, 'POST', '/work-queue/workers', { delayMs: 10 })
    const before = (await call(demos.url, 'GET', '/work-queue/workers')).body.length
    await deleteQueue(process.env.AMQP_URL!, WORK_QUEUE) // as if from the management UI
    await events.waitForEvent('cancelled')
    expect((await call(demos.url, 'GET', '/work-queue/workers')).body.length).toBe(before - events.events.filter(e => e.event === 'cancelled').length)
    const posted = await call(demos.url, 'POST', '/work-queue/jobs', { count: 3 })
    expect(posted.status).toBe(202)
    await waitFor(async () => (await call(demos.url, 'GET', '/work-queue/stats')).body.queue?.ready === 3, 'the 3 jobs waiting in the re-declared queue')
    await events.close()
  })
})
