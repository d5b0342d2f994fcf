// The deck's event-stream reader (composables/sse.ts, `followEventStream`) against a real HTTP
// server on port 0: it must reconnect the way EventSource does (WHATWG HTML §9.2), whatever ids
// the server sends.
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createServer } from 'node:http'
import { afterEach, describe, expect, it, vi } from 'vitest'

type Handler = (req: IncomingMessage, res: ServerResponse, n: number) => void

let server: Server | undefined
let stopStream: (() => void) | undefined

/** A server answering the nth request (1, 2, ...) with `handler`; its origin. */
async function serve(handler: Handler): Promise<string> {
  let n = 0
  server = createServer((req, res) => handler(req, res, ++n))
  await new Promise<void>(resolve => server!.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

/** The deck's reader, pointed at `origin` (the deck finds its demo server through VITE_DEMO_URL). */
async function deckReader(origin: string) {
  vi.stubEnv('VITE_DEMO_URL', origin)
  vi.resetModules() // demo-url.ts reads it once, at load
  const { followEventStream } = await import('../composables/sse.ts')
  const { TrafficLog } = await import('../composables/traffic.ts')
  return { followEventStream, log: new TrafficLog() }
}

afterEach(async () => {
  stopStream?.()
  vi.unstubAllEnvs()
  await new Promise(resolve => server ? server.close(resolve) : resolve(undefined))
  server = undefined
})

describe('the deck\'s SSE reader', () => {
  it('sends back an id that is not ASCII as EventSource does (its UTF-8 bytes), and reaches the server again', async () => {
    const lastEventIds: Array<string | undefined> = []
    const origin = await serve((req, res, n) => {
      const header = req.headers['last-event-id']
      lastEventIds.push(header === undefined ? undefined : Buffer.from(header as string, 'latin1').toString('utf8'))
      res.writeHead(200, { 'Content-Type': 'text/event-stream' })
      if (n === 1) // the first connection: one event with a non-ASCII id, then the server drops it
        res.end('retry: 250\n\nid: €7\ndata: first\n\n')
      else
        res.end('event: done\ndata: second\n\n')
    })
    const { followEventStream, log } = await deckReader(origin)
    const controller = new AbortController()
    const seen: string[] = []
    const done = new Promise<string>((resolve) => {
      const stream = followEventStream({ log, signal: () => controller.signal }, '/events', {
        isFinal: frame => frame.type === 'done',
        onClose: resolve,
      })
      stopStream = () => stream.stop()
      stream.onFrame((frame) => {
        if (frame.dispatch)
          seen.push(frame.data)
      })
    })
    await expect(done).resolves.toBe('final event')
    expect(seen).toEqual(['first', 'second'])
    expect(lastEventIds).toEqual([undefined, '€7'])
    const bars = log.entries.value.filter(e => e.kind === 'stream')
    expect(bars.map(b => b.label)).toEqual(['GET /events', 'GET /events (Last-Event-ID €7)'])
  })
})
