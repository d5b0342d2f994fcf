import type { ChannelModel } from 'amqplib'
import { once } from 'node:events'
import { connect } from 'amqplib'
import { afterEach, describe, expect, inject, it } from 'vitest'
import { startBroker, stopBroker } from '../tools/broker.ts'

// Proves the broker from test/global-setup.ts is a real one: AMQP round trip, management API,
// and (when the suite owns it) that stopBroker/startBroker really take it down and bring it back.
const broker = inject('broker')
const open: ChannelModel[] = []

async function connectTo(url: string): Promise<ChannelModel> {
  const conn = await connect(url)
  // A broker-initiated close (e.g. the fault test) is also emitted as 'error'; unhandled it would crash the worker.
  conn.on('error', () => {})
  open.push(conn)
  return conn
}

afterEach(async () => {
  await Promise.allSettled(open.splice(0).map(conn => conn.close()))
})

describe(`broker (${broker.kind})`, () => {
  it('round-trips a confirmed message', async () => {
    const conn = await connectTo(broker.amqpUrl)
    const ch = await conn.createConfirmChannel()
    const { queue } = await ch.assertQueue('', { exclusive: true })
    const received = new Promise<string>((resolve) => {
      void ch.consume(queue, (msg) => {
        if (msg) {
          ch.ack(msg)
          resolve(msg.content.toString())
        }
      })
    })
    ch.sendToQueue(queue, Buffer.from('hello, wire'))
    await ch.waitForConfirms()
    expect(await received).toBe('hello, wire')
  })

  it.skipIf(broker.kind === 'env' || !broker.managementUrl)('serves the management HTTP API', async () => {
    const res = await fetch(`${broker.managementUrl}/api/overview`, {
      headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` },
    })
    expect(res.status).toBe(200)
    expect(await res.json()).toHaveProperty('rabbitmq_version')
  })

  it.skipIf(broker.kind === 'env')('goes down on stopBroker and comes back with its data on startBroker', async () => {
    const queue = `wp-broker-test-${process.pid}-${Date.now()}`
    const conn = await connectTo(broker.amqpUrl)
    const ch = await conn.createConfirmChannel()
    await ch.assertQueue(queue, { durable: true })
    ch.sendToQueue(queue, Buffer.from('survives'), { persistent: true })
    await ch.waitForConfirms()
    const dropped = once(conn, 'close')

    let t = Date.now()
    await stopBroker(broker)
    const stopMs = Date.now() - t
    await dropped
    await expect(connect(broker.amqpUrl, { timeout: 2000 })).rejects.toThrow()

    t = Date.now()
    await startBroker(broker)
    const startMs = Date.now() - t
    console.info(`[broker] stopBroker ${stopMs} ms, startBroker ${startMs} ms`)
    expect(stopMs + startMs).toBeLessThan(30_000)

    const ch2 = await (await connectTo(broker.amqpUrl)).createChannel()
    const msg = await ch2.get(queue, { noAck: true })
    expect(msg && msg.content.toString()).toBe('survives')
    await ch2.deleteQueue(queue)
  }, 90_000)
})
