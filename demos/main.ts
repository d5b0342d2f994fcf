// The demo server's entry point: `npm run demos`. Listening itself is in listen.ts (shared with the tests and the bench).
import type { DemoConfig } from './platform/config.ts'
import { loadConfig, redactUrl, startEntryPoint } from './platform/config.ts'

startEntryPoint('demos') // before the imports below: they need a current Node (node:sqlite)
const { createDemoContext } = await import('./platform/context.ts')
const { listen } = await import('./app.ts')
const { JournalError } = await import('./jobs/journal.ts')

let config: DemoConfig
try {
  config = loadConfig()
}
catch (err) {
  console.error(`[demos] ${(err as Error).message}`)
  process.exit(2)
}

let ctx: ReturnType<typeof createDemoContext>
try {
  ctx = createDemoContext(config)
}
catch (err) {
  if (!(err instanceof JournalError))
    throw err
  console.error(`[demos] ${err.message}`) // another demo server has JOBS_DB, or it cannot be opened
  process.exit(2)
}
const demo = await listen(ctx).catch((err: NodeJS.ErrnoException) => {
  if (config.audience && (err.code === 'EADDRNOTAVAIL' || (err.code === 'EADDRINUSE' && err.message.includes(String(config.audiencePort)))))
    console.error(`[demos] the audience listener cannot use ${config.audienceHost}:${config.audiencePort} (${err.code}): set AUDIENCE_HOST / AUDIENCE_PORT`)
  else if (err.code === 'EADDRINUSE')
    console.error(`[demos] port ${config.port} on ${config.host} is already in use: another demo server is probably running. Stop it, or start this one with DEMO_PORT=<port>.`)
  else
    console.error(`[demos] cannot listen on ${config.host}:${config.port}: ${err.message}`)
  process.exit(2)
})
console.log(`[demos] listening on ${demo.url} (CORS: ${config.allowedOrigins.join(', ')})`)
if (demo.audience)
  console.log(`[demos] audience mode: phones join at ${demo.audience.joinUrl}`)
ctx.broker.on('state', (state: string) => console.log(`[demos] broker ${redactUrl(config.amqpUrl)} is ${state}`))
ctx.broker.start()

let stopping = false
async function shutdown(signal: string): Promise<void> {
  if (stopping)
    return
  stopping = true
  console.log(`[demos] ${signal}: closing streams, broker connection and server`)
  await demo.close()
  process.exit(0)
}
process.on('SIGINT', () => void shutdown('SIGINT'))
process.on('SIGTERM', () => void shutdown('SIGTERM'))
