import { describe, expect, it } from 'vitest'
import { waitFor } from './support/demo-server.ts'
import { call, openSse, publish, queueExists, startConnectedDemoServer, useConnectedDemoServer } from './support/mq.ts'
import { trackDemoTimers } from './support/timers.ts'

const amqpUrl = () => process.env.AMQP_URL!

describe('publish/subscribe through RabbitMQ', () => {
  const demos = useConnectedDemoServer()

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
    const res = await publish(demos.url, { message: 'into the void', routingKey: 'nobody.listens.here' })
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
    const subs = await Promise.all([1, 2, 3, 4].map(() => openSse(`${demos.url}/pubsub/subscribe?bindingKey=cleanup.%23`)))
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
    for (const q of queues)
      await waitFor(async () => !(await queueExists(amqpUrl(), q)), `queue ${q} deleted`)
    expect((await call(demos.url, 'GET', '/pubsub/subscribers')).body).toEqual([])
    expect(demos.ctx.broker.listenerCount('up')).toBe(before.up)
    expect(demos.ctx.broker.listenerCount('down')).toBe(before.down)
    await waitFor(() => timers.count() === before.timers, 'the streams\' heartbeat timers to be released')
    timers.stop()
    // and the broker is not still pushing to a consumer nobody reads: a publish is unroutable
    expect((await publish(demos.url, { message: 'anyone?', routingKey: 'cleanup.x' })).body.routed).toBe(false)
  })

  it('leaves nothing behind when a client gives up while its queue is still being declared', async () => {
    const up = demos.ctx.broker.listenerCount('up')
    await Promise.all(Array.from({ length: 10 }, async (_, i) => {
      const ac = new AbortController()
      const pending = fetch(`${demos.url}/pubsub/subscribe?bindingKey=impatient.%23`, { signal: ac.signal }).catch(() => null)
      setTimeout(() => ac.abort(), i) // 0-9 ms: before, during and after the queue declaration
      const res = await pending
      await res?.body?.cancel().catch(() => {})
    }))
    await waitFor(async () => (await call(demos.url, 'GET', '/pubsub/subscribers')).body.length === 0, 'no subscriber left')
    await waitFor(() => demos.ctx.lifecycle.openCount === 0, 'no held response left')
    expect(demos.ctx.broker.listenerCount('up')).toBe(up)
    await waitFor(async () => !(await publish(demos.url, { message: 'anyone?', routingKey: 'impatient.x' })).body.routed, 'no queue bound for impatient.#')
  })
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
