import type { Response } from 'express'
import type { DemoConfig } from './config.ts'
import { BrokerConnection } from './broker.ts'
import { JobJournal } from '../jobs/journal.ts'
import type { JournalEntry } from '../jobs/store.ts'
import { JobStore } from '../jobs/store.ts'
import { Lifecycle } from './lifecycle.ts'

/**
 * What every chapter of one demo server shares, handed to every router: its configuration, the
 * broker connection, the lifecycle registry, the job store and the open SSE sessions. Nothing
 * lives in module scope, so two servers in one process (the tests) share nothing.
 *
 * A chapter's own state is not here: its router factory creates it and registers its shutdown
 * (`ctx.lifecycle.onShutdown`). State two files need (the push router and its upgrade handler,
 * the audience router and its listener, the broker view reading pub/sub's subscribers) goes
 * through {@link chapterState}: the chapter names it and exports a typed accessor, the platform
 * only keeps the map. So dependencies point one way, chapter -> platform (ESLint enforces it:
 * eslint.config.js), and adding a chapter never means editing this file.
 */
export interface DemoContext {
  config: DemoConfig
  broker: BrokerConnection
  lifecycle: Lifecycle
  /** The jobs every HTTP pattern watches (request/response, polling, SSE). */
  jobs: JobStore
  /** Open SSE sessions of every event-stream route, for the `sseMaxClients` cap (demos/platform/sse-session.ts). */
  eventStreams: Set<Response>
  /** Each chapter's shared state by name; read it through the chapter's accessor, never directly. */
  readonly chapters: Map<string, unknown>
}

/**
 * Creates a demo server's shared state; `lifecycle.shutdown()` releases all of it (newest first).
 * @throws {JournalError} (demos/jobs/journal.ts) the jobs database cannot be opened, or another demo
 *   server has it (JournalInUseError): nothing has been created then.
 */
export function createDemoContext(config: DemoConfig): DemoContext {
  const journal = new JobJournal<JournalEntry>(config.jobsDb) // first: the one thing that may refuse
  const lifecycle = new Lifecycle()
  const broker = new BrokerConnection(config.amqpUrl)
  lifecycle.onShutdown(() => broker.close()) // runs last: channels close before the connection
  const jobs = new JobStore({ maxJobs: config.jobsMax, ttlMs: config.jobsTtlMs }, journal)
  lifecycle.onShutdown(() => jobs.close())
  return { config, broker, lifecycle, jobs, eventStreams: new Set(), chapters: new Map() }
}

/**
 * The state a chapter registered under `name` on this server, created by `create` on first use
 * (which also registers its shutdown). `name` is the chapter's own, e.g. `'push.hub'`; each
 * chapter wraps this in a typed accessor (`pushHub(ctx)`) so nobody else repeats the name or the type.
 */
export function chapterState<T>(ctx: DemoContext, name: string, create: () => T): T {
  if (!ctx.chapters.has(name))
    ctx.chapters.set(name, create())
  return ctx.chapters.get(name) as T
}
