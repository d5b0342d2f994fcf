import type { Demo } from './demo'
import type { TrafficEntry } from './traffic'
import type { SseFrame } from '../wire/sse'
import { epochMs } from '../wire/clock'
import { DEMO_URL } from './demo'
import { readEventStream } from '../wire/sse'
import { byteLength } from '../wire/bytes'

export type { SseFrame } from '../wire/sse'

export interface EventStreamOptions {
  /** Timeline lane. Default `SSE`. */
  lane?: string
  /** Resume after this id (sent as `Last-Event-ID`). Default: from the start. */
  lastEventId?: string
  /** Every frame, including `retry:` and comment heartbeats, with when it arrived (epoch ms, taken before it was logged). */
  onFrame?: (frame: SseFrame, receivedAt: number) => void
  /**
   * An event after which the stream is over (no reconnect). Asked only of frames that
   * dispatch an event (`frame.dispatch`), never of `retry:`, comment or `event:`-only frames.
   * Default: none.
   */
  isFinal?: (frame: SseFrame) => boolean
  /** Each time a connection is opened (the first, and every reconnect). */
  onOpen?: () => void
  /** Called once when the stream stops for good (final frame, 204, error status, or `stop`). */
  onClose?: (reason: string) => void
}

export interface EventStream {
  /** Ends the stream for good. */
  stop: () => void
  /** Cuts the connection as a network failure would; the reader reconnects after the (bounded) `retry` delay. */
  drop: () => void
  /** The id of the last event received (what a reconnect sends). */
  lastEventId: () => string | undefined
}

/** Reconnect delay before the server sends `retry:`, ms. */
const DEFAULT_RETRY_MS = 2000
/** Bounds on the reconnect delay, ms: whatever `retry:` says, never sooner than 250 ms (no hammering) nor later than 30 s (the slide stays live). */
const RETRY_BOUNDS_MS = { min: 250, max: 30_000 } as const

/** A server's `retry:` (ms) clamped to {@link RETRY_BOUNDS_MS}. */
function boundedRetry(ms: number): number {
  return Math.min(RETRY_BOUNDS_MS.max, Math.max(RETRY_BOUNDS_MS.min, ms))
}

/** The timeline label of a frame: its event type, `: comment`, `retry`, or `frame`. */
function frameLabel(frame: SseFrame): string {
  if (frame.dispatch)
    return frame.type
  if (frame.comment !== undefined)
    return `: ${frame.comment}`
  return frame.retry === undefined ? 'frame' : 'retry'
}

/**
 * The deck's event-stream client: a fetch-based EventSource that shows its work. Every
 * frame is handed over raw and recorded in the demo's log (a tick per frame on a `stream`
 * bar); frames are read by `readEventStream` (wire/sse.ts, WHATWG rules).
 * Like EventSource it follows the stream across drops: after an early end or a network
 * error it waits the reconnect delay — 2000 ms until the server sends `retry:`, and any
 * `retry:` is clamped to 250–30,000 ms ({@link RETRY_BOUNDS_MS}) — then reconnects with
 * `Last-Event-ID` (the last `id:` received; none when it is empty). Stops for good on a
 * final event (`isFinal`), a 204, an error status, `stop()`, or when the slide is left.
 * (Not to be confused with the server's writer, `openEventStream` in demos/sse/stream.ts.)
 */
export function followEventStream(demo: Demo, path: string, options: EventStreamOptions = {}): EventStream {
  const { lane = 'SSE', onFrame, isFinal = () => false, onClose, onOpen } = options
  let lastId = options.lastEventId
  let retryMs = DEFAULT_RETRY_MS
  let stopped = false
  let current: AbortController | undefined
  let timer: ReturnType<typeof setTimeout> | undefined
  const slide = demo.signal()

  function finish(reason: string): void {
    if (stopped)
      return
    stopped = true
    clearTimeout(timer)
    current?.abort()
    onClose?.(reason)
  }
  slide.addEventListener('abort', () => finish('slide left'), { once: true })

  async function connect(): Promise<void> {
    if (stopped)
      return
    const controller = new AbortController()
    current = controller
    const onSlideAbort = () => controller.abort()
    slide.addEventListener('abort', onSlideAbort, { once: true })
    const headers: Record<string, string> = { Accept: 'text/event-stream' }
    if (lastId)
      headers['Last-Event-ID'] = lastId
    onOpen?.()
    const entry: TrafficEntry = demo.log.begin({ lane, kind: 'stream', label: `GET ${path}${lastId ? ` (Last-Event-ID ${lastId})` : ''}`, method: 'GET', url: path })
    let reason = 'ended'
    try {
      const res = await fetch(`${DEMO_URL}${path}`, { headers, signal: controller.signal, cache: 'no-store' })
      demo.log.update(entry, { status: res.status })
      if (res.status === 204)
        return finish('204: nothing more to send')
      if (!res.ok || !res.body) {
        const text = await res.text()
        demo.log.update(entry, { receivedBytes: byteLength(text), data: text })
        return finish(`HTTP ${res.status}: ${text}`)
      }
      const end = await readEventStream(res.body, (frame) => {
        const receivedAt = epochMs()
        if (frame.id !== undefined)
          lastId = frame.id
        if (frame.retry !== undefined)
          retryMs = boundedRetry(frame.retry)
        demo.log.update(entry, { receivedBytes: entry.receivedBytes + frame.bytes })
        demo.log.tick({ lane, kind: 'event', label: frameLabel(frame), receivedBytes: frame.bytes, data: frame.raw })
        onFrame?.(frame, receivedAt)
        return frame.dispatch && isFinal(frame)
      })
      if (end === 'stopped') {
        reason = 'final event'
        controller.abort()
        demo.log.finish(entry)
        return finish(reason)
      }
    }
    catch {
      reason = controller.signal.aborted ? 'dropped' : 'network error'
    }
    finally {
      slide.removeEventListener('abort', onSlideAbort)
      if (entry.end === undefined)
        demo.log.finish(entry, reason === 'ended' ? {} : { error: reason })
    }
    // Like EventSource: the stream ended early, so wait the (bounded) `retry` delay and resume after lastId.
    if (!stopped)
      timer = setTimeout(() => void connect(), retryMs)
  }

  void connect()
  return {
    stop: () => finish('stopped'),
    drop: () => current?.abort(),
    lastEventId: () => lastId,
  }
}
