// The only place that listens: `npm run demos`.
import type { Socket } from 'node:net'
import { createApp, createDemoContext } from './app.ts'
import { loadConfig, redactUrl } from './config.ts'
import { attachWebSocket } from './websocket/server.ts'

const config = loadConfig()
const ctx = createDemoContext(config)
const app = createApp(ctx)
const sockets = new Set<Socket>()

const server = app.listen(config.port, config.host, () => {
  const addr = server.address()
  const port = typeof addr === 'object' && addr ? addr.port : config.port
  console.log(`[demos] listening on http://${config.host}:${port} (CORS: ${config.allowedOrigins.join(', ')})`)
  ctx.broker.start()
})
attachWebSocket(server, ctx) // WebSocket upgrades never reach Express
server.on('connection', (socket) => {
  sockets.add(socket)
  socket.once('close', () => sockets.delete(socket))
})
server.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EADDRINUSE')
    console.error(`[demos] port ${config.port} on ${config.host} is already in use: another demo server is probably running. Stop it, or start this one with DEMO_PORT=<port>.`)
  else
    console.error(`[demos] cannot listen on ${config.host}:${config.port}:`, err.message)
  process.exit(2)
})

ctx.broker.on('state', (state: string) => {
  console.log(`[demos] broker ${redactUrl(config.amqpUrl)} is ${state}`)
})

let stopping = false
async function shutdown(signal: string): Promise<void> {
  if (stopping)
    return
  stopping = true
  console.log(`[demos] ${signal}: closing streams, broker connection and server`)
  server.close()
  await ctx.lifecycle.shutdown()
  server.closeIdleConnections()
  // Whatever is still open after the streams ended gets a short grace period.
  const timer = setTimeout(() => {
    for (const s of sockets) s.destroy()
  }, 1000)
  timer.unref()
  server.once('close', () => process.exit(0))
}
process.on('SIGINT', () => void shutdown('SIGINT'))
process.on('SIGTERM', () => void shutdown('SIGTERM'))
