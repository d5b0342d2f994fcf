import type { ComputedRef, Ref, ShallowRef } from 'vue'
import type { SlideLifecycle } from './slide-lifecycle'
import type { EventStream } from './sse'
import type { JoinInfo, VoteTally } from '../wire/audience'
import type { Prediction } from '../wire/predictions'
import { useSlideContext } from '@slidev/client'
import { computed, isRef, ref, shallowRef, watch } from 'vue'
import { predictionFor } from '../wire/predictions'
import { DEMO_URL } from './demo-url'
import { followEvents } from './sse'
import { TrafficLog } from './traffic'

/** What a demo slide knows of the room's vote on its question (see {@link useVotes}). */
export interface DemoVotes {
  /** The tally the slide shows: null when the room votes on nothing here (audience mode off, no prediction, another view). */
  tally: Ref<VoteTally | null>
  /** For the prediction panel: votes per option id (undefined: no vote here). */
  counts: ComputedRef<Record<string, number> | undefined>
  /** For the prediction panel: how many phones voted (undefined: no vote here). */
  voters: ComputedRef<number | undefined>
  /** For the prediction panel: no more votes (the demo started; undefined: no vote here). */
  closed: ComputedRef<boolean | undefined>
  /** Why the last call about the vote failed (null: none did). */
  error: Ref<string | null>
}

/** The join badge every demo slide shows while audience mode is on (global-top.vue draws it): the join URL and its QR code, or null. */
export const joinBadge: ShallowRef<JoinInfo | null> = shallowRef(null)
/** The join URL and QR code, asked once per page (they hold for the demo server's whole run). */
let joinInfo: Promise<JoinInfo | null> | undefined
/** Which slide's visit shows the badge now: a slide left after the next one was entered does not take them away. */
let screenOwner: object | undefined

/** What the room's phones vote on for this demo, and the run's state its answer is computed from. */
export interface VoteSource {
  /** The demo's id (its recording's, `recordable(id, …)`), once known. */
  id: () => string | undefined
  /** The state `recordable` named: refs and reactive objects (read inside a computed, so the answer follows them). */
  state: () => Record<string, unknown>
}

/**
 * The room votes on a demo slide's prediction (wire/predictions.ts), in audience mode only: the
 * demo server's `/health` (already asked by every demo) says `audience.on`; otherwise this does
 * nothing and asks nothing. While the slide is active in the main view: shows the join badge,
 * and, if the demo has a prediction, opens its question (`PUT /audience/votes/:id`), follows the
 * tally (`GET /audience/votes/events`, one stream, held only while the vote is open), closes the
 * vote on the first clicker step (`POST …/close`: the demo starts), posts the proved option when
 * the demo's `answer(state)` becomes non-null (`POST …/result`), and releases the question when
 * the slide is left (`DELETE`). Off (`badge: false`): no badge (the join slide has its own QR code).
 */
export function useVotes(slide: SlideLifecycle, source: VoteSource, { badge = true } = {}): DemoVotes {
  const { $clicks } = useSlideContext()
  const tally = ref<VoteTally | null>(null)
  const error = ref<string | null>(null)
  const audienceOn = computed(() => slide.health.value?.audience?.on === true)
  let visit: Visit | undefined

  watch([slide.active, audienceOn], ([active, on]) => {
    if (active && on && !visit)
      visit = startVisit()
    else if ((!active || !on) && visit)
      endVisit()
  })

  function startVisit(): Visit {
    const id = source.id()
    const v: Visit = { prediction: id ? predictionFor(id) : undefined, controller: new AbortController() }
    screenOwner = v
    if (badge)
      void showBadge(v)
    if (v.prediction)
      void open(v, v.prediction)
    return v
  }

  function endVisit(): void {
    const v = visit!
    visit = undefined
    v.controller.abort()
    v.events?.stop()
    leaveScreen(v)
    if (v.prediction) // also when its PUT was still on the way: releasing a question that is not current does nothing
      void call('DELETE', `/${v.prediction.demo}`, undefined, { keepalive: true })
    tally.value = null
  }

  async function open(v: Visit, p: Prediction<any>): Promise<void> {
    const opened = await call('PUT', `/${p.demo}`, { question: p.question, options: p.options }, { signal: v.controller.signal })
    if (visit !== v || !opened)
      return
    tally.value = opened
    if ($clicks.value > 0 || answer.value) // entered mid-demo (back from the next slide): nothing more to vote on
      return void settle(v, p)
    v.events = followTally(v.controller.signal, (t) => {
      if (visit === v && t?.id === p.demo && t.seq >= (tally.value?.seq ?? 0))
        tally.value = t
    })
  }

  /** Closes the vote, or reveals the answer once there is one; the tally is final either way, so its stream ends. */
  async function settle(v: Visit, p: Prediction<any>): Promise<void> {
    v.events?.stop()
    v.events = undefined
    const proved = answer.value
    const t = proved ? await call('POST', `/${p.demo}/result`, { answer: proved }) : tally.value?.state === 'open' ? await call('POST', `/${p.demo}/close`) : null
    if (visit === v && t && STAGE[t.state] >= STAGE[tally.value?.state ?? 'open']) // a close answered after the reveal does not undo it
      tally.value = t
  }

  // The run's answer: null until the demo has measured enough (wire/predictions.ts).
  const answer = computed(() => tally.value && visit ? provedBy(predictionFor(tally.value.id), source.state()) : null) // tally first: `visit` is not reactive
  // The first clicker step starts the demo: the vote closes. The run's answer: revealed (again, if a second run proves another).
  watch($clicks, (now, before) => {
    if (visit?.prediction && tally.value?.state === 'open' && now > before)
      void settle(visit, visit.prediction)
  })
  watch(answer, (proved) => {
    if (visit?.prediction && tally.value && proved && proved !== tally.value.answer)
      void settle(visit, visit.prediction)
  })

  const call = (method: string, path: string, json?: unknown, init: RequestInit = {}) => voteRequest(error, method, path, json, init)

  return { tally, counts: computed(() => tally.value?.counts), voters: computed(() => tally.value?.voters), closed: computed(() => tally.value ? tally.value.state !== 'open' : undefined), error }
}

/** A vote's states in the order they come. */
const STAGE: Record<VoteTally['state'], number> = { open: 0, closed: 1, revealed: 2 }

/** One visit of the slide while audience mode is on. */
interface Visit {
  prediction: Prediction<any> | undefined
  controller: AbortController
  events?: EventStream
}

/** Hides the join badge, unless a later visit (the next slide's) shows them. */
function leaveScreen(v: object): void {
  if (screenOwner !== v)
    return
  screenOwner = undefined
  joinBadge.value = null
}

/**
 * The big screen's stream of tallies (`GET /audience/votes/events`, read by the deck's one event-stream
 * reader, not drawn on any timeline): `onTally` gets each one (null: no question) until `signal` aborts
 * (the visit ends) or `stop()`. While it is held the server keeps an open question (a tab that closes
 * mid-vote lets it go: demos/audience/votes.ts `orphanMs`).
 */
function followTally(signal: AbortSignal, onTally: (t: VoteTally | null) => void): EventStream {
  return followEvents<{ tally: VoteTally | null }>({ log: new TrafficLog(), signal: () => signal }, '/audience/votes/events', { tally: onTally }, { traced: false, lane: 'votes' })
}

/** Shows the join badge for visit `v` (asking the demo server for the QR code once per page). */
async function showBadge(v: object): Promise<void> {
  joinInfo ??= fetch(`${DEMO_URL}/audience/join`, { cache: 'no-store' }).then(r => r.ok ? r.json() as Promise<JoinInfo> : null).catch(() => null)
  const info = await joinInfo
  if (!info)
    joinInfo = undefined // not up yet: the next slide asks again
  if (screenOwner === v)
    joinBadge.value = info
}

/**
 * `method` on the demo server's `/audience/votes<path>` with `json` as the body: the tally it
 * answers (null for 204, or when it failed: then `error` says why, with the server's `{error}`).
 */
async function voteRequest(error: Ref<string | null>, method: string, path: string, json?: unknown, init: RequestInit = {}): Promise<VoteTally | null> {
  try {
    const res = await fetch(`${DEMO_URL}/audience/votes${path}`, { method, cache: 'no-store', ...init, ...(json === undefined ? {} : { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(json) }) })
    if (!res.ok)
      throw new Error(((await res.json().catch(() => ({}))) as { error?: string }).error ?? `HTTP ${res.status}`)
    error.value = null
    return res.status === 204 ? null : await res.json() as VoteTally
  }
  catch (err) {
    if ((err as Error).name !== 'AbortError')
      error.value = `The room's vote: ${(err as Error).message}`
    return null
  }
}

/** The option `p`'s answer function picks from the demo's state (refs unwrapped; read reactively), or null: none yet, or it threw. */
function provedBy(p: Prediction<any> | undefined, state: Record<string, unknown>): string | null {
  if (!p)
    return null
  try {
    return p.answer(Object.fromEntries(Object.entries(state).map(([k, s]) => [k, isRef(s) ? s.value : s])))
  }
  catch {
    return null
  }
}
