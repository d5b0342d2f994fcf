// The event-stream reader (wire/sse.ts) against the WHATWG HTML rules,
// §9.2.5 "Parsing an event stream" and §9.2.6 "Interpreting an event stream": every case is
// fed as a real ReadableStream, whole, byte by byte, and split in two at every byte.
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { SseFrame } from '../wire/sse.ts'
import { once } from 'node:events'
import { createServer } from 'node:http'
import { describe, expect, it } from 'vitest'
import { DEFAULT_MAX_BUFFER_SIZE, frameSplitter, isHeaderValue, lastEventIdHeader, parseFrame, readEventStream, SseBufferOverflowError } from '../wire/sse.ts'

const utf8 = (text: string) => new TextEncoder().encode(text)

/** A stream that hands out one chunk per read, as a network would. */
function streamOf(chunks: Uint8Array[], onCancel?: (reason: unknown) => void): ReadableStream<Uint8Array> {
  const queue = [...chunks]
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = queue.shift()
      if (next)
        controller.enqueue(next)
      else
        controller.close()
    },
    cancel: onCancel,
  }, { highWaterMark: 0 })
}

/** Every way the wire is cut into chunks here: whole, byte by byte, and in two at each byte. */
function chunkings(wire: Uint8Array): Array<[string, Uint8Array[]]> {
  const ways: Array<[string, Uint8Array[]]> = [
    ['in one chunk', [wire]],
    ['byte by byte', Array.from(wire, b => Uint8Array.of(b))],
  ]
  for (let at = 1; at < wire.length; at++)
    ways.push([`split at byte ${at}`, [wire.slice(0, at), wire.slice(at)]])
  return ways
}

/** The frames the reader hands over for `chunks`, and how the read ended. */
async function read(chunks: Uint8Array[]): Promise<{ frames: SseFrame[], end: string }> {
  const frames: SseFrame[] = []
  const end = await readEventStream(streamOf(chunks), (f) => {
    frames.push(f)
  })
  return { frames, end }
}

/** What a frame says, without its raw text and size (checked on their own below). */
function meaning({ raw: _raw, bytes: _bytes, ...rest }: SseFrame) {
  return rest
}

interface Case {
  /** The behaviour, as a sentence. */
  rule: string
  wire: string | Uint8Array
  frames: object[]
}

const message = (data: string, extra: Partial<SseFrame> = {}) => ({ dispatch: true, type: 'message', data, ...extra })
const noEvent = (extra: Partial<SseFrame> = {}) => ({ dispatch: false, ...extra })

const cases: Case[] = [
  // BOM
  { rule: 'one leading BOM (U+FEFF) at the start of the stream is stripped', wire: '\uFEFFdata: a\n\n', frames: [message('a')] },
  { rule: 'only one BOM is stripped: a second one makes the first field name unknown', wire: '\uFEFF\uFEFFdata: a\n\ndata: b\n\n', frames: [noEvent(), message('b')] },
  { rule: 'a BOM after the start of the stream is not stripped', wire: 'data: a\n\n\uFEFFdata: b\n\n', frames: [message('a'), noEvent()] },
  // line ends
  { rule: 'LF, CR and CRLF all end a line', wire: 'data: a\ndata: b\rdata: c\r\ndata: d\n\n', frames: [message('a\nb\nc\nd')] },
  { rule: 'a blank line may end in LF, CR or CRLF', wire: 'data: a\n\ndata: b\r\rdata: c\r\n\r\n', frames: [message('a'), message('b'), message('c')] },
  { rule: 'CRLF is one line end, even when the CR ends one chunk and the LF starts the next', wire: 'data: a\r\ndata: b\r\n\r\n', frames: [message('a\nb')] },
  { rule: 'CR CR LF is a line end and then a blank line', wire: 'data: a\r\r\ndata: b\r\n\r\n', frames: [message('a'), message('b')] },
  { rule: 'extra blank lines between frames hand over nothing', wire: '\n\r\ndata: a\n\n\n\r\rdata: b\n\n', frames: [message('a'), message('b')] },
  // comments
  { rule: 'a comment-only frame is handed over but dispatches no event', wire: ': heartbeat\n\n', frames: [noEvent({ comment: 'heartbeat' })] },
  { rule: 'a comment inside an event does not change its data', wire: ': one\ndata: x\n:two\n\n', frames: [message('x', { comment: 'two' })] },
  { rule: 'a line starting with a colon is a comment even when it looks like a field', wire: ':data: no\n\n', frames: [noEvent({ comment: 'data: no' })] },
  // id
  { rule: 'an id is kept as sent', wire: 'id: 42\ndata: x\n\n', frames: [message('x', { id: '42' })] },
  { rule: 'an id whose value contains U+0000 NULL is ignored', wire: 'id: 4\u00002\ndata: x\n\n', frames: [message('x')] },
  { rule: 'an id with NULL leaves the previous id of the frame in place', wire: 'id: 7\nid: \u0000\ndata: x\n\n', frames: [message('x', { id: '7' })] },
  { rule: 'an empty id is kept (it resets the last event id)', wire: 'id\ndata: x\n\n', frames: [message('x', { id: '' })] },
  { rule: 'an id-only frame carries its id but dispatches no event', wire: 'id: 9\n\n', frames: [noEvent({ id: '9' })] },
  // retry
  { rule: 'a retry of ASCII digits is the reconnection time in ms', wire: 'retry: 1500\n\n', frames: [noEvent({ retry: 1500 })] },
  { rule: 'a retry with a non-digit is ignored', wire: 'retry: 15a\n\nretry: -1\n\nretry: 1.5\n\nretry: 1e3\n\n', frames: [noEvent(), noEvent(), noEvent(), noEvent()] },
  { rule: 'an empty retry or one with an extra space is ignored', wire: 'retry:\n\nretry:  100\n\n', frames: [noEvent(), noEvent()] },
  { rule: 'a retry of non-ASCII digits is ignored', wire: 'retry: \u0661\u0662\n\n', frames: [noEvent()] },
  { rule: 'an invalid retry leaves the previous retry of the frame in place', wire: 'retry: 300\nretry: x\n\n', frames: [noEvent({ retry: 300 })] },
  // event and dispatch
  { rule: 'a frame with event but no data dispatches no event', wire: 'event: done\n\n', frames: [noEvent({ event: 'done' })] },
  { rule: 'a frame with event and id but no data dispatches no event either', wire: 'id: 3\nevent: done\n\ndata: next\n\n', frames: [noEvent({ id: '3', event: 'done' }), message('next')] },
  { rule: 'an event field names the event type', wire: 'event: progress\ndata: {}\n\n', frames: [{ dispatch: true, type: 'progress', event: 'progress', data: '{}' }] },
  { rule: 'an empty event field dispatches as message', wire: 'event:\ndata: x\n\n', frames: [message('x', { event: '' })] },
  { rule: 'the last event field of a frame wins', wire: 'event: a\nevent: b\ndata: x\n\n', frames: [{ dispatch: true, type: 'b', event: 'b', data: 'x' }] },
  // data
  { rule: 'data lines are joined with LF', wire: 'data: one\ndata: two\ndata: three\n\n', frames: [message('one\ntwo\nthree')] },
  { rule: 'an empty data line dispatches an event with empty data', wire: 'data:\n\n', frames: [message('')] },
  { rule: 'empty data lines count as lines when joined', wire: 'data: a\ndata:\ndata: b\n\n', frames: [message('a\n\nb')] },
  // field syntax
  { rule: 'a field without a colon has an empty value', wire: 'data\n\n', frames: [message('')] },
  { rule: 'a field name without a colon is matched whole', wire: 'data x\n\n', frames: [noEvent()] },
  { rule: 'one space after the colon is removed, a second one is kept', wire: 'data:  two\n\n', frames: [message(' two')] },
  { rule: 'no space after the colon is fine', wire: 'data:tight\n\n', frames: [message('tight')] },
  { rule: 'only the first colon separates name and value', wire: 'data: a: b\n\n', frames: [message('a: b')] },
  { rule: 'a tab after the colon is part of the value', wire: 'data:\tx\n\n', frames: [message('\tx')] },
  { rule: 'unknown fields are ignored, and field names are case-sensitive', wire: 'foo: bar\nData: no\ndata: yes\n\nfoo: bar\n\n', frames: [message('yes'), noEvent()] },
  // decoding and the end of the stream
  { rule: 'UTF-8 is decoded as a stream, characters split across chunks included', wire: 'data: h\u00E9llo \u20AC \u{1F600}\n\n', frames: [message('h\u00E9llo \u20AC \u{1F600}')] },
  { rule: 'invalid UTF-8 becomes U+FFFD', wire: Uint8Array.of(...utf8('data: '), 0xFF, ...utf8('!\n\n')), frames: [message('\uFFFD!')] },
  { rule: 'an unfinished frame at the end of the stream is dropped', wire: 'data: a\n\ndata: b\n', frames: [message('a')] },
]

describe('readEventStream follows the WHATWG event-stream parsing rules', () => {
  it.each(cases)('$rule', async ({ wire, frames }) => {
    const bytes = typeof wire === 'string' ? utf8(wire) : wire
    for (const [how, chunks] of chunkings(bytes)) {
      const got = await read(chunks)
      expect(got.frames.map(meaning), how).toEqual(frames)
      expect(got.end, how).toBe('ended')
    }
  })
})

describe('frames keep their raw text and their size on the wire', () => {
  it('raw is the frame\'s lines joined with LF, without the blank line', async () => {
    const { frames } = await read([utf8('retry: 2000\n\nid: 1\r\nevent: progress\r\ndata: {}\r\n\r\n: hi\n\n')])
    expect(frames.map(f => f.raw)).toEqual(['retry: 2000', 'id: 1\nevent: progress\ndata: {}', ': hi'])
  })

  it('bytes counts each frame as sent, CRLF line ends as two bytes', async () => {
    const wire = ['retry: 2000\n\n', 'id: 1\r\nevent: progress\r\ndata: \u20AC\r\n\r\n', ': hi\r\r']
    const { frames } = await read([utf8(wire.join(''))])
    expect(frames.map(f => f.bytes)).toEqual(wire.map(w => utf8(w).length))
  })

  it('a leading BOM and extra blank lines count toward the next frame', async () => {
    const { frames } = await read([utf8('\uFEFF\n\ndata: a\r\n\r\n\r\ndata: b\n\n')])
    expect(frames.map(f => f.bytes)).toEqual([3 + 2 + 11, 2 + 9])
  })

  it('however the stream is cut, its frames add up to its bytes (a frame\'s split CRLF ending counts toward the next)', async () => {
    const wire = utf8('\uFEFF\n\ndata: a\r\n\r\n\r\ndata: \u20AC\r\n\r\n: end\n\n')
    for (const [how, chunks] of chunkings(wire)) {
      const { frames } = await read(chunks)
      expect(frames.map(f => f.data ?? f.comment), how).toEqual(['a', '\u20AC', 'end'])
      expect(frames.reduce((n, f) => n + f.bytes, 0), how).toBe(wire.length)
    }
  })

  it('parseFrame alone sizes a frame as its text plus a LF blank line', () => {
    expect(parseFrame('retry: 2000')).toEqual({ raw: 'retry: 2000', bytes: 13, retry: 2000, dispatch: false })
    expect(parseFrame('data: \u20AC').bytes).toBe(11)
  })
})

describe('the reader hands frames over as they arrive and stops when asked', () => {
  it('a frame is handed over as soon as its blank line arrives, even one ending in a lone CR', () => {
    const frames: SseFrame[] = []
    const push = frameSplitter((f) => {
      frames.push(f)
    })
    push(utf8('data: a\n'))
    expect(frames).toEqual([])
    push(utf8('\ndata: b\r\r'))
    expect(frames.map(f => f.data)).toEqual(['a', 'b'])
    push(utf8('\ndata: c\n\n')) // that LF completes the CRLF, it is not another blank line
    expect(frames.map(f => f.data)).toEqual(['a', 'b', 'c'])
  })

  it('returning true from onFrame stops the read, cancels the body and resolves "stopped"', async () => {
    const seen: string[] = []
    let cancelled = false
    const body = streamOf([utf8('data: 1\n\ndata: 2\n\ndata: 3\n\n')], () => (cancelled = true))
    const end = await readEventStream(body, (f) => {
      seen.push(f.data!)
      return f.data === '2'
    })
    expect(end).toBe('stopped')
    expect(seen).toEqual(['1', '2'])
    expect(cancelled).toBe(true)
  })

  it('a splitter that was stopped ignores what it is given next', () => {
    const seen: string[] = []
    const push = frameSplitter((f) => {
      seen.push(f.data!)
      return true
    })
    expect(push(utf8('data: 1\n\ndata: 2\n\n'))).toBe(true)
    expect(push(utf8('data: 3\n\n'))).toBe(true)
    expect(seen).toEqual(['1'])
  })

  it('a body that fails rejects the read with its error', async () => {
    const failure = new TypeError('terminated')
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(utf8('data: 1\n\n'))
        controller.error(failure)
      },
    })
    const seen: string[] = []
    await expect(readEventStream(body, (f) => {
      seen.push(f.data!)
    })).rejects.toBe(failure)
  })

  it('an aborted signal cancels the body and rejects with its reason', async () => {
    let cancelled: unknown
    const body = new ReadableStream<Uint8Array>({ cancel: (reason) => {
      cancelled = reason
    } }) // never sends anything
    const controller = new AbortController()
    const reading = readEventStream(body, () => {}, controller.signal)
    const reason = new Error('slide left')
    controller.abort(reason)
    await expect(reading).rejects.toBe(reason)
    expect(cancelled).toBe(reason)
  })

  it('what onFrame throws rejects the read and cancels the body', async () => {
    let cancelled = false
    const body = streamOf([utf8('data: {not json\n\n')], () => (cancelled = true))
    await expect(readEventStream(body, f => JSON.parse(f.data!))).rejects.toThrow(SyntaxError)
    expect(cancelled).toBe(true)
  })
})

describe('over a real HTTP response', () => {
  /** A server that writes `writes` one at a time, 5 ms apart, then holds the response open. */
  async function serve(writes: string[], onClose: () => void): Promise<{ url: string, server: Server }> {
    const server = createServer(async (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' })
      res.once('close', onClose)
      for (const w of writes) {
        res.write(w)
        await new Promise(r => setTimeout(r, 5))
      }
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server }
  }

  it('reads a fetch body written in awkward pieces, and stopping lets the server see the client leave', async () => {
    let left!: () => void
    const gone = new Promise<void>(resolve => (left = resolve))
    const { url, server } = await serve(['\uFEFFretry: 10', '00\r', '\n\r', '\nid: 1\r\nevent: progress\r\ndata: {"p":', '50}\r\n\r', '\n: beat\n\nid: 2\nevent: done\ndata: {}\n\n'], () => left())
    try {
      const res = await fetch(url)
      const frames: SseFrame[] = []
      const end = await readEventStream(res.body!, (f) => {
        frames.push(f)
        return f.type === 'done'
      })
      expect(end).toBe('stopped')
      expect(frames.map(meaning)).toEqual([
        noEvent({ retry: 1000 }),
        { dispatch: true, type: 'progress', event: 'progress', id: '1', data: '{"p":50}' },
        noEvent({ comment: 'beat' }),
        { dispatch: true, type: 'done', event: 'done', id: '2', data: '{}' },
      ])
      await gone
    }
    finally {
      server.closeAllConnections()
      server.close()
    }
  })
})

describe('the reader bounds what it holds of an unfinished frame (maxBufferSize)', () => {
  /** `size` bytes of one `data:` line that no blank line ever ends, in 64 KiB chunks. */
  function endlessLine(size: number): Uint8Array[] {
    const chunks = [utf8('data: ')]
    for (let sent = 6; sent < size; sent += 65536)
      chunks.push(new Uint8Array(Math.min(65536, size - sent)).fill(0x78)) // 'x'
    return chunks
  }

  it('a server that never sends a blank line fails the read past the default 1 MiB and the body is cancelled', async () => {
    expect(DEFAULT_MAX_BUFFER_SIZE).toBe(1024 * 1024)
    let cancelled: unknown = 'not cancelled'
    const body = streamOf(endlessLine(DEFAULT_MAX_BUFFER_SIZE + 65536), reason => (cancelled = reason))
    const frames: SseFrame[] = []
    const reading = readEventStream(body, (f) => {
      frames.push(f)
    })
    await expect(reading).rejects.toThrow(SseBufferOverflowError)
    await expect(reading).rejects.toThrow(/over the 1048576-byte limit \(maxBufferSize\)/)
    expect(cancelled).toBeUndefined() // cancel() was called (with no reason)
    expect(frames).toEqual([])
  })

  it('the bound counts one frame\'s lines and line ends, however the stream is cut: a frame at the limit passes, one byte more fails', async () => {
    const fits = 'data: abc\r\nid: 1\n' // 17 bytes before the blank line
    for (const [how, chunks] of chunkings(utf8(`: skipped\n\n\n${fits}\n${fits}\n`))) {
      const frames: SseFrame[] = []
      await readEventStream(streamOf(chunks), f => void frames.push(f), { maxBufferSize: 17 })
      expect(frames.map(meaning), how).toEqual([noEvent({ comment: 'skipped' }), message('abc', { id: '1' }), message('abc', { id: '1' })])
    }
    for (const [how, chunks] of chunkings(utf8(`data: a\n\n${fits}\n`))) {
      const frames: SseFrame[] = []
      const reading = readEventStream(streamOf(chunks), f => void frames.push(f), { maxBufferSize: 16 })
      await expect(reading, how).rejects.toMatchObject({ name: 'SseBufferOverflowError', limit: 16 })
      expect(frames.map(meaning), how).toEqual([message('a')])
    }
  })

  it('a splitter past its bound throws the same error on every later call', () => {
    const push = frameSplitter(() => {}, { maxBufferSize: 8 })
    expect(push(utf8('data: 1\n\n'))).toBe(false)
    let first: unknown
    try {
      push(utf8('data: 123'))
    }
    catch (error) {
      first = error
    }
    expect(first).toBeInstanceOf(SseBufferOverflowError)
    expect(() => push(utf8('\n\n'))).toThrow(first as Error)
  })
})

describe('a retry line takes effect when it is read (WHATWG HTML §9.2.6), not when its frame ends', () => {
  it('onRetry hears a retry at once, before its frame ends, and even when that frame never ends', () => {
    const heard: Array<number | string> = []
    const push = frameSplitter(f => void heard.push(`frame ${f.retry}`), { onRetry: ms => heard.push(ms) })
    push(utf8('retry: 1500\n'))
    expect(heard).toEqual([1500])
    push(utf8('data: x\n\nretry: 700\r'))
    expect(heard).toEqual([1500, 'frame 1500', 700])
    push(utf8('\nretry: 12'))
    expect(heard).toEqual([1500, 'frame 1500', 700]) // a line is only read once its line end arrives
  })

  it('readEventStream reports every valid retry of a stream whose last frame never ends, and keeps them on the frames too', async () => {
    const wire = utf8('retry: 300\nretry: x\nretry: 1e3\ndata: a\n\nretry: \u0661\nretry:  5\nretry: 4000\ndata: never dispatched\n')
    for (const [how, chunks] of chunkings(wire)) {
      const retries: number[] = []
      const frames: SseFrame[] = []
      const end = await readEventStream(streamOf(chunks), f => void frames.push(f), { onRetry: ms => retries.push(ms) })
      expect(end, how).toBe('ended')
      expect(retries, how).toEqual([300, 4000])
      expect(frames.map(meaning), how).toEqual([message('a', { retry: 300 })])
    }
  })

  it('an AbortSignal is still accepted in place of the options', async () => {
    const controller = new AbortController()
    const reading = readEventStream(new ReadableStream<Uint8Array>(), () => {}, controller.signal)
    controller.abort(new Error('left'))
    await expect(reading).rejects.toThrow('left')
  })
})

describe('Last-Event-ID: an id that fetch cannot send as it is', () => {
  it('isHeaderValue tells a ByteString fetch accepts unchanged from one it rejects or trims', () => {
    expect(['7', '4@amq.gen-AbC_1', '\u00E97', ''].map(isHeaderValue)).toEqual([true, true, true, true])
    expect(['\u20AC7', '\u{1F600}', ' 7', '7\t', 'a\nb'].map(isHeaderValue)).toEqual([false, false, false, false, false])
  })

  it('lastEventIdHeader sends the id\'s UTF-8 bytes, as EventSource does, and none for an empty id', () => {
    expect(lastEventIdHeader('42')).toBe('42')
    expect(lastEventIdHeader('\u20AC7')).toBe('\u00E2\u0082\u00AC7')
    expect(lastEventIdHeader('')).toBeUndefined()
  })

  it('an id like \u20AC7 makes fetch reject as it is, and crosses a real request intact through lastEventIdHeader', async () => {
    const server = createServer((req, res) => res.end(Buffer.from(req.headers['last-event-id'] as string, 'latin1').toString('utf8')))
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    try {
      await expect(fetch(url, { headers: { 'Last-Event-ID': '\u20AC7' } })).rejects.toThrow(TypeError)
      const header = lastEventIdHeader('\u20AC7')!
      expect(isHeaderValue(header)).toBe(true)
      expect(await (await fetch(url, { headers: { 'Last-Event-ID': header } })).text()).toBe('\u20AC7')
    }
    finally {
      server.close()
    }
  })
})
