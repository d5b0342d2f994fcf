import type { ComputedRef } from 'vue'
import type { Demo } from './demo'
import type { Prediction } from '../wire/predictions'
import { computed, ref } from 'vue'
import { PREDICTIONS, predictionFor } from '../wire/predictions'

/** What a demo slide's prediction says now: the question, and once the run measured enough, the option it proved. */
export interface PredictionView {
  /** The demo's prediction (wire/predictions.ts); undefined for a demo that asks none (the appendix's). */
  prediction: ComputedRef<Prediction<any> | undefined>
  /** The option id the run proved, from the demo's state as it is now (live, mirrored or replayed); null until then. */
  answer: ComputedRef<string | null>
  /** The one-line reason, with the measured numbers; '' until `answer`. */
  reason: ComputedRef<string>
  /** The run proved something other than what a run usually shows (`prediction.expected`). */
  unusual: ComputedRef<boolean>
}

/**
 * A demo's prediction, answered from its state (`demo.state()`, what `recordable` named), live:
 * the answer follows the run as it goes, null until it has measured enough. A recorded run answers
 * between its steps as the live run does after each click (a learner who stops at "▶ Step 2 of 2"
 * still hears the verdict), never while a step plays (test/predictions.test.ts checks that no step's
 * answer differs from the end's). An answer (or reason)
 * function that throws (a state it was not written for) counts as not answered (no reason) yet, and
 * says why in the console.
 */
export function usePrediction(demo: Demo): PredictionView {
  const prediction = computed(() => demo.id.value === undefined ? undefined : predictionFor(demo.id.value))
  // A recorded run answers where it stops (between steps, or at its end), not while a step plays.
  const replaying = computed(() => demo.mode.value === 'replay' && demo.playing.value)
  const answer = computed(() => {
    const p = prediction.value
    if (!p || replaying.value)
      return null
    try {
      return p.answer(demo.state())
    }
    catch (err) {
      console.warn(`[prediction] ${p.demo}: answer failed: ${(err as Error).message}`)
      return null
    }
  })
  const reason = computed(() => {
    if (answer.value === null)
      return ''
    try {
      return prediction.value!.reason(demo.state())
    }
    catch (err) {
      console.warn(`[prediction] ${prediction.value!.demo}: reason failed: ${(err as Error).message}`)
      return ''
    }
  })
  const unusual = computed(() => answer.value !== null && !!prediction.value?.expected && answer.value !== prediction.value.expected)
  return { prediction, answer, reason, unusual }
}

/** A learner's prediction of one question: the option picked, and the option the run then proved. */
export interface LearnerPick {
  pick: string
  /** Set when the recording played after the pick proved an option. */
  proved?: string
}

const STORAGE_KEY = 'wire-patterns:predictions'

function load(): Record<string, LearnerPick> {
  try {
    const raw = typeof localStorage === 'undefined' ? null : localStorage.getItem(STORAGE_KEY)
    const parsed = raw ? JSON.parse(raw) as unknown : {}
    return parsed && typeof parsed === 'object' ? parsed as Record<string, LearnerPick> : {}
  }
  catch { // unreadable, or storage refused (a private window)
    return {}
  }
}

/** Every pick of this browser, by demo id: one copy for the whole deck, kept in step with localStorage (and other tabs). */
const picks = ref<Record<string, LearnerPick>>(load())
if (typeof window !== 'undefined') {
  window.addEventListener('storage', (e) => {
    if (e.key === STORAGE_KEY || e.key === null)
      picks.value = load()
  })
}

function save(): void {
  try {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(picks.value))
  }
  catch {} // storage full or refused: the picks still count in this tab
}

/**
 * A learner alone (the static site, replay mode): the options they picked and how each run
 * answered, kept in this browser's localStorage (`wire-patterns:predictions`) and sent nowhere.
 * The first pick of a question counts; `reset()` forgets them all.
 */
export function useLearnerPicks() {
  /** `right` of `judged` picks proved right; `picked` made; `total` questions in the talk. */
  const tally = computed(() => {
    const mine = Object.entries(picks.value).filter(([id]) => id in PREDICTIONS).map(([, p]) => p)
    const judged = mine.filter(p => p.proved !== undefined)
    return { right: judged.filter(p => p.pick === p.proved).length, judged: judged.length, picked: mine.length, total: Object.keys(PREDICTIONS).length }
  })
  return {
    picks,
    tally,
    /** Records `option` as the pick for `demo`, unless it has one. Returns whether it did. */
    pick(demo: string, option: string): boolean {
      if (picks.value[demo])
        return false
      picks.value = { ...picks.value, [demo]: { pick: option } }
      save()
      return true
    },
    /** Records what the run proved for `demo`, once, if the learner picked first. */
    prove(demo: string, option: string): void {
      const p = picks.value[demo]
      if (!p || p.proved !== undefined)
        return
      picks.value = { ...picks.value, [demo]: { ...p, proved: option } }
      save()
    },
    reset(): void {
      picks.value = {}
      save()
    },
  }
}
