import type { UpstreamAnswer } from './upstreams.ts'
import { Agent, request as h1Request } from 'node:http'
import type { ClientHttp2Session } from 'node:http2'
import { connect } from 'node:http2'
import type { RunReport, Span } from '../../wire/multiplexing.ts'

function report(protocol: RunReport['protocol'], t0: number, spans: Span[]): RunReport {
  return { protocol, count: spans.length, tcpConnections: new Set(spans.map(s => s.connection)).size, totalMs: performance.now() - t0, spans }
}

function span(i: number, t0: number, issued: number, body: string, stream?: number): Span {
  const { connection, arrivedAt } = JSON.parse(body) as UpstreamAnswer
  return { i, startMs: arrivedAt - t0, endMs: performance.now() - t0, queuedMs: arrivedAt - issued, connection, stream }
}

/** The whole body of a response or stream, as text. */
async function text(stream: AsyncIterable<Buffer | string>): Promise<string> {
  let body = ''
  for await (const chunk of stream) body += chunk
  return body
}

/** A GET over an HTTP/1.1 agent (or none: `agent: false` opens a new connection). */
function h1Get(url: string, agent: Agent | false, signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = h1Request(url, { agent, signal }, res => text(res).then(resolve, reject))
    req.on('error', reject)
    req.end()
  })
}

const times = <T>(n: number, fn: (i: number) => Promise<T>) => Promise.all(Array.from({ length: n }, (_, i) => fn(i)))

/** Fires `count` requests at once; `send` makes one and resolves with the upstream's answer (and its h2 stream id). */
async function runAtOnce(protocol: RunReport['protocol'], count: number,
  send: () => Promise<{ body: string, stream?: number }>): Promise<RunReport> {
  const t0 = performance.now()
  const spans = await times(count, async (i) => {
    const issued = performance.now()
    const { body, stream } = await send()
    return span(i, t0, issued, body, stream)
  })
  return report(protocol, t0, spans)
}

/**
 * The plumbing a real client needs around an HTTP/2 session, kept off the slide: a failing
 * stream rejects its own request (the session's 'error' event must still be handled), an
 * abort destroys the session, and the function returned closes it when the run is done.
 */
function closeWhenDone(session: ClientHttp2Session, signal: AbortSignal): () => void {
  session.on('error', () => {})
  const abort = () => session.destroy(new Error('aborted'))
  signal.addEventListener('abort', abort, { once: true })
  return () => {
    signal.removeEventListener('abort', abort)
    session.close()
  }
}

// #region h1
/** `count` requests at once over HTTP/1.1, on at most `maxSockets` connections. */
export async function runHttp1(origin: string, count: number, delayMs: number,
  maxSockets: number, signal: AbortSignal): Promise<RunReport> {
  const agent = new Agent({ keepAlive: true, maxSockets }) // the pool
  return runAtOnce('http/1.1', count, async () => {
    const body = await h1Get(`${origin}/slow?ms=${delayMs}`, agent, signal) // waits for a free socket
    return { body }
  }).finally(() => agent.destroy())
}
// #endregion h1

// #region h2
/** `count` requests at once over ONE HTTP/2 connection, a stream each. */
export async function runHttp2(origin: string, count: number,
  delayMs: number, signal: AbortSignal): Promise<RunReport> {
  const session = connect(origin) // one TCP connection
  const release = closeWhenDone(session, signal)
  return runAtOnce('h2', count, async () => {
    const stream = session.request({ ':path': `/slow?ms=${delayMs}` }) // a new stream
    const body = await text(stream.end()) // frames of all streams interleave
    return { body, stream: stream.id } // ids 1, 3, 5 ...
  }).finally(release)
}
// #endregion h2

// #region pool
/** `count` requests one after another: through a warm pool, or each on a new connection. */
export async function runPooled(origin: string, count: number, pooled: boolean,
  signal: AbortSignal): Promise<RunReport> {
  const agent = pooled ? new Agent({ keepAlive: true, maxSockets: 1 }) : false
  const t0 = performance.now()
  const spans: Span[] = []
  try {
    for (let i = 0; i < count; i++) {
      const issued = performance.now()
      spans.push(span(i, t0, issued, await h1Get(`${origin}/slow?ms=0`, agent, signal)))
    }
    return report('http/1.1', t0, spans)
  }
  finally {
    if (agent)
      agent.destroy()
  }
}
// #endregion pool
