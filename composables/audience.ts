import type { Ref } from 'vue'
import type { AudienceStats } from '../wire/audience'
import type { Demo } from './demo'
import { ref } from 'vue'

/** What `GET /audience/state` answers: the room, or `{ on: false }` when audience mode is off. */
export type AudienceState = AudienceStats | { on: false }

/**
 * The room as the big screen sees it: `GET /audience/state` every `intervalMs` while the slide
 * is active (the next poll `intervalMs` after the previous answer or failure; a failed poll
 * keeps the last state), then `then(state)` if given (awaited before the next poll). Not drawn on
 * the timeline. Without a demo server (a static copy) the state is `{ on: false }` at once.
 * Returns the state: null until the first answer.
 */
export function useAudienceState(demo: Demo, intervalMs: number, then?: (state: AudienceState) => Promise<void>): Ref<AudienceState | null> {
  const state = ref<AudienceState | null>(null)
  demo.whileActive(() => {
    if (!demo.url) { // a static copy: no demo server, no phones
      state.value = { on: false }
      return
    }
    let timer: ReturnType<typeof setTimeout> | undefined
    const poll = async () => {
      try {
        const res = await fetch(`${demo.url}/audience/state`, { signal: demo.signal(), cache: 'no-store' })
        state.value = await res.json() as AudienceState
        await then?.(state.value)
      }
      catch {}
      timer = setTimeout(poll, intervalMs)
    }
    void poll()
    return () => clearTimeout(timer)
  })
  return state
}
