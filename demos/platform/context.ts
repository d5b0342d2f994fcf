import type { Response } from 'express'
import type { DemoConfig } from './config.ts'
import type { Subscriber } from '../pubsub/subscriber.ts'
import { bridgeAudience } from '../audience/broker-bridge.ts'
import { AudienceHub } from '../audience/hub.ts'
import { BrokerConnection } from './broker.ts'
import { JobJournal } from '../jobs/journal.ts'
import { JobStore } from '../jobs/store.ts'
import { Lifecycle } from './lifecycle.ts'
import { WebSocketHub } from '../push/hub.ts'
import { WorkerPool } from '../work-queue/pool.ts'

/**
 * Everything one demo server owns, handed to every router: its configuration, the broker
 * connection, the lifecycle registry, and each demo's shared state. Nothing lives in module
 * scope, so two servers in one process (the tests) share nothing.
 */
export interface DemoContext {
  config: DemoConfig
  broker: BrokerConnection
  lifecycle: Lifecycle
  /** The jobs every HTTP pattern watches (request/response, polling, SSE). */
  jobs: JobStore
  /** Open event streams of every SSE route, for the `sseMaxClients` cap (demos/platform/sse-session.ts). */
  eventStreams: Set<Response>
  /** The WebSocket views of the push demo. */
  views: WebSocketHub
  /** Open pub/sub subscribers; the broker view lists their queues. */
  subscribers: Set<Subscriber>
  /** The work queue's workers and ledger. */
  workQueue: WorkerPool
  /** The room's phones (audience mode), or null when it is off. */
  audience: AudienceHub | null
}

/** Creates a demo server's state; `lifecycle.shutdown()` releases all of it (newest first). */
export function createDemoContext(config: DemoConfig): DemoContext {
  const lifecycle = new Lifecycle()
  const broker = new BrokerConnection(config.amqpUrl)
  lifecycle.onShutdown(() => broker.close()) // runs last: channels close before the connection
  const jobs = new JobStore({ maxJobs: config.jobsMax, ttlMs: config.jobsTtlMs }, new JobJournal(config.jobsDb))
  lifecycle.onShutdown(() => jobs.close())
  const views = new WebSocketHub()
  lifecycle.onShutdown(() => views.close())
  const subscribers = new Set<Subscriber>()
  lifecycle.onShutdown(async () => {
    await Promise.all([...subscribers].map(s => s.close()))
    subscribers.clear()
  })
  const workQueue = new WorkerPool(broker, config.workQueue, config.workQueueMax)
  lifecycle.onShutdown(() => workQueue.close())
  const audience = config.audience ? new AudienceHub({ maxDevices: config.audienceMaxDevices }) : null
  if (audience)
    lifecycle.onShutdown(() => audience.close())
  const ctx: DemoContext = { config, broker, lifecycle, jobs, eventStreams: new Set(), views, subscribers, workQueue, audience }
  if (audience)
    bridgeAudience(ctx, audience) // the room through RabbitMQ, when the broker is up
  return ctx
}
