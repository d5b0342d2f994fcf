import type { Recording } from '../composables/replay.ts'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { playRecording, stepCount, stepEnd } from '../composables/replay.ts'
import { TrafficLog } from '../composables/traffic.ts'

// A recorded run replays as the presenter ran it live: one clicker step per click, waiting in
// between (composables/replay.ts), at the speed it was recorded.

/** A run of two clicker steps: a request in each, step 2 at 1 s; the run ends at 1.5 s. */
function twoStepRun(): Recording {
  const e = (id: number, start: number, end: number) => ({ id, lane: 'client', kind: 'request' as const, label: `GET /${id}`, sentBytes: 0, receivedBytes: 2, status: 200, start, end })
  return {
    format: 1,
    demo: 'test',
    recordedAt: '2026-12-01T00:00:00.000Z',
    recordedWith: {},
    durationMs: 1500,
    steps: [{ click: 1, t: 0 }, { click: 2, t: 1000 }],
    takes: [{ at: 0, entries: [e(1, 100, 200), e(2, 1000, 1200)] }],
    // The state sampled as step 2 began, at its mark: it belongs to step 1.
    states: [{ t: 0, set: [[['runs'], 0]] }, { t: 1000, set: [[['runs'], 1]] }, { t: 1250, set: [[['runs'], 2]] }],
    final: { runs: 2 },
  }
}

describe('a replay of a run with two clicker steps', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] })
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('plays step 1, waits (its clock stopped) for the next click, then plays step 2 from where it stopped', () => {
    const rec = twoStepRun()
    expect(stepCount(rec)).toBe(2)
    expect(stepEnd(rec, 1)).toBe(1000)
    expect(stepEnd(rec, 2)).toBe(Number.POSITIVE_INFINITY)
    const log = new TrafficLog()
    const state: Record<string, unknown> = {}
    const events = { paused: vi.fn(), ended: vi.fn() }
    const playback = playRecording(rec, log, set => Object.assign(state, set), events, stepEnd(rec, 1))

    vi.advanceTimersByTime(1000)
    expect(events.paused).toHaveBeenCalledWith(1000)
    // Step 2's request, sent the moment step 2 began, waits for the click.
    expect(log.entries.value.map(e => e.label)).toEqual(['GET /1'])
    expect(state.runs).toBe(1)
    // The room talks for a minute: nothing moves, the clock included.
    vi.advanceTimersByTime(60_000)
    expect(log.now()).toBe(1000)
    expect(log.entries.value).toHaveLength(1)

    playback.playTo(stepEnd(rec, 2))
    vi.advanceTimersByTime(150)
    expect(log.entries.value.map(e => e.label)).toEqual(['GET /1', 'GET /2'])
    expect(log.entries.value[1]!.start).toBe(1000) // where it was in the run, not a minute later
    vi.advanceTimersByTime(400)
    expect(events.ended).toHaveBeenCalledOnce()
    expect(state.runs).toBe(2)
    expect(log.now()).toBe(1500)
  })

  it('plays whole, in real time, when the recording has no step marks', () => {
    const { steps: _steps, ...rec } = twoStepRun()
    expect(stepEnd(rec, 1)).toBe(Number.POSITIVE_INFINITY)
    const events = { paused: vi.fn(), ended: vi.fn() }
    playRecording(rec, new TrafficLog(), () => {}, events, stepEnd(rec, 1))
    vi.advanceTimersByTime(1499)
    expect(events.ended).not.toHaveBeenCalled()
    vi.advanceTimersByTime(1)
    expect(events.paused).not.toHaveBeenCalled()
    expect(events.ended).toHaveBeenCalledOnce()
  })
})
