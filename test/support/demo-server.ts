import type { Server } from 'node:http'
import type { DemoConfig } from '../../demos/platform/config.ts'
import type { DemoContext } from '../../demos/platform/context.ts'
import { afterAll, beforeAll } from 'vitest'
import { loadConfig } from '../../demos/platform/config.ts'
import { createDemoContext } from '../../demos/platform/context.ts'
import type { Listening } from '../../demos/app.ts'
import { listen } from '../../demos/app.ts'

export interface RunningDemoServer {
  url: string
  port: number
  ctx: DemoContext
  /** The audience listener, when the overrides turned audience mode on. */
  audience?: Listening['audience']
  server: Server
  /** Graceful: ends held streams, closes the broker connection, then the server. */
  close(): Promise<void>
}

/**
 * Starts the real demo server on loopback (port 0 unless given) with `listen()`, as `demos/main.ts`
 * does, with the broker from the test run (AMQP_URL). Settings not given come from the environment
 * and the defaults, as in production; tests pass what they change (`{ sseMaxClients: 2 }`).
 * `connectBroker: false` keeps it offline.
 */
export async function startDemoServer(overrides: Partial<DemoConfig> & { connectBroker?: boolean } = {}): Promise<RunningDemoServer> {
  const { connectBroker = true, ...rest } = overrides
  // Jobs in memory unless a test names a file: servers of parallel tests share nothing.
  const ctx = createDemoContext({ ...loadConfig({ ...process.env, DEMO_PORT: '0' }), jobsDb: ':memory:', ...rest })
  const { server, url, port, close, audience } = await listen(ctx)
  if (connectBroker)
    ctx.broker.start()
  return { url, port, ctx, server, audience, close: () => close(0) }
}

/**
 * For the enclosing `describe`: the demo server (`startDemoServer(overrides)`, then `ready`),
 * started before the first test and closed after the last. Its fields are filled in by `beforeAll`.
 */
export function useDemoServer(overrides: Parameters<typeof startDemoServer>[0] = {}, ready?: (demos: RunningDemoServer) => Promise<unknown>): RunningDemoServer {
  const demos = {} as RunningDemoServer
  beforeAll(async () => {
    Object.assign(demos, await startDemoServer(overrides))
    await ready?.(demos)
  })
  afterAll(async () => {
    await demos.close?.()
  })
  return demos
}

/** What a truthy check returned. */
export type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>

/** Waits until `check` returns truthy, polling every 20 ms; throws with `what` after `timeoutMs` (default 10 s: a deadline for a stuck run, not a speed check). */
export async function waitFor<T>(check: () => T | Promise<T>, what: string, timeoutMs = 10_000): Promise<Truthy<T>> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await check()
    if (v)
      return v as Truthy<T>
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise(r => setTimeout(r, 20))
  }
}
