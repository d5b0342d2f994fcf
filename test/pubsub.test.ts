import { describe, expect, it } from 'vitest'
import { waitFor } from './support/demo-server.ts'
import { call, openSse, publish, queueExists, startConnectedDemoServer, useConnectedDemoServer, waitUntilUnrouted } from './support/mq.ts'
import { trackDemoTimers } from './support/timers.ts'

const amqpUrl = () => process.env.AMQP_URL!

describe('publish/subscribe through RabbitMQ', () => {
  // A subscriber's queue outlives its client by 0.3 s here (30 s by default), so the cleanup
  // checks below see it go without waiting.
  const demos = useConnectedDemoServer({ pubsubResumeMs: 300 })

  it('reports the broker as up on /health', async () => {
    expect((await call(demos.url, 'GET', '/health')).body.broker).toBe('up')
  })

  it('delivers a message published over HTTP to an SSE subscriber, with its hop times', async () => {
    const sub = await openSse(`${demos.url}/pubsub/subscribe`)
    expect(sub.status).toBe(200)
    const subscribed = await sub.waitForEvent('subscribed')
    expect(subscribed.data.queue).toMatch(/^amq\.gen-/)
    const res = await publish(demos.url, { message: 'hello, broker', routingKey: 'greeting' })
    expect(res.status).toBe(202)
    expect(res.body).toMatchObject({ status: 'confirmed', routed: true })
    const [msg] = await sub.waitForMessages(1)
    expect(msg).toMatchObject({ message: 'hello, broker', routingKey: 'greeting', redelivered: false })
    expect(msg.consumedAt).toBeGreaterThanOrEqual(msg.publishedAt)
    expect(msg.sentAt).toBeGreaterThanOrEqual(msg.consumedAt)
    await sub.close()
  })

  it('fans out: three subscribers each receive all 50 messages, in publish order', async () => {
    const subs = await Promise.all([1, 2, 3].map(() => openSse(`${demos.url}/pubsub/subscribe?exchange=fanout`)))
    const queues = await Promise.all(subs.map(async s => (await s.waitForEvent('subscribed')).data.queue))
    expect(new Set(queues).size).toBe(3) // each its own queue
    const sent = Array.from({ length: 50 }, (_, i) => `fanout ${i}`)
    for (const message of sent)
      expect((await publish(demos.url, { exchange: 'fanout', message })).status).toBe(202)
    for (const s of subs)
      expect((await s.waitForMessages(50)).map(m => m.message)).toEqual(sent)
    await Promise.all(subs.map(s => s.close()))
  })

  it('routes a topic exchange by key: video.* gets video.uploaded, not audio.uploaded or video.hd.uploaded', async () => {
    const video = await openSse(`${demos.url}/pubsub/subscribe?bindingKey=${encodeURIComponent('video.*')}`)
    const uploads = await openSse(`${demos.url}/pubsub/subscribe?bindingKey=${encodeURIComponent('#.uploaded')}`)
    await Promise.all([video.waitForEvent('subscribed'), uploads.waitForEvent('subscribed')])
    for (const routingKey of ['video.uploaded', 'audio.uploaded', 'video.hd.uploaded', 'video.deleted'])
      expect((await publish(demos.url, { message: routingKey, routingKey })).status).toBe(202)
    await uploads.waitForMessages(3)
    await video.waitForMessages(2)
    await new Promise(r => setTimeout(r, 100)) // nothing else arrives late
    expect(video.messages().map(m => m.routingKey)).toEqual(['video.uploaded', 'video.deleted'])
    expect(uploads.messages().map(m => m.routingKey)).toEqual(['video.uploaded', 'audio.uploaded', 'video.hd.uploaded'])
    await Promise.all([video.close(), uploads.close()])
  })

  it('says when nobody was subscribed to a key (the broker returned the message)', async () => {
    // The direct exchange: no test binds this key there (a topic '#' queue parked by another test would match).
    const res = await publish(demos.url, { exchange: 'direct', message: 'into the void', routingKey: 'nobody.listens.here' })
    expect(res.status).toBe(202)
    expect(res.body.routed).toBe(false)
  })

  it('rejects bad input with a JSON error: unknown exchange type, invalid keys, empty or oversized message', async () => {
    const bad = [
      [{ message: 'x', exchange: 'headers' }, 400, /unknown exchange type/],
      [{ message: 'x', routingKey: 'video..uploaded' }, 400, /invalid routing key/],
      [{ message: 'x', routingKey: 'video.*' }, 400, /wildcards belong in binding keys/],
      [{ message: '' }, 400, /non-empty/],
      [{ message: 42 }, 400, /non-empty string/],
      [{ message: 'x'.repeat(5000) }, 413, /limit is 4096/],
      [{ message: 'x'.repeat(20_000) }, 413, /too large/],
    ] as const
    for (const [body, status, error] of bad) {
      const res = await publish(demos.url, body)
      expect(res.status, JSON.stringify(body).slice(0, 60)).toBe(status)
      expect(res.body.error).toMatch(error)
    }
    for (const query of ['bindingKey=video..x', 'exchange=nope', 'exchange=direct&bindingKey=video.*']) {
      const res = await call(demos.url, 'GET', `/pubsub/subscribe?${query}`)
      expect(res.status, query).toBe(400)
      expect(res.body.error).toBeTruthy()
    }
  })

  it('refuses subscribers past the limit with a 429 before declaring anything, and takes one again when a subscriber leaves', async () => {
    const small = await startConnectedDemoServer({ pubsubMaxSubscribers: 2 })
    try {
      const subs = await Promise.all([1, 2].map(() => openSse(`${small.url}/pubsub/subscribe?bindingKey=cap.%23`)))
      await Promise.all(subs.map(s => s.waitForEvent('subscribed')))
      const refused = await call(small.url, 'GET', '/pubsub/subscribe?bindingKey=cap.%23')
      expect(refused.status).toBe(429)
      expect(refused.body.error).toMatch(/too many subscribers \(limit 2\)/)
      expect((await call(small.url, 'GET', '/pubsub/subscribers')).body).toHaveLength(2)
      await subs[0]!.close()
      await waitFor(async () => (await call(small.url, 'GET', '/pubsub/subscribers')).body.length === 1, 'the slot to be freed')
      const again = await openSse(`${small.url}/pubsub/subscribe?bindingKey=cap.%23`)
      await again.waitForEvent('subscribed')
      await Promise.all([subs[1]!.close(), again.close()])
    }
    finally {
      await small.close()
    }
  })

  it('leaves no queue, consumer, listener, timer or held response behind when subscribers disconnect', async () => {
    const timers = trackDemoTimers('pubsub/') // the streams' heartbeats
    const before = {
      timers: timers.count(),
      up: demos.ctx.broker.listenerCount('up'),
      down: demos.ctx.broker.listenerCount('down'),
      open: demos.ctx.lifecycle.openCount,
    }
    // The direct exchange, on a key no other test binds: a topic '#' queue parked by another test would route anything.
    const subs = await Promise.all([1, 2, 3, 4].map(() => openSse(`${demos.url}/pubsub/subscribe?exchange=direct&bindingKey=cleanup.${process.pid}`)))
    const queues = await Promise.all(subs.map(async s => (await s.waitForEvent('subscribed')).data.queue as string))
    for (const q of queues)
      expect(await queueExists(amqpUrl(), q)).toBe(true)
    expect(demos.ctx.lifecycle.openCount).toBe(before.open + 4)
    // One broker listener re-attaches every subscriber: none is added per subscriber.
    expect(demos.ctx.broker.listenerCount('up')).toBe(before.up)
    expect(demos.ctx.broker.listenerCount('down')).toBe(before.down)
    expect((await call(demos.url, 'GET', '/pubsub/subscribers')).body).toHaveLength(4)

    await Promise.all(subs.map(s => s.close()))
    await waitFor(() => demos.ctx.lifecycle.openCount === before.open, 'held responses released')
    // The broker deletes each queue once unused for the grace period (x-expires): unroutable once all are gone.
    await waitUntilUnrouted(demos.url, 'direct', `cleanup.${process.pid}`)
    for (const q of queues)
      expect(await queueExists(amqpUrl(), q), q).toBe(false)
    expect((await call(demos.url, 'GET', '/pubsub/subscribers')).body).toEqual([])
    expect(demos.ctx.broker.listenerCount('up')).toBe(before.up)
    expect(demos.ctx.broker.listenerCount('down')).toBe(before.down)
    await waitFor(() => timers.count() === before.timers, 'the streams\' heartbeat timers to be released')
    timers.stop()
  }, 60_000) // above the sum of its waits, so a slow step fails with its own name

  it('leaves nothing behind when a client gives up while its queue is still being declared', async () => {
    const up = demos.ctx.broker.listenerCount('up')
    await Promise.all(Array.from({ length: 10 }, async (_, i) => {
      const ac = new AbortController()
      const pending = fetch(`${demos.url}/pubsub/subscribe?exchange=direct&bindingKey=impatient.${process.pid}`, { signal: ac.signal }).catch(() => null)
      setTimeout(() => ac.abort(), i) // 0-9 ms: before, during and after the queue declaration
      const res = await pending
      await res?.body?.cancel().catch(() => {})
    }))
    await waitFor(async () => (await call(demos.url, 'GET', '/pubsub/subscribers')).body.length === 0, 'no subscriber left')
    await waitFor(() => demos.ctx.lifecycle.openCount === 0, 'no held response left')
    expect(demos.ctx.broker.listenerCount('up')).toBe(up)
    await waitUntilUnrouted(demos.url, 'direct', `impatient.${process.pid}`)
  }, 60_000)
})

describe('a subscriber that comes back (Last-Event-ID)', () => {
  it('within the grace period, on its old queue, it gets exactly what was published while it was away', async () => {
    const server = await startConnectedDemoServer()
    try {
      const url = `${server.url}/pubsub/subscribe?bindingKey=resume.%23`
      const first = await openSse(url)
      const { queue } = (await first.waitForEvent('subscribed')).data
      expect((await publish(server.url, { message: 'one', routingKey: 'resume.a' })).status).toBe(202)
      const [one] = await first.waitForMessages(1)
      // Every message frame's id names the publisher's message id and the subscriber's queue.
      const lastId = first.events.find(e => e.event === 'message')!.id!
      expect(lastId).toBe(`${one.id}@${queue}`)
      await first.close()
      await waitFor(async () => (await call(server.url, 'GET', '/pubsub/subscribers')).body.length === 0, 'the subscriber to leave')
      // Nobody listens, yet the queue is still bound: the broker keeps these for the subscriber.
      for (const message of ['two', 'three'])
        expect((await publish(server.url, { message, routingKey: 'resume.b' })).body.routed).toBe(true)
      const back = await openSse(url, { 'Last-Event-ID': lastId })
      expect((await back.waitForEvent('subscribed')).data).toMatchObject({ queue, resumed: true })
      expect((await back.waitForMessages(2)).map(m => m.message)).toEqual(['two', 'three'])
      await back.close()
    }
    finally {
      await server.close()
    }
  })

  it('after the grace period, or with another binding key, it starts afresh on a new queue', async () => {
    const server = await startConnectedDemoServer({ pubsubResumeMs: 300 })
    try {
      const first = await openSse(`${server.url}/pubsub/subscribe?bindingKey=late.%23`)
      const { queue } = (await first.waitForEvent('subscribed')).data
      await publish(server.url, { message: 'one', routingKey: 'late.a' })
      await first.waitForMessages(1)
      const lastId = first.events.find(e => e.event === 'message')!.id!
      await first.close()
      const other = await openSse(`${server.url}/pubsub/subscribe?bindingKey=other.%23`, { 'Last-Event-ID': lastId })
      expect((await other.waitForEvent('subscribed')).data.queue).not.toBe(queue)
      await other.close()
      // (Watched with publishes: a passive declare would renew the queue's lease.)
      await waitUntilUnrouted(server.url, 'topic', 'late.x')
      const late = await openSse(`${server.url}/pubsub/subscribe?bindingKey=late.%23`, { 'Last-Event-ID': lastId })
      const again = (await late.waitForEvent('subscribed')).data
      expect(again.queue).not.toBe(queue)
      expect(again.resumed).toBeUndefined()
      await late.close()
    }
    finally {
      await server.close()
    }
  }, 60_000)
})

describe('the broker view', () => {
  const demos = useConnectedDemoServer()

  it('draws exchanges, bindings and live queue counts taken from the broker', async () => {
    const sub = await openSse(`${demos.url}/pubsub/subscribe?bindingKey=${encodeURIComponent('view.*')}`)
    const { queue } = (await sub.waitForEvent('subscribed')).data
    const topo = (await call(demos.url, 'GET', '/broker/topology')).body
    expect(topo.source).toBe(process.env.AMQP_MANAGEMENT_URL ? 'management' : 'amqp')
    expect(topo.exchanges.map((e: any) => e.name)).toEqual(expect.arrayContaining(['wire.fanout', 'wire.direct', 'wire.topic']))
    expect(topo.bindings).toContainEqual({ exchange: 'wire.topic', queue, key: 'view.*' })
    expect(topo.queues).toContainEqual(expect.objectContaining({ name: queue, exclusive: true, consumers: 1, ready: 0 }))
    expect(topo.queues).toContainEqual(expect.objectContaining({ name: 'wire.jobs', durable: true }))
    await sub.close()
  })

  it('falls back to what AMQP can tell when the management API is not there', async () => {
    const offline = await startConnectedDemoServer({ managementUrl: 'http://127.0.0.1:1' })
    const sub = await openSse(`${offline.url}/pubsub/subscribe?exchange=fanout`)
    const { queue } = (await sub.waitForEvent('subscribed')).data
    const topo = (await call(offline.url, 'GET', '/broker/topology')).body
    expect(topo.source).toBe('amqp')
    expect(topo.bindings).toContainEqual({ exchange: 'wire.fanout', queue, key: '#' })
    expect(topo.queues).toContainEqual(expect.objectContaining({ name: queue, consumers: 1, unacked: null }))
    await sub.close()
    await offline.close()
  })
})
