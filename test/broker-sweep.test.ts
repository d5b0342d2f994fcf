import type { RunningDemoServer } from './support/demo-server.ts'
import { connect } from 'amqplib'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { freezeBroker, rabbitmqctl, startBroker, stopBroker } from '../tools/broker.ts'
import { audienceHub } from '../demos/audience/state.ts'
import { startDemoServer, waitFor } from './support/demo-server.ts'
import { call, deleteQueue, openSse, waitForBrokerUp } from './support/mq.ts'

// The fault sweep (issue 22): every broker route against every way RabbitMQ refuses or stalls.
// It prints the table (status, seconds to answer) and asserts what the README promises: a 5xx is
// only ever a 503 with Retry-After, every answer comes within the 5 s operation deadline (plus
// slack for a loaded machine: the bound is the deadline, not a speed check), nothing crashes.
const broker = inject('broker')
const WORK_QUEUE = 'wire.jobs.test-sweep'
/** README: "costs a request at most 5 s: every broker operation has that deadline". */
const DEADLINE_MS = 5000
/** Timers and the event loop of a busy 2-core machine (load 6) run late; never a speed check. */
const SLACK_MS = 3000

interface Answer { route: string, status: number, ms: number, retryAfter: string | null, error?: string }
interface Fault {
  name: string
  /** Breaks the broker; the routes run right after. Resolves with a new victim for the kill route, if it made one. */
  inject: (victim: number) => Promise<number | void>
  /** Repairs it; the sweep then waits for `/health` to say up. */
  undo: () => Promise<void>
}

describe('fault sweep: every broker route x every way RabbitMQ refuses or stalls', () => {
  let demos: RunningDemoServer
  const table = new Map<string, Map<string, string>>()
  const health = new Map<string, string>()
  const all: Array<Answer & { fault: string }> = []

  beforeAll(async () => {
    demos = await startDemoServer({ workQueue: WORK_QUEUE, audience: true, audienceHost: '127.0.0.1', audiencePort: 0 })
    await waitForBrokerUp(demos)
    await waitFor(() => audienceHub(demos.ctx)!.viaBroker, 'the room\'s queue bound on the broker')
  })
  afterAll(async () => {
    await demos?.close()
    if (broker.kind !== 'env')
      await startBroker(broker).catch(() => {})
    await deleteQueue(process.env.AMQP_URL!, WORK_QUEUE)
  })

  /** Every broker route at once, each timed. A worker exists first, for the kill route. */
  async function sweep(fault: string, victim: number): Promise<Answer[]> {
    const json = { 'Content-Type': 'application/json' }
    const ask = async (route: string, method: string, path: string, body?: unknown): Promise<Answer> => {
      const t0 = performance.now()
      const ac = new AbortController()
      // A route that never answers is recorded (status 0), not left to hang the sweep.
      const hung = setTimeout(() => ac.abort(), 30_000)
      const res = await fetch(`${demos.url}${path}`, { method, headers: body === undefined ? {} : json, body: body === undefined ? undefined : JSON.stringify(body), signal: ac.signal })
        .catch(() => null)
      clearTimeout(hung)
      const ms = performance.now() - t0
      if (!res)
        return { route, status: 0, ms, retryAfter: null, error: 'no answer within 30 s' }
      // An event stream that opened is closed at once: its status is the answer.
      const text = res.headers.get('content-type')?.startsWith('text/event-stream') ? (ac.abort(), '') : await res.text()
      let error: string | undefined
      try {
        error = (JSON.parse(text) as { error?: string }).error
      }
      catch {}
      return { route, status: res.status, ms, retryAfter: res.headers.get('retry-after'), error }
    }
    const answers = await Promise.all([
      ask('POST /pubsub/publish (topic)', 'POST', '/pubsub/publish', { message: fault, routingKey: 'sweep.x' }),
      ask('POST /pubsub/publish (fanout)', 'POST', '/pubsub/publish', { message: fault, exchange: 'fanout' }),
      ask('GET /pubsub/subscribe (topic)', 'GET', '/pubsub/subscribe?bindingKey=sweep.%23'),
      ask('GET /pubsub/subscribe (fanout)', 'GET', '/pubsub/subscribe?exchange=fanout'),
      ask('POST /work-queue/jobs', 'POST', '/work-queue/jobs', { count: 1 }),
      ask('POST /work-queue/workers', 'POST', '/work-queue/workers', { delayMs: 10 }),
      ask('POST /work-queue/workers/:id/kill', 'POST', `/work-queue/workers/${victim}/kill`),
      ask('GET /work-queue/stats', 'GET', '/work-queue/stats'),
      ask('GET /broker/topology', 'GET', '/broker/topology'),
      ask('POST /audience/push (rabbitmq)', 'POST', '/audience/push', { text: fault, via: 'rabbitmq' }),
    ])
    const h = (await call(demos.url, 'GET', '/health')).body
    health.set(fault, h.brokerReason ? `${h.broker} (${h.brokerReason})` : h.broker)
    for (const a of answers) {
      const row = table.get(a.route) ?? new Map<string, string>()
      row.set(fault, `${a.status} ${(a.ms / 1000).toFixed(1)} s`)
      table.set(a.route, row)
      all.push({ ...a, fault })
    }
    return answers
  }

  /** Back to a clean start: broker up, no workers but one idle victim, no waiting jobs. */
  async function prepare(): Promise<number> {
    await waitFor(async () => (await call(demos.url, 'GET', '/health')).body.broker === 'up', 'the demo server to be connected', 60_000)
    for (const w of (await call(demos.url, 'GET', '/work-queue/workers')).body)
      await call(demos.url, 'POST', `/work-queue/workers/${w.id}/kill`)
    await call(demos.url, 'DELETE', '/work-queue/jobs')
    const victim = await call(demos.url, 'POST', '/work-queue/workers', { delayMs: 10 })
    expect(victim.status).toBe(201)
    return victim.body.id
  }

  const exchangeAs = async (type: string) => {
    const conn = await connect(process.env.AMQP_URL!)
    conn.on('error', () => {})
    const ch = await conn.createChannel()
    await ch.deleteExchange('wire.topic')
    await ch.assertExchange('wire.topic', type, { durable: true })
    await conn.close()
  }
  let savedTimeout = ''
  let slowEvents: Awaited<ReturnType<typeof openSse>> | undefined

  const faults: Fault[] = [
    { name: 'up (baseline)', inject: async () => {}, undo: async () => {} },
    {
      name: 'stopped',
      inject: async () => {
        await stopBroker(broker)
        await waitFor(async () => (await call(demos.url, 'GET', '/health')).body.broker === 'down', '/health down')
      },
      undo: () => startBroker(broker),
    },
    {
      name: 'killed',
      inject: () => stopBroker(broker, { mode: 'kill' }), // the routes race the demo server noticing
      undo: () => startBroker(broker),
    },
    { name: 'frozen', inject: () => freezeBroker(broker, 'freeze'), undo: () => freezeBroker(broker, 'thaw') },
    {
      name: 'blocked',
      inject: async () => {
        await rabbitmqctl(broker, ['set_vm_memory_high_watermark', '0.0001'])
      },
      undo: async () => {
        await rabbitmqctl(broker, ['set_vm_memory_high_watermark', '0.4'])
      },
    },
    {
      name: 'channel error',
      inject: async () => { // wire.topic re-declared as fanout, then every connection dropped
        await exchangeAs('fanout')
        await rabbitmqctl(broker, ['close_all_connections', 'test: fault sweep'])
        await waitFor(async () => (await call(demos.url, 'GET', '/health')).body.broker === 'up' && audienceHub(demos.ctx)!.viaBroker, 'the demo server to reconnect', 30_000)
      },
      undo: () => exchangeAs('topic'),
    },
    {
      name: 'consumer timeout',
      inject: async (victim) => { // a worker holds a job past consumer_timeout (5 s, checked every 1 s)
        savedTimeout = /\{ok,(\d+)\}/.exec(await rabbitmqctl(broker, ['eval', 'application:get_env(rabbit, consumer_timeout).']))?.[1] ?? '1800000'
        await rabbitmqctl(broker, ['eval', 'application:set_env(rabbit, consumer_timeout, 5000), application:set_env(rabbit, channel_tick_interval, 1000).'])
        // Channels read the timeout when they open: the victim's is older, so a new one is made.
        await call(demos.url, 'POST', `/work-queue/workers/${victim}/kill`)
        slowEvents = await openSse(`${demos.url}/work-queue/events`)
        const slow = (await call(demos.url, 'POST', '/work-queue/workers', { delayMs: 60_000 })).body
        await call(demos.url, 'POST', '/work-queue/jobs', { count: 1 })
        await waitFor(() => slowEvents!.events.find(e => e.event === 'delivered' && e.data.worker === slow.id), 'the slow worker to take the job')
        const fresh = (await call(demos.url, 'POST', '/work-queue/workers', { delayMs: 10 })).body
        await waitFor(() => slowEvents!.events.find(e => e.event === 'channel-closed'), 'a channel closed by the consumer timeout', 45_000)
        return fresh.id as number
      },
      undo: async () => {
        await slowEvents?.close()
        await rabbitmqctl(broker, ['eval', `application:set_env(rabbit, consumer_timeout, ${savedTimeout}), application:set_env(rabbit, channel_tick_interval, 60000).`])
      },
    },
    {
      name: 'queue deleted',
      inject: async () => {
        await deleteQueue(process.env.AMQP_URL!, WORK_QUEUE) // as if from the management UI
        await waitFor(async () => (await call(demos.url, 'GET', '/work-queue/workers')).body.length === 0, 'the workers to be cancelled')
      },
      undo: async () => {},
    },
  ]

  it('answers every route with a success, a 4xx or a 503 with Retry-After, within the deadline, and recovers from each fault', async () => {
    for (const fault of faults) {
      const t0 = performance.now()
      const victim = await prepare()
      // The 'queue deleted' fault cancels every worker: the kill route then meets an unknown id (404).
      const fresh = await fault.inject(victim)
      try {
        await sweep(fault.name, fresh ?? victim)
      }
      finally {
        await fault.undo()
      }
      console.info(`[sweep] ${fault.name}: ${((performance.now() - t0) / 1000).toFixed(1)} s`)
    }
    await prepare() // and it came back from the last one

    const faultNames = faults.map(f => f.name)
    const lines = [
      `| route | ${faultNames.join(' | ')} |`,
      `|---|${faultNames.map(() => '---').join('|')}|`,
      ...[...table].map(([route, row]) => `| ${route} | ${faultNames.map(f => row.get(f) ?? '').join(' | ')} |`),
      `| GET /health says | ${faultNames.map(f => health.get(f) ?? '').join(' | ')} |`,
    ]
    console.info(`[sweep] status and time to answer per route and fault:\n${lines.join('\n')}`)
    const notes = all.filter(a => a.status >= 400).map(a => `${a.fault} / ${a.route}: ${a.status} ${a.error ?? ''}`)
    console.info(`[sweep] refusals as worded:\n${notes.join('\n')}`)

    for (const a of all) {
      const where = `${a.fault} / ${a.route}: ${a.status} ${a.error ?? ''}`
      expect(a.status, where).not.toBe(0)
      if (a.status >= 500) {
        expect(a.status, where).toBe(503)
        expect(a.retryAfter, where).toBe('2')
      }
      expect(a.ms, where).toBeLessThan(DEADLINE_MS + SLACK_MS)
    }
    // With the broker up and nothing broken, everything succeeds.
    expect(all.filter(a => a.fault === 'up (baseline)' && a.status >= 300)).toEqual([])
  }, 240_000)
})
