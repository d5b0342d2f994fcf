import type { Ref } from 'vue'
import type { Demo } from './demo'
import type { TrafficLog } from './traffic'

/**
 * A demo that runs once, then is cleared: `run` (the clicker's step 1) empties the arrays of
 * `state` and the log, then runs `fn`; `reset` (step 2) empties them again, unless a run is
 * going. `state` is also what the demo records, under `id`: the recorded run is click 1.
 * Returns the run's action (`run`, `running`, `error`, `idle`) and `reset`.
 */
export function useClearableRun(demo: Demo, id: string, state: Record<string, Ref<unknown[]>>, fn: () => Promise<unknown>) {
  const clear = () => {
    for (const r of Object.values(state)) r.value = []
    demo.log.clear()
  }
  const action = demo.action(async () => {
    clear()
    await fn()
  })
  function reset(): void {
    if (!action.running.value)
      clear()
  }
  demo.onClicks({ 1: action.run, 2: reset })
  demo.recordable(id, state, { steps: [1] })
  return { ...action, reset }
}

/** One span a demo server measured, in ms since the run began on its side. */
export interface ServerSpan {
  lane: string
  label: string
  startMs: number
  endMs: number
}

/**
 * Draws spans the demo server measured as answered requests (status 200) on `log`, from `t0`
 * (the log's time, ms, when the browser asked for the run).
 */
export function drawSpans(log: TrafficLog, t0: number, spans: ServerSpan[]): void {
  for (const s of spans)
    log.begin({ lane: s.lane, kind: 'request', label: s.label, start: t0 + s.startMs, end: t0 + s.endMs, status: 200 })
}
