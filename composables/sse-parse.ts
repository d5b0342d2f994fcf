// Pure Server-Sent Events parsing, free of browser-only imports: the deck's reader
// (composables/sse.ts) and the tests' readers (test/support) share it.
import { byteLength } from './traffic'

/** One Server-Sent Events frame as it came off the wire (comments included). */
export interface SseFrame {
  raw: string
  bytes: number
  id?: string
  event?: string
  data?: string
  retry?: number
  comment?: string
}

/**
 * Parses one frame (the text between two blank lines) field by field, as EventSource does:
 * `data` lines join with newlines, a leading space after the colon is dropped, a `retry`
 * that is not a number is ignored, and a `:` line is a comment.
 */
export function parseFrame(raw: string): SseFrame {
  const f: SseFrame = { raw, bytes: byteLength(`${raw}\n\n`) }
  for (const line of raw.split('\n')) {
    if (line.startsWith(':')) {
      f.comment = line.slice(1).trim()
      continue
    }
    const i = line.indexOf(':')
    const field = i < 0 ? line : line.slice(0, i)
    const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '')
    if (field === 'id')
      f.id = value
    else if (field === 'event')
      f.event = value
    else if (field === 'data')
      f.data = f.data === undefined ? value : `${f.data}\n${value}`
    else if (field === 'retry' && /^\d+$/.test(value))
      f.retry = Number(value)
  }
  return f
}
