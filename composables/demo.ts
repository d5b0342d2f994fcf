import type { ComputedRef } from 'vue'
import type { SlideHooks } from './slide-lifecycle'
import { computed, shallowRef } from 'vue'
import { createAction } from './action'
import { DEMO_URL } from './demo-url'
import { useReplayMode } from './replay-mode'
import { useSlideLifecycle } from './slide-lifecycle'
import { TrafficLog } from './traffic'
import { useTrafficClient } from './traffic-client'
import { useVotes } from './votes'

export type { DemoAction } from './action'
export type { DemoMode } from './replay'
export type { RecordableDemo, RecordableOptions } from './replay-mode'
export type { DemoRequestInit, DemoResponse } from './traffic-client'
export type { Health } from '../wire/health'

/** What `useDemo` takes. */
export interface DemoOptions {
  /** The demo needs RabbitMQ (the broker slides): while `/health` says `broker` is anything but `up`, it cannot run. Default false. */
  needsBroker?: boolean
  /** Show the join badge (QR code) while audience mode is on. Default true; the join slide has its own QR code. */
  joinBadge?: boolean
}

/**
 * Why the demo cannot run right now: `offline` (no demo server answers), `broker` (it answers,
 * but a demo that needs RabbitMQ has none: `/health`'s `broker` is not `up`), or false (it can, or
 * nothing is known yet). While unavailable the frame offers the recording and the clicker replays it.
 */
export type Unavailable = false | 'offline' | 'broker'

/**
 * The deck side of every demo, one object for the component: the slide's lifecycle and the
 * demo server's health (`useSlideLifecycle`: `isAudienceView`, `active`, `online`, `health`,
 * `whileActive`, `signal`), the traffic it draws (`log`, and `request`/`openStream` from
 * `useTrafficClient`, which hand back the entry they made), click handlers (`action`), and live
 * or replay (`useReplayMode`: `mode`, `recordable`, `onClicks`, `play`, `goLive`, ...), whether it
 * can run at all (`unavailable`: no demo server, or `options.needsBroker` and no broker), and in
 * the presenter view a mirror of the main view's run (`mirrored`, composables/mirror.ts), and in
 * audience mode the room's vote on its prediction (`votes`, composables/votes.ts).
 * Work starts only while the slide is active in the main view; everything started in
 * `whileActive` is stopped on leave, or when a replay takes over.
 */
export function useDemo(options: DemoOptions = {}) {
  const log = new TrafficLog()
  // The slide calls back into the replay mode built just below (after setup: Slidev enters on mount).
  const hooks: SlideHooks = { enter: () => replay.enter(), leave: () => replay.leave(), checked: () => replay.checked() }
  const slide = useSlideLifecycle(hooks)
  const needsBroker = options.needsBroker ?? false
  const unavailable: ComputedRef<Unavailable> = computed(() => {
    if (slide.online.value === false)
      return 'offline'
    const broker = slide.health.value?.broker
    return needsBroker && broker !== undefined && broker !== 'up' ? 'broker' : false
  })
  const replay = useReplayMode(slide, log, () => unavailable.value !== false)
  const client = useTrafficClient(log, slide)
  // The room's vote on this demo's prediction (audience mode only): its id and state are what `recordable` names.
  const recorded = shallowRef<{ id: string, state: Record<string, unknown> }>()
  const votes = useVotes(slide, { id: () => recorded.value?.id, state: () => recorded.value?.state ?? {} }, { badge: options.joinBadge ?? true })
  const { isAudienceView, active, online, health, whileActive, signal, checkHealth } = slide
  const { id, state, mode, recording, playing, paused, replayed, mirrored, recordable, onClicks, play, nextStep, stopReplay, goLive } = replay
  return {
    url: DEMO_URL,
    isAudienceView,
    active,
    online,
    health,
    /** Needs RabbitMQ (`options.needsBroker`). */
    needsBroker,
    unavailable,
    log,
    whileActive,
    signal,
    request: client.request,
    /**
     * Each time the demo goes live (slide entered, back from a replay): one undrawn, uncounted
     * request to `path` that the demo's own requests wait for, so the first one measured is
     * not a cold start (see `useTrafficClient`'s `warmUp`). Call in setup. Not for a demo whose
     * lesson IS the cold start (a new connection each time).
     */
    warmUp: (path: string, init?: Parameters<typeof client.warmUp>[1]) => whileActive(() => client.warmUp(path, init)),
    openStream: client.openStream,
    checkHealth,
    /** A click handler with `running`, `error` and `idle()`: see `createAction`. */
    action: <A extends unknown[]>(fn: (...args: A) => unknown, onError?: (message: string) => void) => createAction(signal, fn, onError),
    onClicks,
    /** The id `recordable` named the demo by (its recording's and its prediction's, wire/predictions.ts); undefined before. */
    id,
    /**
     * The state `recordable` named, as it is now (live, mirrored or replayed): values unwrapped, not
     * copied, so a `computed` reading it (the prediction's answer, components/PredictionPanel.vue) follows every change.
     */
    state,
    mode,
    recording,
    playing,
    /** A replay waiting between two clicker steps: the step the next click plays, of how many (null: not paused). */
    paused,
    replayed,
    /** In the presenter view: the main view's demo shown here, live or replayed (null: none is; see composables/mirror.ts). */
    mirrored,
    recordable: (...args: Parameters<typeof recordable>) => {
      recorded.value = { id: args[0], state: args[1] }
      recordable(...args)
    },
    /** The room's vote on this demo's prediction, in audience mode (composables/votes.ts): the tally the slide shows. */
    votes,
    play,
    /** Plays the paused replay's next step (the next click does too). */
    nextStep,
    stopReplay,
    goLive,
  }
}

export type Demo = ReturnType<typeof useDemo>
