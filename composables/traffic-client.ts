import type { Ref } from 'vue'
import type { TrafficEntry, TrafficLog } from './traffic'
import { epochMs } from '../wire/clock'
import { byteLength } from '../wire/bytes'
import { DEMO_URL } from './demo-url'
import { arrivedAtSoon } from './wire-time'

export interface DemoRequestInit extends Omit<RequestInit, 'body' | 'signal'> {
  /** Lane of the timeline this request is drawn in. Default `client`. */
  lane?: string
  /** A JSON body; sets Content-Type. */
  json?: unknown
  body?: string
  /** The status this call must answer with (`ok`: any 2xx); any other throws, with the server's `{"error"}` as the message. */
  expect?: number | 'ok'
}

export interface DemoResponse<T> {
  status: number
  headers: Headers
  data: T
  /** Round trip as the page saw it, ms. */
  ms: number
  /**
   * When the answer arrived (epoch ms): when the browser's network stack had all of it (Resource
   * Timing's `responseEnd`, composables/wire-time.ts), or, where the browser keeps no such entry,
   * the moment `fetch` resolved with it. Either way before the page read, logged or drew it: a
   * time the page takes itself would add its own business (rendering the answer before, a busy
   * laptop) to how late the answer was.
   */
  receivedAt: number
  /** The log entry this request made (finished: status, bytes both ways, times). */
  entry: TrafficEntry
}

/** How long a request waits for a warm-up at most, ms: a server slow to answer it is not waited for. */
const WARM_UP_TIMEOUT_MS = 3000

/** What `openStream` options take. */
export interface StreamInit {
  /** Lane of the timeline. */
  lane: string
  /** Request headers (`Accept: text/event-stream` is always sent). */
  headers?: Record<string, string>
  /** The timeline label. Default `GET <path>`. */
  label?: string
  /** Aborts the request (and its body). */
  signal: AbortSignal
}

/** A held-open GET: its log entry (open until the caller finishes it) and the response once its head arrived. */
export interface OpenedStream {
  entry: TrafficEntry
  response: Promise<Response>
}

/** What the client needs of the slide: the current run's abort signal, and where to say the server answered or not. */
export interface ClientHost {
  signal: () => AbortSignal
  online: Ref<boolean | null>
}

/**
 * The deck's HTTP client for one demo: every call to the demo server is drawn in `log`, and
 * hands back the log entry it made. `request` is a `fetch` that records method, URL, status,
 * bytes (UTF-8 bodies) and times, aborted when the slide's live run stops, parsing JSON when the
 * answer is JSON; with `expect`, any other status throws the server's `{"error"}` message (a
 * network failure rethrows the fetch's error). `warmUp` sends a request that is neither drawn
 * nor counted, which later requests wait for. `openStream` opens a held GET (an event stream)
 * as a `stream` entry that the reader updates and closes (see the function `openStream`).
 */
export function useTrafficClient(log: TrafficLog, host: ClientHost) {
  /** The warm-ups still under way: a request waits for them, so none of them is what it measures. */
  let warming: Promise<void> = Promise.resolve()

  /**
   * Sends `path` (with `warm-up` added to its query, so a server log or the browser's network
   * panel tells it apart) once, undrawn and uncounted, and makes the next `request`s wait until
   * it is answered, failed, aborted with the live run, or {@link WARM_UP_TIMEOUT_MS} old.
   * `init.json` is sent as in `request`. For the first request of a slide that times something:
   * the connection, the server's first run of the route and the browser's own first call are
   * then no part of what the slide shows.
   */
  function warmUp(path: string, init: Pick<DemoRequestInit, 'json' | 'method' | 'body' | 'headers'> = {}): void {
    const { json, ...rest } = init
    const headers = new Headers(rest.headers)
    if (json !== undefined)
      headers.set('Content-Type', 'application/json')
    const url = `${DEMO_URL}${path}${path.includes('?') ? '&' : '?'}warm-up`
    const method = rest.method ?? (json === undefined && rest.body === undefined ? 'GET' : 'POST')
    const signal = AbortSignal.any([host.signal(), AbortSignal.timeout(WARM_UP_TIMEOUT_MS)])
    const done = fetch(url, { method, headers, body: json === undefined ? rest.body : JSON.stringify(json), signal, cache: 'no-store' })
      .then(res => res.arrayBuffer())
      .then(() => {}, () => {})
    const before = warming
    warming = Promise.all([before, done]).then(() => {})
  }

  async function request<T = unknown>(path: string, init: DemoRequestInit = {}): Promise<DemoResponse<T>> {
    await warming
    const { lane = 'client', json, expect, ...rest } = init
    const method = (rest.method ?? (json === undefined ? 'GET' : 'POST')).toUpperCase()
    const body = json === undefined ? rest.body : JSON.stringify(json)
    const headers = new Headers(rest.headers)
    if (json !== undefined)
      headers.set('Content-Type', 'application/json')
    const entry = log.begin({ lane, kind: 'request', label: `${method} ${path}`, method, url: path, sentBytes: body ? byteLength(body) : 0 })
    const t0 = epochMs()
    const signal = host.signal()
    let answer: DemoResponse<T>
    try {
      const url = `${DEMO_URL}${path}`
      const res = await fetch(url, { ...rest, method, headers, body, signal })
      const pageAt = epochMs()
      const text = await res.text()
      // When the answer reached this machine (the network stack's stamp), not when this busy page got to it.
      const receivedAt = Math.min(pageAt, (await arrivedAtSoon(url, t0)) ?? pageAt)
      const isJson = res.headers.get('content-type')?.includes('json')
      const data = (isJson && text ? JSON.parse(text) : text) as T
      log.finish(entry, { status: res.status, receivedBytes: byteLength(text), data })
      host.online.value = true
      answer = { status: res.status, headers: res.headers, data, ms: epochMs() - t0, receivedAt, entry }
    }
    catch (err) {
      log.finish(entry, { error: signal.aborted ? 'aborted' : 'network error' })
      if (!signal.aborted)
        host.online.value = false
      throw err
    }
    const { status, data } = answer
    if (expect === 'ok' ? status < 200 || status > 299 : expect !== undefined && status !== expect)
      throw new Error((data as { error?: string } | undefined)?.error ?? `${method} ${path} answered ${status}`)
    return answer
  }

  return { request, warmUp, openStream: (path: string, init: StreamInit) => openStream(log, path, init) }
}

/**
 * A held-open `GET path` on the demo server (`Accept: text/event-stream`, no cache), drawn in
 * `log` as a `stream` bar from now: returns that entry, which the reader updates (status, bytes)
 * and finishes, and the response, which resolves when its head arrived (rejects on a network
 * failure or `init.signal`).
 */
export function openStream(log: TrafficLog, path: string, init: StreamInit): OpenedStream {
  const entry = log.begin({ lane: init.lane, kind: 'stream', label: init.label ?? `GET ${path}`, method: 'GET', url: path })
  const headers = { Accept: 'text/event-stream', ...init.headers }
  return { entry, response: fetch(`${DEMO_URL}${path}`, { headers, signal: init.signal, cache: 'no-store' }) }
}

export type TrafficClient = ReturnType<typeof useTrafficClient>
