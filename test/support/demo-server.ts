import type { AddressInfo, Socket } from 'node:net'
import type { Server } from 'node:http'
import type { DemoContext } from '../../demos/app.ts'
import type { DemoConfig } from '../../demos/config.ts'
import { afterAll, beforeAll } from 'vitest'
import { createApp, createDemoContext } from '../../demos/app.ts'
import { loadConfig } from '../../demos/config.ts'
import { attachWebSocket } from '../../demos/websocket/server.ts'

export interface RunningDemoServer {
  url: string
  port: number
  ctx: DemoContext
  server: Server
  /** Graceful: ends held streams, closes the broker connection, then the server. */
  close(): Promise<void>
}

/**
 * Starts the real demo app on loopback (port 0 unless given), as `demos/main.ts` does,
 * with the broker from the test run (AMQP_URL). `connectBroker: false` keeps it offline.
 */
export async function startDemoServer(overrides: Partial<DemoConfig> & { connectBroker?: boolean } = {}): Promise<RunningDemoServer> {
  const { connectBroker = true, ...rest } = overrides
  const config: DemoConfig = { ...loadConfig({ ...process.env, DEMO_PORT: '0' }), ...rest }
  const ctx = createDemoContext(config)
  const app = createApp(ctx)
  const sockets = new Set<Socket>()
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.port, config.host, () => resolve(s))
    s.once('error', reject)
  })
  attachWebSocket(server, ctx)
  server.on('connection', (s) => {
    sockets.add(s)
    s.once('close', () => sockets.delete(s))
  })
  if (connectBroker)
    ctx.broker.start()
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://${config.host}:${port}`,
    port,
    ctx,
    server,
    async close() {
      await ctx.lifecycle.shutdown()
      server.closeIdleConnections()
      for (const s of sockets) s.destroy()
      await new Promise<void>(resolve => server.close(() => resolve()))
    },
  }
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
