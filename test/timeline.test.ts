import { describe, expect, it } from 'vitest'
import { axisTicks, fitSpan, inSpan, markKind, windowKeeping } from '../composables/timeline-scale.ts'

// The timeline a learner reads alone (components/TrafficTimeline.vue): an axis fitted to what it
// shows, from the first mark, a window that slides, and a legend that tells the marks apart.

const req = (start: number, end?: number) => ({ kind: 'request' as const, start, end })

describe('the timeline\'s axis', () => {
  it('starts at the first mark, not at the slide\'s clock zero, and ends just after the last', () => {
    // Two pings 8 s after the slide was entered, 1 s apart.
    const span = fitSpan([req(8000, 8012), req(9000, 9010)], 9010)!
    expect(span.origin).toBe(8000)
    expect(span.from).toBe(8000)
    expect(span.to).toBeGreaterThan(9010)
    expect(span.to - span.from).toBeLessThan(1100) // about 1 s, not 0-12 s
    expect(axisTicks(span, 8)[0]).toEqual({ t: 8000, label: '0' })
  })

  it('shows one quick request on a 1 s axis, not stretched across the width', () => {
    const span = fitSpan([req(500, 505)], 505)!
    expect(span.to - span.from).toBe(1000)
    expect(axisTicks(span, 8).map(t => t.label)).toEqual(['0', '200 ms', '400 ms', '600 ms', '800 ms', '1000 ms'])
  })

  it('labels seconds on a long axis, on round steps it has room for', () => {
    const span = fitSpan([req(0, 12_000)], 12_000)!
    const labels = axisTicks(span, 7).map(t => t.label)
    expect(labels).toEqual(['0', '2 s', '4 s', '6 s', '8 s', '10 s', '12 s'])
  })

  it('slides a window past its length: old marks leave instead of piling up at the left edge', () => {
    const old = req(0, 100)
    const recent = req(20_000, 20_100)
    const span = fitSpan([old, recent], 20_100, { windowMs: 5000 })!
    expect(span.to - span.from).toBe(5000)
    expect(inSpan(span, old, 20_100)).toBe(false)
    expect(inSpan(span, recent, 20_100)).toBe(true)
  })

  it('keeps two runs side by side however long a busy machine made them, then lets them slide on', () => {
    // The sync/async slide at load 15 on 2 cores: 7.5 s computing on the loop, then 13.6 s on a worker,
    // with a heartbeat every 100 ms throughout; its window is 12 s.
    const onLoop = req(1000, 8500)
    const onWorker = req(8600, 22_200)
    const beats = Array.from({ length: 230 }, (_, i) => req(i * 100, i * 100 + 20))
    const now = 22_450
    expect(inSpan(fitSpan([...beats, onLoop, onWorker], now, { windowMs: 12_000 })!, onLoop, now)).toBe(false) // the plain window lost it
    const span = fitSpan([...beats, onLoop, onWorker], now, { windowMs: windowKeeping([onLoop, onWorker], now, 12_000) })!
    expect(inSpan(span, onLoop, now)).toBe(true)
    expect(inSpan(span, onWorker, now)).toBe(true)
    // On an idle machine (runs of 1.2 and 1.1 s) it is the plain window.
    expect(windowKeeping([req(1000, 2200), req(2300, 3400)], 3600, 12_000)).toBe(12_000)
    // While the worker run is still going, it reaches `now`.
    expect(windowKeeping([onLoop, req(8600)], 30_000, 12_000)).toBeGreaterThan(29_000)
    // Fully in view for some 6 s after the last run ended, as on an idle machine; gone some 14 s after.
    const later = 22_200 + 14_000
    const laterBeats = [...beats, ...Array.from({ length: 140 }, (_, i) => req(22_300 + i * 100, 22_320 + i * 100))]
    expect(inSpan(fitSpan([...laterBeats, onLoop, onWorker], later, { windowMs: windowKeeping([onLoop, onWorker], later, 12_000) })!, onLoop, later)).toBe(false)
  })

  it('draws nothing before `since` is known (a demo\'s first click), and from it once it is', () => {
    const stream = { kind: 'stream' as const, start: 0 } // a subscriber's stream, held since the slide opened
    expect(fitSpan([stream], 30_000, { since: null })).toBeNull()
    const span = fitSpan([stream, req(30_000, 30_020)], 30_020, { since: 30_000 })!
    expect(span.from).toBe(30_000)
    expect(inSpan(span, stream, 30_020)).toBe(true) // drawn from the left edge on
  })

  it('does not stretch the axis with a stream still held, but does with a request still waiting', () => {
    const held = { kind: 'stream' as const, start: 0 }
    expect(fitSpan([held, req(0, 200)], 60_000)!.to).toBeLessThan(2000)
    expect(fitSpan([req(0)], 60_000)!.to).toBeGreaterThanOrEqual(60_000)
  })

  it('tells each mark apart for the legend', () => {
    expect(markKind({ kind: 'request', end: 5, status: 200 })).toBe('answered')
    expect(markKind({ kind: 'request', end: undefined })).toBe('waiting')
    expect(markKind({ kind: 'request', end: 5, status: 503 })).toBe('refused')
    expect(markKind({ kind: 'request', end: 5, error: 'network error' })).toBe('failed')
    expect(markKind({ kind: 'stream', end: undefined })).toBe('stream')
    expect(markKind({ kind: 'event', end: 5 })).toBe('tick')
  })
})
