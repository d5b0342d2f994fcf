import type { Demo } from './demo'
import type { TrafficEntry } from './traffic'
import type { SseFrame } from './sse-parse'
import { DEMO_URL } from './demo'
import { parseFrame } from './sse-parse'
import { byteLength } from './traffic'

export type { SseFrame } from './sse-parse'

export interface EventStreamOptions {
  /** Timeline lane. Default `SSE`. */
  lane?: string
  /** Resume after this id (sent as `Last-Event-ID`). Default: from the start. */
  lastEventId?: string
  /** Every frame, including `retry:` and comment heartbeats. */
  onFrame?: (frame: SseFrame) => void
  /** A frame after which the stream is over (no reconnect). Default: none. */
  isFinal?: (frame: SseFrame) => boolean
  /** Each time a connection is opened (the first, and every reconnect). */
  onOpen?: () => void
  /** Called once when the stream stops for good (final frame, 204, error status, or `stop`). */
  onClose?: (reason: string) => void
}

export interface EventStream {
  /** Ends the stream for good. */
  stop: () => void
  /** Cuts the connection as a network failure would; the reader reconnects after `retry`. */
  drop: () => void
  /** The id of the last event received (what a reconnect sends). */
  lastEventId: () => string | undefined
}

/**
 * A fetch-based EventSource that shows its work: every frame is handed over raw and
 * recorded in the demo's log (a tick per frame on a `stream` bar). Honours `retry:` and
 * reconnects with `Last-Event-ID` like EventSource; stops on a final frame, a 204, or an
 * error status. Aborted with the slide.
 */
export function openEventStream(demo: Demo, path: string, options: EventStreamOptions = {}): EventStream {
  const { lane = 'SSE', onFrame, isFinal = () => false, onClose, onOpen } = options
  let lastId = options.lastEventId
  let retryMs = 2000
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
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
      let buffer = ''
      for (;;) {
        const { value, done } = await reader.read()
        if (done)
          break
        buffer += value.replace(/\r\n?/g, '\n')
        let end = buffer.indexOf('\n\n')
        while (end >= 0) {
          const frame = parseFrame(buffer.slice(0, end))
          buffer = buffer.slice(end + 2)
          end = buffer.indexOf('\n\n')
          if (frame.id !== undefined)
            lastId = frame.id
          if (frame.retry !== undefined)
            retryMs = frame.retry
          demo.log.update(entry, { receivedBytes: entry.receivedBytes + frame.bytes })
          demo.log.tick({ lane, kind: 'event', label: frame.event ?? (frame.comment !== undefined ? `: ${frame.comment}` : 'retry'), receivedBytes: frame.bytes, data: frame.raw })
          onFrame?.(frame)
          if (isFinal(frame)) {
            reason = 'final event'
            controller.abort()
            demo.log.finish(entry)
            return finish(reason)
          }
        }
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
    // Like EventSource: the stream ended early, so wait `retry` ms and resume after lastId.
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
