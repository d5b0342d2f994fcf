import type { SseFrame } from '../wire/sse'
import type { TrafficEntry } from './traffic'
import { epochMs } from '../wire/clock'
import { lastEventIdHeader, readEventStream } from '../wire/sse'
import { byteLength } from '../wire/bytes'
import { TrafficLog } from './traffic'
import { openStream } from './traffic-client'
import { arrivedAtSoon } from './wire-time'

export type { SseFrame } from '../wire/sse'

/** Called with every frame (`retry:` and comment heartbeats included) and when it arrived (epoch ms, taken before it was logged). */
export type FrameListener = (frame: SseFrame, receivedAt: number) => void

/** What the reader needs of a demo (`useDemo()` has it): its log and the abort signal of its live run. */
export interface StreamHost {
  log: TrafficLog
  signal: () => AbortSignal
}

export interface EventStreamOptions {
  /** Timeline lane. Default `SSE`. */
  lane?: string
  /** Resume after this id (sent as `Last-Event-ID`). Default: from the start. */
  lastEventId?: string
  /** The first frame listener (more with `stream.onFrame`). */
  onFrame?: FrameListener
  /**
   * An event after which the stream is over (no reconnect). Asked only of frames that
   * dispatch an event (`frame.dispatch`), never of `retry:`, comment or `event:`-only frames.
   * Default: none.
   */
  isFinal?: (frame: SseFrame) => boolean
  /** Which frames get a tick on the timeline. Default: every frame. */
  logFrame?: (frame: SseFrame) => boolean
  /** False: nothing of this stream is drawn (no bar, no ticks), as for a feed the demo draws in its own way. Default true. */
  traced?: boolean
  /** Each time a connection is opened (the first, and every reconnect). */
  onOpen?: () => void
  /** Called once when the stream stops for good (final frame, 204, error status, `stop`, or the slide left). */
  onClose?: (reason: string) => void
}

export interface EventStream {
  /** Ends the stream for good; its bar ends without an error. */
  stop: () => void
  /** Cuts the connection as a network failure would; the reader reconnects after the (bounded) `retry` delay. */
  drop: () => void
  /** The id of the last event received (what a reconnect sends). */
  lastEventId: () => string | undefined
  /** A connection is open and its answer was a 200 with a body (EventSource's `OPEN`). */
  isOpen: () => boolean
  /** Adds a listener for every frame from now on; returns the function that removes it. */
  onFrame: (listener: FrameListener) => () => void
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
 * The deck's one event-stream client: a fetch-based EventSource that shows its work. Every
 * frame is handed over raw to the frame listeners and recorded in the demo's log (a tick per
 * frame, `logFrame` picks which, on a `stream` bar per connection); frames are read by
 * `readEventStream` (wire/sse.ts, WHATWG HTML §9.2 rules).
 * Like EventSource it follows the stream across drops: after an early end or a network
 * error it waits the reconnect delay — 2000 ms until the server sends `retry:`, and any
 * `retry:` is clamped to 250–30,000 ms ({@link RETRY_BOUNDS_MS}) — then reconnects with
 * `Last-Event-ID` (the last `id:` received; none when it is empty). Stops for good on a
 * final event (`isFinal`), a 204, an error status, `stop()`, or when the slide is left.
 * (Not to be confused with the server's writer, `openSseSession` in demos/platform/sse-session.ts.)
 */
export function followEventStream(demo: StreamHost, path: string, options: EventStreamOptions = {}): EventStream {
  const stream = new FollowedStream(demo, path, options)
  return {
    stop: () => stream.finish('stopped'),
    drop: () => stream.drop(),
    lastEventId: () => stream.lastId,
    isOpen: () => stream.open && !stream.stopped,
    onFrame: listener => stream.listen(listener),
  }
}

/** How one connection ended: for good (`final`, with why), or early (reconnect; `error` says why when it was not a clean end). */
type ConnectionEnd = { final: string } | { early: true, error?: string }

/** The state of one followed stream across its connections; see {@link followEventStream}. */
class FollowedStream {
  lastId: string | undefined
  open = false
  stopped = false
  private retryMs = DEFAULT_RETRY_MS
  private current: AbortController | undefined
  private timer: ReturnType<typeof setTimeout> | undefined
  private readonly log: TrafficLog
  private readonly slide: AbortSignal
  private readonly listeners = new Set<FrameListener>()
  /** The final event, held back from the listeners until its time of arrival is known (see `read`). */
  private final: { frame: SseFrame, receivedAt: number } | undefined
  /** When the current connection was asked for (epoch ms). */
  private connectedAt = 0

  constructor(demo: StreamHost, private readonly path: string, private readonly options: EventStreamOptions) {
    this.lastId = options.lastEventId
    this.log = options.traced === false ? new TrafficLog() : demo.log
    if (options.onFrame)
      this.listeners.add(options.onFrame)
    this.slide = demo.signal()
    this.slide.addEventListener('abort', () => this.finish('slide left'), { once: true })
    void this.follow()
  }

  private get lane(): string {
    return this.options.lane ?? 'SSE'
  }

  listen(listener: FrameListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  drop(): void {
    this.current?.abort()
  }

  finish(reason: string): void {
    if (this.stopped)
      return
    this.stopped = true
    clearTimeout(this.timer)
    this.current?.abort()
    this.options.onClose?.(reason)
  }

  /** Connects, reads, and reconnects after an early end, until the stream is over. */
  private async follow(): Promise<void> {
    while (!this.stopped) {
      const controller = new AbortController()
      this.current = controller
      const onSlideAbort = () => controller.abort()
      this.slide.addEventListener('abort', onSlideAbort, { once: true })
      this.options.onOpen?.()
      const end = await this.connectOnce(controller)
      this.slide.removeEventListener('abort', onSlideAbort)
      if ('final' in end) {
        controller.abort()
        return this.finish(end.final)
      }
      // Like EventSource: the stream ended early, so wait the (bounded) `retry` delay and resume after lastId.
      await new Promise<void>(resolve => (this.timer = setTimeout(resolve, this.retryMs)))
    }
  }

  /** One connection, read to its end, drawn as one `stream` bar. */
  private async connectOnce(controller: AbortController): Promise<ConnectionEnd> {
    const { path, lastId } = this
    this.connectedAt = epochMs()
    const label = `GET ${path}${lastId ? ` (Last-Event-ID ${lastId})` : ''}`
    // As EventSource sends it: the id's UTF-8 bytes (fetch would refuse `€7` as it is, and retry forever).
    const header = lastId ? lastEventIdHeader(lastId) : undefined
    const { entry, response } = openStream(this.log, path, { lane: this.lane, label, headers: header ? { 'Last-Event-ID': header } : {}, signal: controller.signal })
    let end: ConnectionEnd
    try {
      end = await this.read(await response, entry)
    }
    catch {
      end = this.stopped ? { final: 'stopped' } : { early: true, error: controller.signal.aborted ? 'dropped' : 'network error' }
    }
    this.open = false
    if (entry.end === undefined)
      this.log.finish(entry, 'error' in end && end.error ? { error: end.error } : {})
    return end
  }

  /** The answer to one connection: a 204 or an error status ends the stream, a 200 is read frame by frame. */
  private async read(res: Response, entry: TrafficEntry): Promise<ConnectionEnd> {
    this.log.update(entry, { status: res.status })
    if (res.status === 204)
      return { final: '204: nothing more to send' }
    if (!res.ok || !res.body) {
      const text = await res.text()
      this.log.update(entry, { receivedBytes: byteLength(text), data: text })
      return { final: `HTTP ${res.status}: ${text}` }
    }
    this.open = true
    // A `retry:` counts as soon as its line is read, as EventSource applies it (WHATWG HTML §9.2.6).
    const end = await readEventStream(res.body, frame => this.take(frame, entry), { onRetry: ms => (this.retryMs = boundedRetry(ms)) })
    if (end !== 'stopped')
      return { early: true }
    // The server ends the stream with its final event: the network stack's stamp of that end is when
    // the event arrived, whatever this page was busy with (composables/wire-time.ts).
    const { frame, receivedAt } = this.final!
    const arrived = (await arrivedAtSoon(res.url, this.connectedAt)) ?? receivedAt
    for (const listener of this.listeners) listener(frame, Math.min(receivedAt, arrived))
    return { final: 'final event' }
  }

  /** One frame: its `id` remembered (`retry:` was applied when its line was read), ticked on the bar, handed to the listeners; true when it ends the stream. */
  private take(frame: SseFrame, entry: TrafficEntry): boolean {
    const receivedAt = epochMs()
    if (frame.id !== undefined)
      this.lastId = frame.id
    this.log.update(entry, { receivedBytes: entry.receivedBytes + frame.bytes })
    if (this.options.logFrame?.(frame) ?? true)
      this.log.tick({ lane: this.lane, kind: 'event', label: frameLabel(frame), receivedBytes: frame.bytes, data: frame.raw })
    const final = frame.dispatch && (this.options.isFinal?.(frame) ?? false)
    if (final)
      this.final = { frame, receivedAt } // handed over in `read`, with its time of arrival
    else
      for (const listener of this.listeners) listener(frame, receivedAt)
    return final
  }
}

/**
 * Follows the JSON events of a stream (`followEventStream`): each event named in `on` has its
 * `data` parsed as JSON and handed to its handler, and only those events get a tick on the
 * timeline (the `retry:`, heartbeats and other events are read but not drawn). `Events` maps
 * event names to their data (e.g. `SubscriberEvents` from wire/pubsub.ts). Default lane `SSE`.
 */
export function followEvents<Events extends object = Record<string, any>>(demo: StreamHost, path: string, on: { [E in keyof Events]?: (data: Events[E]) => void }, options: Omit<EventStreamOptions, 'logFrame'> = {}): EventStream {
  const handlers = on as Record<string, ((data: unknown) => void) | undefined>
  const handled = (frame: SseFrame) => frame.dispatch && !!handlers[frame.type]
  const stream = followEventStream(demo, path, { ...options, logFrame: handled })
  stream.onFrame((frame) => {
    if (frame.dispatch)
      handlers[frame.type]?.(JSON.parse(frame.data))
  })
  return stream
}
