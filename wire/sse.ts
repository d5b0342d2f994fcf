// Server-Sent Events on the wire, free of Node- and browser-only imports: the frames the demo
// server writes (`formatEvent`), and one frame parser and one stream reader, shared by the deck's
// reader (composables/sse.ts), the tests' readers (test/support) and the benchmarks (bench/).
//
// The rules are those of the WHATWG HTML Standard, §9.2 "Server-sent events":
// §9.2.5 "Parsing an event stream" (https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream)
// and §9.2.6 "Interpreting an event stream" (…#event-stream-interpretation).
import { byteLength } from './bytes.ts'

/**
 * One event as the demo server writes it: `id:` (when given: what the client sends back as
 * `Last-Event-ID`), `event:` (the type EventSource dispatches), `data` as JSON on one line, then the
 * blank line that ends the frame (WHATWG HTML §9.2.5). JSON never holds a raw line break, so one
 * `data:` line always carries all of it; `id` must hold no line break or U+0000 (§9.2.6 ignores it).
 * @example formatEvent('progress', { progress: 40 }, 3) // 'id: 3\nevent: progress\ndata: {"progress":40}\n\n'
 */
export function formatEvent(event: string, data: unknown, id?: string | number): string {
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`
}

/** What every frame carries, whether or not it dispatches an event. */
interface SseFrameFields {
  /** The frame's lines joined with `\n` (whatever line ends came on the wire), without the blank line that ended it. */
  raw: string
  /**
   * UTF-8 bytes the frame took on the wire: its lines with their own line ends (CRLF is 2),
   * the blank line ending it, and whatever the reader skipped since the previous frame (a
   * leading BOM, extra blank lines). A stream's frames add up to its bytes, less an
   * unfinished frame at its end. One exception per frame at most: when the CRLF of its blank
   * line is split across chunks, the frame is handed over at the CR (not held back for a
   * byte that may never come) and that LF counts toward the next frame.
   */
  bytes: number
  /** The last `id` field whose value has no U+0000 NULL (one with a NULL is ignored, as the spec says). `''` resets it. */
  id?: string
  /** The last `event` field, as sent (may be `''`). See `type` for the event type it dispatches as. */
  event?: string
  /** The last `retry` field made only of ASCII digits, in ms; any other `retry` is ignored. Not bounded here. */
  retry?: number
  /** The text of the last comment line (`:` …), trimmed. Comments are never events. */
  comment?: string
}

/**
 * One Server-Sent Events frame as it came off the wire (comments and `retry:` included).
 * `dispatch` says whether it is an event: only a frame with at least one `data` line is
 * (§9.2.6: "If the data buffer is an empty string, … return"). A frame of `event:`, `id:`,
 * `retry:` or comments alone dispatches nothing, so check `dispatch` (or `type`) before
 * treating a frame as an event; `data` and `type` are only there when it is one.
 */
export type SseFrame = SseFrameFields & (
  | {
    dispatch: true
    /** The event type: `event`, or `message` when that is absent or empty. */
    type: string
    /** The `data` lines' values joined with `\n` (`''` for one empty `data` line). */
    data: string
  }
  | { dispatch: false, type?: undefined, data?: undefined }
)

const ASCII_DIGITS = /^[0-9]+$/

/**
 * One line of a frame as a field (§9.2.6): the name runs to the first `:` (the whole line when
 * there is none, with an empty value) and one space right after the colon is dropped.
 * `undefined` for a comment line (one starting with `:`).
 */
function fieldOf(line: string): [name: string, value: string] | undefined {
  if (line.startsWith(':'))
    return undefined
  const colon = line.indexOf(':')
  if (colon < 0)
    return [line, '']
  return [line.slice(0, colon), line.slice(line.startsWith(' ', colon + 1) ? colon + 2 : colon + 1)]
}

/**
 * Parses one frame (the lines between two blank lines) field by field, as EventSource does
 * (§9.2.6): a line starting with `:` is a comment; otherwise the field name runs to the first
 * `:` (the whole line when there is none, with an empty value) and one space right after the
 * colon is dropped. `data` values join with `\n`; `event`, `id` and `retry` keep their last
 * valid value; an `id` containing U+0000 NULL and a `retry` that is not all ASCII digits are
 * ignored; unknown fields are ignored. Lines may end in CRLF, LF or CR.
 * @param raw The frame's lines, without the blank line that ends it.
 * @param bytes Its size on the wire, when the caller knows it; default `raw` plus a `\n\n` ending, in UTF-8.
 */
export function parseFrame(raw: string, bytes = byteLength(`${raw}\n\n`)): SseFrame {
  const fields: SseFrameFields = { raw, bytes }
  const data: string[] = []
  for (const line of raw.split(/\r\n|\r|\n/)) {
    const field = fieldOf(line)
    if (!field) {
      fields.comment = line.slice(1).trim()
      continue
    }
    const [name, value] = field
    if (name === 'event')
      fields.event = value
    else if (name === 'data')
      data.push(value)
    else if (name === 'id' && !value.includes('\0'))
      fields.id = value
    else if (name === 'retry' && ASCII_DIGITS.test(value))
      fields.retry = Number(value)
  }
  return data.length
    ? { ...fields, dispatch: true, type: fields.event || 'message', data: data.join('\n') }
    : { ...fields, dispatch: false }
}

/**
 * Whether fetch takes `value` as a header value unchanged: a ByteString (every code unit
 * U+0000–U+00FF, i.e. ISO-8859-1), with no NUL, CR or LF and no leading or trailing space or
 * tab (which fetch would strip). An `id:` such as `€7` is not one: `fetch` rejects it with a
 * TypeError ("Cannot convert argument to a ByteString").
 */
export function isHeaderValue(value: string): boolean {
  return /^[^\0\n\r\u0100-\uFFFF]*$/.test(value) && !/^[\t ]|[\t ]$/.test(value)
}

/**
 * The `Last-Event-ID` request header value for a last event ID, as EventSource sends it: the ID
 * "encoded as UTF-8" (WHATWG HTML §9.2.3 "Processing model", reestablishing the connection;
 * §9.2.4 "The `Last-Event-ID` header"), each byte as one code unit so that fetch, which takes
 * header values as ByteStrings, puts exactly those bytes on the wire (an ASCII ID is unchanged;
 * `€7` becomes `'\u00E2\u0082\u00AC7'`). A Node server reads it back with
 * `Buffer.from(value, 'latin1').toString('utf8')`. `undefined` for `''` (no header is sent, §9.2.3).
 * An `id` field never holds CR, LF or NUL, so the result is always a valid header value
 * unless the ID starts or ends with a space or tab (fetch strips those).
 */
export function lastEventIdHeader(id: string): string | undefined {
  if (!id)
    return undefined
  let value = ''
  for (const byte of new TextEncoder().encode(id))
    value += String.fromCharCode(byte)
  return value
}

/** Called with each frame; return `true` to stop reading (nothing else stops it). */
export type FrameHandler = (frame: SseFrame) => boolean | void

/** The default bound of {@link FrameSplitterOptions.maxBufferSize}: 1 MiB (1,048,576 bytes). */
export const DEFAULT_MAX_BUFFER_SIZE = 1024 * 1024

/** How the reader treats what arrives between frames. */
export interface FrameSplitterOptions {
  /**
   * The most UTF-8 bytes of one unfinished frame the reader holds, its line ends included
   * (default {@link DEFAULT_MAX_BUFFER_SIZE}, 1 MiB). A server that never sends the blank line
   * ending a frame would otherwise grow the buffer without bound; past the limit the reader
   * fails with an {@link SseBufferOverflowError} instead. The same bound as eventsource-parser's
   * `maxBufferSize`. A frame that fits is handed over however it was cut into chunks.
   */
  maxBufferSize?: number
  /**
   * Called with the new reconnection time, in ms, as soon as a valid `retry` line has been read
   * (all ASCII digits; not bounded here), before the frame it is in has ended and even when
   * that frame never ends or dispatches nothing: the WHATWG HTML Standard, §9.2.6 "Interpreting
   * an event stream" (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation),
   * sets the event stream's reconnection time when the field is processed ("If the field name
   * is "retry": If the field value consists of only ASCII digits, … set the event stream's
   * reconnection time to that integer"). The frame's `retry` field is still set as well.
   */
  onRetry?: (ms: number) => void
}

/** Thrown (and the body cancelled) when one frame outgrows {@link FrameSplitterOptions.maxBufferSize}. */
export class SseBufferOverflowError extends RangeError {
  override name = 'SseBufferOverflowError'
  /**
   * @param limit The bound that was passed, in bytes.
   * @param held The bytes of the unfinished frame when it was passed.
   */
  constructor(readonly limit: number, readonly held: number) {
    super(`event stream: an unfinished frame holds ${held} bytes, over the ${limit}-byte limit (maxBufferSize); no blank line ended it`)
  }
}

/**
 * The push side of the reader, for byte sources that are not web streams (a `node:http`
 * response's `'data'` events): returns a function to call with each chunk of the body, in
 * order. It decodes UTF-8 as a stream (a character split across chunks is fine; invalid
 * bytes become U+FFFD), drops one U+FEFF BOM at the very start, ends lines at CRLF, LF or
 * CR (a CR ending one chunk and an LF starting the next are one line end), and hands each
 * frame — the lines before a blank line — to `onFrame` as soon as its blank line arrives.
 * Blank lines with no frame before them are skipped. The function returns `true` once
 * `onFrame` has returned `true`; from then on it ignores its input. What follows the last
 * blank line is an unfinished frame and is never handed over (§9.2.6: at the end of the
 * stream "any pending data must be discarded").
 * @param options `maxBufferSize` (bytes, default 1 MiB) and `onRetry` ({@link FrameSplitterOptions}).
 * @throws {SseBufferOverflowError} from the returned function, when an unfinished frame grows
 *   past `maxBufferSize`; it then throws that error again on every later call. It also
 *   throws what `onFrame` or `onRetry` threw.
 */
export function frameSplitter(onFrame: FrameHandler, options: FrameSplitterOptions = {}): (chunk: Uint8Array) => boolean {
  const { maxBufferSize = DEFAULT_MAX_BUFFER_SIZE, onRetry } = options
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true })
  const lineEnd = /\r\n|\r|\n/g
  let atStart = true
  let afterCR = false
  let line = ''
  /** UTF-8 bytes of `line`, the line not yet ended. */
  let lineBytes = 0
  let lines: string[] = []
  /** UTF-8 bytes of `lines` with their line ends: what the reader holds of the unfinished frame. */
  let held = 0
  let bytes = 0
  let stopped = false
  let failed: SseBufferOverflowError | undefined
  const check = (size: number) => {
    if (size > maxBufferSize)
      throw (failed = new SseBufferOverflowError(maxBufferSize, size))
  }
  return (chunk) => {
    if (failed)
      throw failed
    if (stopped)
      return true
    let text = decoder.decode(chunk, { stream: true })
    if (!text)
      return false
    if (atStart) {
      atStart = false
      if (text.startsWith('\uFEFF')) {
        text = text.slice(1)
        bytes += 3
      }
    }
    let from = 0
    if (afterCR && text.startsWith('\n')) { // the LF of a CRLF split across chunks
      from = 1
      bytes += 1
      if (lines.length) // the CR ended a line of the frame still held
        held += 1
    }
    lineEnd.lastIndex = from
    for (let end = lineEnd.exec(text); end; end = lineEnd.exec(text)) {
      const rest = text.slice(from, end.index)
      line += rest
      lineBytes += byteLength(rest)
      from = lineEnd.lastIndex
      bytes += lineBytes + end[0].length
      if (line) {
        lines.push(line)
        held += lineBytes + end[0].length
        check(held)
        const field = onRetry && fieldOf(line)
        if (field && field[0] === 'retry' && ASCII_DIGITS.test(field[1])) // §9.2.6: in effect as soon as it is read
          onRetry!(Number(field[1]))
      }
      else if (lines.length) {
        const frame = parseFrame(lines.join('\n'), bytes)
        lines = []
        held = 0
        bytes = 0
        if (onFrame(frame) === true) {
          stopped = true
          return true
        }
      }
      line = ''
      lineBytes = 0
    }
    afterCR = text.endsWith('\r')
    const rest = text.slice(from)
    line += rest
    lineBytes += byteLength(rest)
    check(held + lineBytes)
    return false
  }
}

/** How a read ended: the server closed the stream, or `onFrame` returned `true`. */
export type StreamEnd = 'ended' | 'stopped'

/** {@link readEventStream}'s options: the splitter's, and a signal. */
export interface ReadEventStreamOptions extends FrameSplitterOptions {
  /** Aborting it cancels the body and rejects the read with `signal.reason`. */
  signal?: AbortSignal
}

/**
 * Reads an event stream (e.g. a fetch `Response.body`) to its end, handing each frame to
 * `onFrame` as it arrives; decoding, BOM, line ends, frames, the buffer bound and `onRetry`
 * as in {@link frameSplitter} (WHATWG HTML §9.2.5, §9.2.6).
 * @param body The response body, bytes. The reader locks it.
 * @param onFrame Called with every frame, events or not (`frame.dispatch`); return `true` to stop.
 * @param options An `AbortSignal`, or `{ signal, maxBufferSize, onRetry }`
 *   ({@link ReadEventStreamOptions}): aborting the signal cancels the body and rejects with
 *   `signal.reason`; `maxBufferSize` bounds one unfinished frame (bytes, default 1 MiB);
 *   `onRetry(ms)` hears each valid `retry` line as soon as it is read.
 * @returns `'ended'` when the body closed (an unfinished last frame is dropped), or
 *   `'stopped'` when `onFrame` returned `true`; the body is then cancelled, which releases
 *   the connection.
 * @throws The body's error (a network failure; the fetch's `AbortError` when its request was
 *   aborted), `signal.reason`, an {@link SseBufferOverflowError} when a frame outgrows
 *   `maxBufferSize`, or what `onFrame` or `onRetry` threw; the body is cancelled in each case.
 */
export async function readEventStream(body: ReadableStream<Uint8Array>, onFrame: FrameHandler, options?: AbortSignal | ReadEventStreamOptions): Promise<StreamEnd> {
  const { signal, ...splitOptions }: ReadEventStreamOptions = options instanceof AbortSignal ? { signal: options } : options ?? {}
  const reader = body.getReader()
  const push = frameSplitter(onFrame, splitOptions)
  let open = true
  const onAbort = () => void reader.cancel(signal?.reason).catch(() => {})
  signal?.addEventListener('abort', onAbort, { once: true })
  try {
    for (;;) {
      signal?.throwIfAborted()
      const { value, done } = await reader.read()
      signal?.throwIfAborted()
      if (done) {
        open = false
        return 'ended'
      }
      if (push(value))
        return 'stopped'
    }
  }
  finally {
    signal?.removeEventListener('abort', onAbort)
    if (open)
      void reader.cancel().catch(() => {})
  }
}
