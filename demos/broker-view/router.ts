import type { Channel, ChannelModel } from 'amqplib'
import type { DemoContext } from '../platform/context.ts'
import { Router } from 'express'
import { EXCHANGES } from '../pubsub/publisher.ts'
import { pubsubSubscribers } from '../pubsub/subscriber.ts'
import type { Topology } from '../../wire/broker-view.ts'

interface MgmtQueue { name: string, durable: boolean, exclusive: boolean, auto_delete: boolean, messages_ready?: number, messages_unacknowledged?: number, consumers?: number }
interface MgmtBinding { source: string, destination: string, destination_type: string, routing_key: string }

/** Basic auth for the management API: the AMQP URL's user (default guest:guest). */
function authOf(amqpUrl: string): string {
  let user = 'guest'
  let pass = 'guest'
  try {
    const u = new URL(amqpUrl)
    if (u.username) {
      user = decodeURIComponent(u.username)
      pass = decodeURIComponent(u.password)
    }
  }
  catch {}
  return `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`
}

/**
 * A channel for counting queues, within the broker's deadline: a frozen broker gets the request a
 * 503, not a hang; a connection that drops meanwhile (amqplib's "Channel ended") is a 503 as well.
 */
async function openChannel(ctx: DemoContext, model: ChannelModel): Promise<Channel> {
  const ch = await ctx.broker.within(model.createChannel(), 'opening a channel', c => void c.close().catch(() => {}))
    .catch((err: unknown) => {
      throw ctx.broker.unavailable(err, 'RabbitMQ could not open a channel')
    })
  return ch.on('error', () => {})
}

/** The demo's part of the broker, drawn live: exchanges -> bindings -> queues -> consumers. */
export function brokerViewRouter(ctx: DemoContext): Router {
  const router = Router()
  // #region topology
  /** GET /broker/topology — exchanges, bindings, queues with ready/unacked/consumer counts. */
  router.get('/topology', async (_req, res) => {
    const model = ctx.broker.require()
    // One deadline for the whole answer, the management API's second included: a frozen broker
    // costs this request at most the broker's 5 s, as it does every other route (not 1 s + 5 s).
    const view = await ctx.broker.within(topologyOf(ctx, model), 'reading the topology')
    res.set('Cache-Control', 'no-store').json(view)
  })
  // #endregion topology
  return router
}

/** GET `path` of the management API (within 1 s), as the AMQP URL's user. */
async function management<T>(ctx: DemoContext, path: string): Promise<T> {
  const res = await fetch(`${ctx.config.managementUrl.replace(/\/+$/, '')}/api${path}`, {
    headers: { Authorization: authOf(ctx.config.amqpUrl) },
    signal: AbortSignal.timeout(1000),
  })
  if (!res.ok)
    throw new Error(`management API answered ${res.status}`)
  return res.json() as Promise<T>
}

/** The exchanges the demos declare. */
const OURS = new Set<string>(Object.values(EXCHANGES))

/** The topology as the management API and passive declares on `model` tell it, each call within its own deadline. */
async function topologyOf(ctx: DemoContext, model: ChannelModel): Promise<Topology> {
  const subscribers = pubsubSubscribers(ctx) // pub/sub's, read only: this view lists their queues
  const JOBS_QUEUE = ctx.config.workQueue
  const view: Topology = {
    source: 'amqp',
    managementUrl: ctx.config.managementUrl,
    exchanges: [...Object.entries(EXCHANGES).map(([type, name]) => ({ name: name as string, type })), { name: '(default)', type: 'direct' }],
    bindings: [],
    queues: [],
  }
  let names = [JOBS_QUEUE, ...[...subscribers].map(s => s.queue).filter((q): q is string => !!q)]
  const fromMgmt = new Map<string, MgmtQueue>()
  try { // The management API knows every binding and the unacked counts (sampled every few seconds).
    const [bindings, queues] = await Promise.all([
      management<MgmtBinding[]>(ctx, '/bindings/%2F'),
      management<MgmtQueue[]>(ctx, '/queues/%2F?columns=name,durable,exclusive,auto_delete,messages_ready,messages_unacknowledged,consumers'),
    ])
    view.source = 'management'
    view.bindings = bindings.filter(b => OURS.has(b.source) && b.destination_type === 'queue')
      .map(b => ({ exchange: b.source, queue: b.destination, key: b.routing_key }))
    names = [...new Set([JOBS_QUEUE, ...view.bindings.map(b => b.queue)])]
    for (const q of queues) fromMgmt.set(q.name, q)
  }
  catch { // No management plugin: bindings we made ourselves, counts from AMQP only.
    for (const s of subscribers) {
      if (s.queue)
        view.bindings.push({ exchange: EXCHANGES[s.type], queue: s.queue, key: s.bindingKey })
    }
  }
  view.bindings.push({ exchange: '(default)', queue: JOBS_QUEUE, key: JOBS_QUEUE })
  // Ready and consumer counts straight from the broker, now (a passive queue.declare).
  const open = () => openChannel(ctx, model)
  let ch = await open()
  for (const name of names) {
    const m = fromMgmt.get(name)
    let live: { messageCount: number, consumerCount: number } | undefined
    try {
      live = await ctx.broker.within(ch.checkQueue(name), 'counting a queue')
    }
    catch { // gone, or exclusive to another connection: the failed check closed the channel
      ch = await open()
    }
    if (!live && !m)
      continue
    view.queues.push({
      name,
      durable: m?.durable ?? name === JOBS_QUEUE,
      exclusive: m?.exclusive ?? name !== JOBS_QUEUE,
      autoDelete: m?.auto_delete ?? name !== JOBS_QUEUE,
      ready: live?.messageCount ?? m?.messages_ready ?? 0,
      unacked: m?.messages_unacknowledged ?? null,
      consumers: live?.consumerCount ?? m?.consumers ?? 0,
    })
  }
  void ch.close().catch(() => {})
  return view
}
