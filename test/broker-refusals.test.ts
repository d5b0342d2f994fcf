import type { RunningDemoServer } from './support/demo-server.ts'
import { connect } from 'amqplib'
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest'
import { rabbitmqctl, startBroker, stopBroker } from '../tools/broker.ts'
import { waitFor } from './support/demo-server.ts'
import { afterBrokerFaults, call, openSse, publish, startConnectedDemoServer, waitForBrokerUp } from './support/mq.ts'

// The broker's quieter refusals (issue 22): a consumer timeout, a memory alarm, a channel-level
// refusal at reconnect, and the moment right after a crash. Each fault is undone in `finally`.
const broker = inject('broker')

// Its own work queue, like every test file.
const WORK_QUEUE = 'wire.jobs.test-refusals'

/** `{ok,5000}` -> 5000; `undefined` -> undefined (an Erlang application:get_env answer). */
function envValue(text: string): number | undefined {
  const m = /\{ok,(\d+(?:\.\d+)?)\}/.exec(text)
  return m ? Number(m[1]) : undefined
}

describe('the broker refuses quietly, and the demo server notices', () => {
  let demos: RunningDemoServer
  beforeAll(async () => {
    demos = await startConnectedDemoServer({ workQueue: WORK_QUEUE })
  })
  beforeEach(async () => {
    await waitForBrokerUp(demos)
    for (const w of (await call(demos.url, 'GET', '/work-queue/workers')).body)
      await call(demos.url, 'POST', `/work-queue/workers/${w.id}/kill`)
    expect((await call(demos.url, 'DELETE', '/work-queue/jobs')).status).toBe(200)
  })
  afterAll(async () => {
    await afterBrokerFaults(broker, demos, WORK_QUEUE)
  })

  it('a consumer timeout closes a worker\'s channel: the worker and the event stream say so, its consumer comes back, the job is redelivered and acked once', async () => {
    // RabbitMQ 3.10 reads consumer_timeout when a channel opens and checks it on the channel's
    // tick (channel_tick_interval, 60 s by default): 5 s and a 1 s tick bound this test to ~6 s.
    // (RabbitMQ 3.12+ also takes a per-queue x-consumer-timeout argument or policy; 3.10 does not.)
    const read = async (key: string) => envValue(await rabbitmqctl(broker, ['eval', `application:get_env(rabbit, ${key}).`]))
    const savedTimeout = await read('consumer_timeout')
    const savedTick = await read('channel_tick_interval') ?? 60_000
    await rabbitmqctl(broker, ['eval', 'application:set_env(rabbit, consumer_timeout, 5000), application:set_env(rabbit, channel_tick_interval, 1000).'])
    const events = await openSse(`${demos.url}/work-queue/events`)
    try {
      const slow = (await call(demos.url, 'POST', '/work-queue/workers', { delayMs: 60_000 })).body
      const job = (await call(demos.url, 'POST', '/work-queue/jobs', { count: 1 })).body.jobs[0] as string
      await waitFor(() => events.events.find(e => e.event === 'delivered' && e.data.worker === slow.id && e.data.job === job), 'the slow worker to take the job')
      // A fast worker, started only now so the slow one surely got the job.
      const fast = (await call(demos.url, 'POST', '/work-queue/workers', { delayMs: 10 })).body

      // The broker closes the slow worker's channel (PRECONDITION_FAILED, delivery ack timed out).
      const closed = await waitFor(() => events.events.find(e => e.event === 'channel-closed' && e.data.worker === slow.id), 'the slow worker\'s channel to be closed by the consumer timeout', 45_000)
      expect(closed.data).toMatchObject({ worker: slow.id, job })
      expect(closed.data.reason).toMatch(/PRECONDITION.FAILED.*timed out/)
      // The job comes back, flagged redelivered, and is applied once.
      const stats = await waitFor(async () => {
        const s = (await call(demos.url, 'GET', '/work-queue/stats')).body
        return s.acks[job] === 1 && s
      }, 'the redelivered job to be acked', 30_000)
      expect(stats.ackedMoreThanOnce).toBe(0)
      expect(stats.redelivered).toBeGreaterThanOrEqual(1)
      expect(events.events.some(e => e.event === 'delivered' && e.data.job === job && e.data.redelivered)).toBe(true)
      // The slow worker is back on a new channel: two consumers again, and the slide sees why it was gone.
      await waitFor(async () => (await call(demos.url, 'GET', '/work-queue/stats')).body.queue?.consumers === 2, 'both workers to consume again')
      const view = (await call(demos.url, 'GET', '/work-queue/workers')).body.find((w: { id: number }) => w.id === slow.id)
      expect(view.state).not.toBe('dead')
      expect(view.channelClosed).toMatchObject({ job })
      expect(view.channelClosed.reason).toMatch(/timed out/)
      expect(typeof view.channelClosed.at).toBe('number')
      expect(fast.state).toBe('idle')
    }
    finally {
      await events.close()
      const restore = savedTimeout === undefined ? 'application:unset_env(rabbit, consumer_timeout)' : `application:set_env(rabbit, consumer_timeout, ${savedTimeout})`
      // (Never unset channel_tick_interval: 3.10 channels crash without it.)
      await rabbitmqctl(broker, ['eval', `${restore}, application:set_env(rabbit, channel_tick_interval, ${savedTick}).`])
    }
  })

  it('a memory alarm: /health says blocked, publishes are refused at once with 503 + Retry-After, and confirms resume once it clears', async () => {
    const watermark = /(\d+(?:\.\d+)?)/.exec(await rabbitmqctl(broker, ['eval', 'vm_memory_monitor:get_vm_memory_high_watermark().']))?.[1] ?? '0.4'
    await rabbitmqctl(broker, ['set_vm_memory_high_watermark', '0.0001'])
    try {
      // RabbitMQ blocks a connection when it next publishes (connection.blocked): the first
      // publish meets the alarm. It may take the operation deadline; it must be a 503.
      const first = await fetch(`${demos.url}/pubsub/publish`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ message: 'alarm', routingKey: 'fault.alarm' }) })
      expect(first.status).toBe(503)
      expect(first.headers.get('retry-after')).toBe('2')
      const health = await waitFor(async () => {
        const h = (await call(demos.url, 'GET', '/health')).body
        return h.broker === 'blocked' && h
      }, '/health to say the broker is blocked')
      expect(health.brokerReason).toMatch(/memory or disk alarm/)
      // While blocked: refused at once, and it says why.
      for (const ask of [
        () => fetch(`${demos.url}/pubsub/publish`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ message: 'still', routingKey: 'fault.alarm' }) }),
        () => fetch(`${demos.url}/work-queue/jobs`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ count: 1 }) }),
      ]) {
        const t0 = performance.now()
        const res = await ask()
        const ms = performance.now() - t0
        expect(res.status).toBe(503)
        expect(res.headers.get('retry-after')).toBe('2')
        expect((await res.json() as { error: string }).error).toMatch(/blocked.*memory or disk alarm/)
        expect(ms).toBeLessThan(2500) // "at once": well under the 5 s operation deadline
      }
      // Only publishing is blocked (it has a connection of its own): the rest goes on.
      expect((await call(demos.url, 'GET', '/work-queue/stats')).status).toBe(200)
      const sub = await openSse(`${demos.url}/pubsub/subscribe?bindingKey=fault.%23`)
      expect(sub.status).toBe(200)
      await sub.waitForEvent('subscribed')
      await sub.close()
    }
    finally {
      await rabbitmqctl(broker, ['set_vm_memory_high_watermark', watermark])
    }
    await waitFor(async () => (await call(demos.url, 'GET', '/health')).body.broker === 'up', '/health to say up once the alarm cleared')
    expect((await call(demos.url, 'GET', '/health')).body.brokerReason).toBeUndefined()
    const after = await publish(demos.url, { message: 'after the alarm', routingKey: 'fault.alarm' })
    expect(after.status).toBe(202)
    expect((await call(demos.url, 'POST', '/work-queue/jobs', { count: 1 })).status).toBe(202)
  })

  it('a demo server started during a memory alarm says blocked before anything publishes, and up once it clears', async () => {
    const watermark = /(\d+(?:\.\d+)?)/.exec(await rabbitmqctl(broker, ['eval', 'vm_memory_monitor:get_vm_memory_high_watermark().']))?.[1] ?? '0.4'
    await rabbitmqctl(broker, ['set_vm_memory_high_watermark', '0.0001'])
    let late: RunningDemoServer
    try {
      late = await startConnectedDemoServer({ workQueue: WORK_QUEUE })
      // `npm start` reads /health once the broker is up: it must name the alarm without a demo's publish first.
      const health = await waitFor(async () => {
        const h = (await call(late.url, 'GET', '/health')).body
        return h.broker === 'blocked' && h
      }, '/health to say blocked with nothing published yet', 10_000)
      expect(health.brokerReason).toMatch(/memory or disk alarm/)
    }
    finally {
      await rabbitmqctl(broker, ['set_vm_memory_high_watermark', watermark])
    }
    try {
      await waitFor(async () => (await call(late.url, 'GET', '/health')).body.broker === 'up', '/health to say up once the alarm cleared')
      expect((await publish(late.url, { message: 'after the alarm', routingKey: 'fault.alarm' })).status).toBe(202)
    }
    finally {
      await late.close()
    }
  })

  it('an exchange re-declared with another type costs only the routes that use it: one reconnect, not a storm, and the other demos keep working', async () => {
    const conn = await connect(process.env.AMQP_URL!)
    conn.on('error', () => {}) // close_all_connections closes this one too
    const ch = await conn.createChannel()
    await ch.deleteExchange('wire.topic')
    await ch.assertExchange('wire.topic', 'fanout', { durable: true })
    await conn.close()
    const fanout = await openSse(`${demos.url}/pubsub/subscribe?exchange=fanout`)
    await fanout.waitForEvent('subscribed')
    const states: string[] = []
    const onState = (state: string) => states.push(state)
    demos.ctx.broker.on('state', onState)
    try {
      // Every connection dropped: the demo server reconnects and declares its topology again.
      await rabbitmqctl(broker, ['close_all_connections', 'test: wire.topic re-declared as fanout'])
      await waitFor(() => fanout.events.find(e => e.event === 'subscribed' && e.data.reconnected), 'the fanout subscriber to be declared again', 30_000)
      // The other demos work: fanout pub/sub, the work queue.
      const sent = await publish(demos.url, { exchange: 'fanout', message: 'still here' })
      expect(sent.status).toBe(202)
      await fanout.waitForMessages(1)
      expect((await call(demos.url, 'POST', '/work-queue/jobs', { count: 1 })).status).toBe(202)
      // The topic route answers a clear error that names the conflict, and the connection stays.
      const refused = await publish(demos.url, { message: 'to topic', routingKey: 'fault.conflict' })
      expect(refused.status).toBe(503)
      expect(refused.body.error).toMatch(/wire\.topic/)
      expect(refused.body.error).toMatch(/inequivalent|PRECONDITION/)
      expect((await call(demos.url, 'GET', '/health')).body.broker).toBe('up')
      expect(states).toEqual(['down', 'up'])
    }
    finally {
      demos.ctx.broker.off('state', onState)
      await fanout.close()
      const fix = await connect(process.env.AMQP_URL!)
      const fixCh = await fix.createChannel()
      await fixCh.deleteExchange('wire.topic')
      await fixCh.assertExchange('wire.topic', 'topic', { durable: true })
      await fix.close()
    }
    // Repaired on the broker: the topic route works again without a reconnect.
    expect((await publish(demos.url, { message: 'topic again', routingKey: 'fault.conflict' })).status).toBe(202)
    expect(states).toEqual(['down', 'up'])
  })

  it('right after a crash (kill -9), every broker route answers 503 with Retry-After, never a 500', async () => {
    const answers: Array<{ path: string, status: number, retryAfter: string | null, error?: string }> = []
    let stop = false
    const ask = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${demos.url}${path}`, { method, headers: { 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) })
      const json = await res.json().catch(() => null) as { error?: string } | null
      answers.push({ path, status: res.status, retryAfter: res.headers.get('retry-after'), error: json?.error })
    }
    // Requests in flight as the socket drops, and on until well after the demo server saw it.
    const loop = async (method: string, path: string, body?: unknown) => {
      while (!stop) await ask(method, path, body)
    }
    const loops = [
      loop('POST', '/work-queue/jobs', { count: 5 }),
      loop('POST', '/work-queue/jobs', { count: 1 }),
      loop('POST', '/pubsub/publish', { message: 'crash', routingKey: 'fault.crash' }),
      loop('GET', '/work-queue/stats'),
    ]
    try {
      await waitFor(() => answers.length >= 20, 'requests to flow before the crash')
      await stopBroker(broker, { mode: 'kill' })
      await waitFor(async () => (await call(demos.url, 'GET', '/health')).body.broker === 'down', '/health to say the broker is down')
      const seen = answers.length
      await waitFor(() => answers.length >= seen + 20, 'requests after the crash')
    }
    finally {
      stop = true
      await Promise.all(loops)
    }
    const failures = answers.filter(a => a.status >= 500 && (a.status !== 503 || a.retryAfter !== '2'))
    expect(failures).toEqual([])
    expect(answers.some(a => a.status === 503)).toBe(true)
    await startBroker(broker)
    await waitFor(async () => (await call(demos.url, 'GET', '/health')).body.broker === 'up', 'the demo server to reconnect', 30_000)
  })
})
