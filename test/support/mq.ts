// Helpers for the RabbitMQ demo tests: a demo server on the test broker, a real SSE client
// over fetch, and the publish call.
import type { BrokerInfo } from '../../tools/broker.ts'
import type { RunningDemoServer } from './demo-server.ts'
import { connect } from 'amqplib'
import { startBroker } from '../../tools/broker.ts'
import { readEventStream } from '../../wire/sse.ts'
import { startDemoServer, useDemoServer, waitFor } from './demo-server.ts'

/** Waits until the demo server is connected to the broker (after a start, or a broker restart). */
export async function waitForBrokerUp(demos: RunningDemoServer): Promise<void> {
  await waitFor(() => demos.ctx.broker.state === 'up', 'the broker connection')
}

/** Starts the demo server on the test broker (`startDemoServer`) and waits until it is connected. */
export async function startConnectedDemoServer(overrides?: Parameters<typeof startDemoServer>[0]): Promise<RunningDemoServer> {
  const demos = await startDemoServer(overrides)
  await waitForBrokerUp(demos)
  return demos
}

/** For the enclosing `describe`: a demo server connected to the test broker (see `useDemoServer`). */
export function useConnectedDemoServer(overrides?: Parameters<typeof startDemoServer>[0]): RunningDemoServer {
  return useDemoServer(overrides, waitForBrokerUp)
}

export interface SseEvent { event: string, id?: string, data: any }

/** An open `GET /pubsub/subscribe` (or any event stream), parsed as it arrives. */
export interface SseClient {
  status: number
  events: SseEvent[]
  /** `data` of the `message` events so far. */
  messages: () => any[]
  /** Waits until `n` message events have arrived. */
  waitForMessages: (n: number, timeoutMs?: number) => Promise<any[]>
  waitForEvent: (name: string, timeoutMs?: number) => Promise<SseEvent>
  /** True once the server ended the stream. */
  ended: boolean
  close: () => Promise<void>
}

/** Opens an event stream (with `headers`, e.g. Last-Event-ID) and resolves once the response headers are in. */
export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  const ac = new AbortController()
  const res = await fetch(url, { signal: ac.signal, headers: { Accept: 'text/event-stream', ...headers } })
  const events: SseEvent[] = []
  let done: Promise<void> = Promise.resolve()
  const client: SseClient = {
    status: res.status,
    events,
    ended: false,
    messages: () => events.filter(e => e.event === 'message').map(e => e.data),
    waitForMessages: async (n, ms = 5000) => (await waitFor(() => client.messages().length >= n, `${n} messages on ${url}`, ms), client.messages()),
    waitForEvent: (name, ms = 5000) => waitFor(() => events.find(e => e.event === name), `event ${name} on ${url}`, ms),
    close: async () => {
      ac.abort()
      let timer: NodeJS.Timeout | undefined
      const stuck = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`closing ${url}: the reader did not end within 5 s of the abort`)), 5000)
      })
      await Promise.race([done.catch(() => {}), stuck]).finally(() => clearTimeout(timer))
    },
  }
  if (!res.ok || !res.body) {
    client.ended = true
    events.push({ event: 'error', data: await res.json().catch(() => null) })
    return client
  }
  done = (async () => {
    try {
      // Only frames that dispatch an event count (not retry:, heartbeats, or event: without data).
      await readEventStream(res.body!, (frame) => {
        if (frame.dispatch)
          events.push({ event: frame.type, ...(frame.id === undefined ? {} : { id: frame.id }), data: JSON.parse(frame.data) })
      })
    }
    finally {
      client.ended = true
    }
  })()
  done.catch(() => {})
  return client
}

/** POST /pubsub/publish; returns status and JSON body. */
export async function publish(base: string, body: unknown): Promise<{ status: number, body: any }> {
  return call(base, 'POST', '/pubsub/publish', body)
}

/** Longest a test waits for one JSON answer, ms: every route here answers within its 5 s broker deadline; past this a hung request fails by name instead of as a bare test timeout. */
const ANSWER_TIMEOUT_MS = 15_000

/** A JSON request against the demo server. */
export async function call(base: string, method: string, path: string, body?: unknown): Promise<{ status: number, body: any }> {
  try {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(ANSWER_TIMEOUT_MS),
    })
    const text = await res.text()
    return { status: res.status, body: text ? JSON.parse(text) : null }
  }
  catch (err) {
    if ((err as Error).name === 'TimeoutError')
      throw new Error(`${method} ${path}: no answer within ${ANSWER_TIMEOUT_MS} ms`)
    throw err
  }
}

/** Does the queue exist on the broker? Asked over AMQP (checkQueue; a 404 closes the channel). */
export async function queueExists(amqpUrl: string, queue: string): Promise<boolean> {
  const conn = await connect(amqpUrl)
  try {
    const ch = await conn.createChannel()
    ch.on('error', () => {})
    try {
      await ch.checkQueue(queue)
      await ch.close()
      return true
    }
    catch (err) {
      const code = (err as { code?: number }).code
      if (code === 404)
        return false
      if (code === 405) // RESOURCE_LOCKED: it exists, exclusive to another connection
        return true
      throw err
    }
  }
  finally {
    await conn.close()
  }
}

/**
 * Waits until a message published to `exchange` with `routingKey` is routed nowhere: the broker has
 * deleted every queue bound for it (x-expires). Watched with publishes, as a passive declare would
 * count as a use and renew the queue's lease. On timeout the error lists the exchange's bindings
 * with their queues, from the management API when the run has one (AMQP_MANAGEMENT_URL), so a
 * failure says which queue stayed and with what binding key.
 */
export async function waitUntilUnrouted(base: string, exchange: 'direct' | 'topic', routingKey: string, timeoutMs = 20_000): Promise<void> {
  try {
    await waitFor(async () => !(await publish(base, { exchange, message: 'anyone?', routingKey })).body.routed, `no queue bound for ${routingKey} on ${exchange}`, timeoutMs)
  }
  catch (err) {
    throw new Error(`${(err as Error).message}; still bound: ${await bindingsOf(`wire.${exchange}`)}`)
  }
}

/** The bindings of one exchange as `queue <- key` (consumers, messages), for an error message; what the management API says, or why it cannot. */
async function bindingsOf(exchange: string): Promise<string> {
  const base = process.env.AMQP_MANAGEMENT_URL
  if (!base)
    return '(no management API in this run)'
  const auth = { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` }
  try {
    const bindings = await (await fetch(`${base}/api/exchanges/%2F/${exchange}/bindings/source`, { headers: auth })).json() as Array<{ destination: string, routing_key: string }>
    const queues = await (await fetch(`${base}/api/queues/%2F?columns=name,consumers,messages,arguments`, { headers: auth })).json() as Array<{ name: string, consumers?: number, messages?: number, arguments?: object }>
    const byName = new Map(queues.map(q => [q.name, q]))
    return bindings.map((b) => {
      const q = byName.get(b.destination)
      return `${b.destination} <- ${b.routing_key} (${q ? `${q.consumers ?? '?'} consumers, ${q.messages ?? '?'} messages, ${JSON.stringify(q.arguments)}` : 'queue not listed'})`
    }).join('; ') || 'none'
  }
  catch (err) {
    return `(management API: ${(err as Error).message})`
  }
}

/** Deletes a (durable) queue a test created, so the broker is left as found. */
export async function deleteQueue(amqpUrl: string, queue: string): Promise<void> {
  const conn = await connect(amqpUrl)
  try {
    const ch = await conn.createChannel()
    await ch.deleteQueue(queue)
    await ch.close()
  }
  finally {
    await conn.close()
  }
}

/**
 * The end of a test file that faults the shared broker: its demo server closed, the broker
 * started again in case a test left it stopped (the next file must find it up; an external
 * `AMQP_URL` broker is never touched), and the file's own work queue deleted.
 */
export async function afterBrokerFaults(broker: BrokerInfo, demos: RunningDemoServer | undefined, workQueue: string): Promise<void> {
  await demos?.close()
  if (broker.kind !== 'env')
    await startBroker(broker).catch(() => {})
  await deleteQueue(process.env.AMQP_URL!, workQueue)
}
