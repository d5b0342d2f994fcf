import type { DemoMode, Playback, Recording, StateSnapshot } from './replay'
import type { SlideLifecycle } from './slide-lifecycle'
import type { TrafficLog } from './traffic'
import { onSlideEnter, onSlideLeave, useSlideContext } from '@slidev/client'
import type { Ref, ShallowRef, WatchSource } from 'vue'
import { isReactive, isRef, onBeforeUnmount, ref, shallowRef, toRaw, watch } from 'vue'
import { DEMO_URL, replayForced } from './demo-url'
import { useMirror } from './mirror'
import { playRecording, Recorder, RECORDINGS, showRecordingEnd, stepCount, stepEnd } from './replay'

/** What `recordable` takes besides the state. */
export interface RecordableOptions {
  /**
   * The recorded run, as `npm run record` drives it on the live demo; `step(k)` runs clicker step
   * k and resolves when it is over. Default: every clicker step in order (`steps` picks some).
   */
  script?: (step: (k: number) => Promise<void>) => Promise<unknown>
  /** The clicker steps the default script runs. Default: all of them. */
  steps?: number[]
  /** True once the demo has warmed up (streams open, workers started) and a run can be recorded. Default: the server answered. */
  ready?: () => boolean
  /** How long the recording goes on after the script, so late events land in it, ms. Default 1000. */
  tailMs?: number
}

/** The default recorded run's pause between two clicker steps, ms: the last step's late effects land before the next one's mark. */
const STEP_PAUSE_MS = 500

/** One recorded run, as the page hands it to `npm run record`. */
export type RecordedRun = Pick<Recording, 'demo' | 'durationMs' | 'takes' | 'states' | 'final' | 'steps'>

/** What the page offers `npm run record` (window.__wireDemos__, only while a demo is live in the main view). */
export interface RecordableDemo {
  id: string
  ready: () => boolean
  record: () => Promise<RecordedRun>
}
declare global {
  interface Window {
    __wireDemos__?: Record<string, RecordableDemo>
    /** Every recordable demo of the deck and its slide number (main view only). */
    __wireDemoSlides__?: Record<string, number>
  }
}

/**
 * A demo's state as a recording sees it: the refs and reactive objects its view draws from,
 * read as JSON (`snapshot`) and set from JSON (`apply`: refs replaced, arrays spliced, objects
 * assigned); `sources` are those of them Vue can watch.
 */
export function stateSnapshots() {
  let refs: Record<string, unknown> = {}
  return {
    use(state: Record<string, unknown>): void {
      refs = state
    },
    sources(): WatchSource[] {
      return Object.values(refs).filter((v): v is WatchSource => isRef(v) || isReactive(v))
    },
    /**
     * The state as it is now, values unwrapped but not copied: read inside a `computed`, Vue tracks
     * every key it touches (a prediction's answer, wire/predictions.ts, is computed from it live).
     */
    live(): StateSnapshot {
      return Object.fromEntries(Object.entries(refs).map(([k, v]) => [k, isRef(v) ? v.value : v]))
    },
    snapshot(): StateSnapshot {
      return Object.fromEntries(Object.entries(refs).map(([k, v]) => [k, JSON.parse(JSON.stringify(toRaw(isRef(v) ? v.value : v)) ?? 'null')]))
    },
    apply(set: StateSnapshot): void {
      for (const [key, value] of Object.entries(set)) {
        const target = refs[key]
        const copy = JSON.parse(JSON.stringify(value ?? null))
        if (isRef(target))
          target.value = copy
        else if (Array.isArray(target))
          target.splice(0, target.length, ...copy)
        else if (target && typeof target === 'object')
          Object.assign(target, copy)
      }
    },
  }
}

/**
 * One recorded run of the live demo, as `npm run record` asks for it: the script (default every
 * clicker step in order, or `options.steps`, 500 ms apart), then `tailMs` (default 1000 ms) more, with the
 * log's takes and the state sampled by a {@link Recorder}, and when each step began (a replay
 * plays them one click at a time).
 */
export async function recordRun(id: string, log: TrafficLog, snapshot: () => StateSnapshot, clickSteps: Record<number, () => unknown>, options: RecordableOptions): Promise<RecordedRun> {
  const recorder = new Recorder(log, snapshot)
  recorder.start()
  const step = async (k: number) => {
    recorder.mark(k)
    await clickSteps[k]?.()
  }
  if (options.script) {
    await options.script(step)
  }
  else {
    const keys = options.steps ?? Object.keys(clickSteps).map(Number).sort((a, b) => a - b)
    for (const [i, k] of keys.entries()) {
      if (i) // as a presenter does between two clicks: what the last step set going (a message, an event) lands in its step
        await new Promise(resolve => setTimeout(resolve, STEP_PAUSE_MS))
      await step(k)
    }
  }
  await new Promise(resolve => setTimeout(resolve, options.tailMs ?? 1000))
  return { demo: id, ...recorder.stop() }
}

/**
 * Live or replay, for one demo. Without a demo server (none configured, offline, or `?replay`) a
 * demo that called `recordable` replays its recording (recordings/<id>.json) through the same
 * component and timeline, labelled as a recording; the overview, presenter previews and the PDF
 * show how that recording ended. When the server answers again, live returns (at once, or on
 * "Go live" if a replay is on screen). `unavailable()` (default: the server does not answer; the
 * broker demos add "RabbitMQ is not up") says the live demo cannot run: the clicker then replays
 * instead of firing requests that can only fail. While live in the main view, the demo is offered to
 * `npm run record` (window.__wireDemos__). `enter`, `leave` and `checked` are the slide's hooks;
 * entering restores the state `recordable` named to what it was when the component was set up,
 * and clears the log, so click 1 is always the first step of the notes.
 */
export function useReplayMode(slide: SlideLifecycle, log: TrafficLog, unavailable: () => boolean = () => slide.online.value === false) {
  const { $page } = useSlideContext()
  /** The id `recordable` gave this demo (its recording's, and its prediction's): undefined until then. */
  const id = ref<string>()
  /** This demo's recording, once `recordable` named it. */
  const recording = shallowRef<Recording>()
  const state = stateSnapshots()
  const player = usePlayer(log, state.apply)
  let initial: StateSnapshot = {}
  const offer = offerToRecorder(slide, log, state.snapshot)
  const modes = modeSwitch(slide, log, { state, player, offer, recording, initial: () => initial, unavailable })
  const { mode, replayed } = modes
  const mirror = mirrorOf(log, mode, state, () => recording.value, () => initial)

  function enter(): void {
    // Every visit starts at the first step of the notes: inputs at their defaults, no runs, an
    // empty log whose clock starts with the slide (Slidev built the demo when the deck opened).
    state.apply(initial)
    log.clear()
    if (recording.value && (modes.forced || !DEMO_URL)) {
      modes.enterReplay()
    }
    else {
      void slide.checkHealth()
      modes.startLiveRun()
    }
    mirror.publish() // the presenter view shows what this view shows
  }

  function leave(): void {
    mirror.stop()
    offer.unregister()
    player.stop()
    slide.stopLive()
  }

  /**
   * Makes the demo recordable and replayable under `id` (recordings/<id>.json): `state` names the
   * refs and reactive objects its view draws from (JSON-able values; what can be worked out from
   * the log need not be there). Call once in the component's setup, after the state exists.
   */
  function recordable(demoId: string, refs: Record<string, unknown>, options: RecordableOptions = {}): void {
    id.value = demoId
    state.use(refs)
    offer.use(demoId, options)
    initial = state.snapshot()
    recording.value = RECORDINGS[demoId]
    showEndOutsideAudienceView(slide, recording.value, log, state.apply)
    mirror.name(`${demoId}@${$page.value}`)
  }

  // The clicker's later steps in replay mode play on through step n of the replay on screen.
  const clicker = clickSteps(slide, mode, offer, modes.start, n => mode.value === 'replay' && slide.active.value && player.playStep(n), unavailable, replayed, () => recording.value ? stepCount(recording.value) : 1)
  return { id, state: state.live, mode, recording, playing: player.playing, paused: player.paused, replayed, mirrored: mirror.mirrored, enter, leave, checked: modes.checked, recordable, onClicks: clicker.onClicks, play: clicker.play, nextStep: () => clicker.nextStep(player.nextStep), stopReplay: player.stop, goLive: modes.goLive }
}

/** What {@link modeSwitch} works with: the demo's state, player and recorder offer, its recording and its state as set up. */
interface ModeParts {
  state: ReturnType<typeof stateSnapshots>
  player: ReturnType<typeof usePlayer>
  offer: ReturnType<typeof offerToRecorder>
  recording: ShallowRef<Recording | undefined>
  initial: () => StateSnapshot
  unavailable: () => boolean
}

/**
 * A demo's two modes and the moves between them: live (the slide's streams and timers running, the
 * demo offered to the recorder) and replay (live work stopped; `start` plays the recording from its
 * start); `goLive` once the server answers again, `checked` after each health check (a replay not
 * started yet gives way to live). `replayed`: a replay played (or is playing) since replay mode began.
 */
function modeSwitch(slide: SlideLifecycle, log: TrafficLog, { state, player, offer, recording, initial, unavailable }: ModeParts) {
  const mode = ref<DemoMode>('live')
  const replayed = ref(false)
  const forced = replayForced()

  function startLiveRun(): void {
    mode.value = 'live'
    replayed.value = false
    slide.startLive()
    offer.register()
  }

  /** Replay mode, waiting for Play (live work stopped, state as a fresh slide has it). */
  function enterReplay(): void {
    slide.stopLive()
    mode.value = 'replay'
    replayed.value = false
    offer.unregister()
    log.clear()
    state.apply(initial())
    if (!forced && DEMO_URL)
      void slide.checkHealth()
  }

  /** Plays the recording from its start: the clicker's first step in replay mode (and `play`, by hand). */
  function start(): void {
    const rec = recording.value
    if (!rec || !slide.active.value)
      return
    if (mode.value === 'live')
      enterReplay()
    state.apply(initial())
    replayed.value = true
    player.play(rec)
  }

  /** Back to the live demo (the server answers again): a fresh log and state, streams restarted. */
  function goLive(): void {
    if (mode.value === 'live' || !slide.active.value)
      return
    player.stop()
    log.clear()
    state.apply(initial())
    startLiveRun()
  }

  /** After a health check while active: a replay not started yet gives way to live. */
  function checked(): void {
    if (slide.online.value && !unavailable() && mode.value === 'replay' && !replayed.value)
      goLive()
  }

  return { mode, replayed, forced, startLiveRun, enterReplay, start, goLive, checked }
}

/**
 * The demo's mirror (composables/mirror.ts), once `name(key)` (`<id>@<slide no>`, from
 * `recordable`) named it: `publish()` while the demo is active in the main view (`stop()` on
 * leave); in the presenter view's current-slide pane (Slidev's render context `presenter`; not
 * the next-slide preview, the overview or print) it follows the main view's demo while its slide
 * is the current one, and shows how the recording ended (or the demo as set up) when there is
 * none to follow.
 */
function mirrorOf(log: TrafficLog, mode: Ref<DemoMode>, state: ReturnType<typeof stateSnapshots>, rec: () => Recording | undefined, initial: () => StateSnapshot) {
  const { $renderContext } = useSlideContext()
  let key: string | undefined
  const mirror = useMirror({ log, mode, snapshot: state.snapshot, sources: state.sources, apply: state.apply }, () => {
    const r = rec()
    if (r) {
      showRecordingEnd(r, log, state.apply)
    }
    else {
      log.clear()
      state.apply(initial())
    }
  })
  return {
    mirrored: mirror.mirrored,
    stop: mirror.stop,
    publish(): void {
      if (key)
        mirror.publish(key)
    },
    /** Call in setup. */
    name(demoKey: string): void {
      key = demoKey
      if ($renderContext.value !== 'presenter')
        return
      onSlideEnter(() => mirror.follow(demoKey))
      onSlideLeave(() => mirror.stop())
      onBeforeUnmount(() => mirror.stop())
    },
  }
}

/** The overview, presenter previews and the PDF show how `rec` ended (now, and whenever the view stops being the audience's). */
function showEndOutsideAudienceView(slide: SlideLifecycle, rec: Recording | undefined, log: TrafficLog, apply: (set: StateSnapshot) => void): void {
  const showEnd = (audience: boolean) => {
    if (!audience && rec)
      showRecordingEnd(rec, log, apply)
  }
  showEnd(slide.isAudienceView.value)
  watch(slide.isAudienceView, showEnd)
}

/**
 * `onClicks(steps)`: the presenter's clicker drives the demo: `steps[k]` runs when Slidev's click
 * counter on this slide (`$clicks`) moves forward to k while the demo is active in the main view;
 * in replay mode, or while the live demo is `unavailable()`, the first click plays the recording's
 * first step (`start`), each later click its next one (`playStep`; a recording without step marks
 * plays whole on the first; after a replay started by hand, `play`, the clicks carry on from where it
 * is instead of starting over), and no live step runs: its requests could only fail. Each step runs at most once per visit
 * to the slide: moving back runs nothing, and moving forward again to a step that already ran
 * runs nothing either. That also holds when the main view and the presenter view echo each other's
 * click counter (Slidev syncs both ways: under load a stale 1 can arrive after 2, and the counter
 * goes 2 → 1 → 2, which would fire step 2 again). Entering the slide from the next one (Slidev
 * lands on its last click) runs nothing.
 */
function clickSteps(slide: SlideLifecycle, mode: Ref<DemoMode>, offer: ReturnType<typeof offerToRecorder>, start: () => void, playStep: (n: number) => void, unavailable: () => boolean, replayed: Ref<boolean>, recordedSteps: () => number) {
  const { $clicks, $clicksContext } = useSlideContext()
  /**
   * Steps a replay started by hand is ahead of the clicker: a learner's pick or ▶ Replay at click c
   * plays step 1 there, so the next click plays step 2 (the clicker's own first step sets it to 0).
   */
  let clicksBehind = 0
  /** The click `play` moved the counter to itself: it plays nothing. */
  let ownClick: number | undefined
  /** The clicker's last step on this slide (its other clicks, if any, only show text). */
  let lastClick = 0
  return {
    onClicks: (steps: Record<number, () => unknown>): void => {
      offer.useSteps(steps)
      lastClick = Math.max(0, ...Object.keys(steps).map(Number))
      watchClicks($clicks, slide.active, (n) => {
        const own = n === ownClick
        ownClick = undefined
        if (own)
          return
        if (mode.value === 'live' && !unavailable())
          return steps[n]?.()
        if (n === 1 && !replayed.value) {
          clicksBehind = 0
          return start()
        }
        playStep(n + clicksBehind) // after a replay started by hand: on from where it is
      })
    },
    /**
     * Plays the recording from its start by hand (a learner's pick, ▶ Replay); the next click plays
     * on from there. The pick counts as clicks: the counter moves on so that as many of the clicker's
     * steps are left as the recording has steps left to play, and the click after its last step moves
     * on (no press that does nothing).
     */
    play: (): void => {
      const c = $clicks.value
      const to = Math.min(lastClick, $clicksContext.total) - (recordedSteps() - 1) // the click at which step 1 has played
      clicksBehind = 1 - Math.max(c, to)
      start()
      if (to > c && slide.active.value) {
        ownClick = to
        $clicks.value = to
      }
    },
    /** The replay's "▶ Step k of n" button: a click, as the clicker's (so no later press does nothing); past the slide's last click, the player's next step. */
    nextStep: (playNext: () => void): void => {
      if (slide.active.value && $clicks.value < Math.min(lastClick, $clicksContext.total))
        $clicks.value++ // plays it through onClicks' watch
      else
        playNext()
    },
  }
}

/**
 * Calls `step(n)` while `active` each time the click counter moves forward to an n above every
 * click reached since the slide became active (so never when it moves back, and never twice for
 * one n in one visit).
 */
function watchClicks(clicks: Ref<number>, active: Ref<boolean>, step: (n: number) => unknown): void {
  let reached = clicks.value
  watch(active, (on) => {
    if (on)
      reached = clicks.value
  }, { flush: 'sync' })
  // sync: a step fires as the counter reaches it, even if a stale echo from the other view moves it
  // back before Vue's next flush (1 → 2 → 1 in one tick would otherwise fire nothing at all).
  watch(clicks, (now, before) => {
    if (!active.value || now <= before || now <= reached)
      return
    reached = now
    void step(now)
  }, { flush: 'sync' })
}

/**
 * Plays recordings into `log` and through `apply`, one at a time, one clicker step at a time:
 * `play(rec)` plays its first step (all of it, for a recording without step marks), `playStep(n)`
 * plays on to the end of step n. `playing` while one plays; `paused` while it waits between steps
 * (`next`: the step the next click plays, `of`: how many there are); `stop()` stops it where it is.
 */
function usePlayer(log: TrafficLog, apply: (set: StateSnapshot) => void) {
  const playing = ref(false)
  const paused = ref<{ next: number, of: number } | null>(null)
  let playback: Playback | undefined
  let rec: Recording | undefined
  /** The step playing, or last played. */
  let step = 0
  function stop(): void {
    playback?.stop()
    playback = undefined
    playing.value = false
    paused.value = null
  }
  function play(recording: Recording): void {
    stop()
    rec = recording
    step = 1
    playing.value = true
    playback = playRecording(recording, log, apply, {
      paused: () => {
        playing.value = false
        paused.value = { next: step + 1, of: stepCount(recording) }
      },
      ended: () => {
        playing.value = false
        paused.value = null
        playback = undefined
      },
    }, stepEnd(recording, 1))
  }
  /** Plays on to the end of step `n` (a later step than the one playing or played; else nothing). */
  function playStep(n: number): void {
    if (!playback || !rec || n <= step)
      return
    step = n
    paused.value = null
    playing.value = true
    playback.playTo(stepEnd(rec, n))
  }
  return { playing, paused, play, playStep, nextStep: () => playStep(step + 1), stop }
}

/** What `npm run record` sees of a live demo: `window.__wireDemos__[id]`, offered while it is live in the main view. */
function offerToRecorder(slide: SlideLifecycle, log: TrafficLog, snapshot: () => StateSnapshot) {
  const { $renderContext, $page } = useSlideContext()
  let id: string | undefined
  let options: RecordableOptions = {}
  let clickSteps: Record<number, () => unknown> = {}
  return {
    use(demoId: string, opts: RecordableOptions): void {
      id = demoId
      options = opts
      if ($renderContext.value === 'slide') // the main view: the slide a recorder goes to for this demo
        (window.__wireDemoSlides__ ??= {})[demoId] = $page.value
    },
    useSteps(steps: Record<number, () => unknown>): void {
      clickSteps = steps
    },
    register(): void {
      if (!id)
        return
      const demo = id
      const record = () => recordRun(demo, log, snapshot, clickSteps, options)
      window.__wireDemos__ = { ...window.__wireDemos__, [demo]: { id: demo, ready: () => slide.online.value === true && (options.ready?.() ?? true), record } }
    },
    unregister(): void {
      if (id && window.__wireDemos__?.[id])
        delete window.__wireDemos__[id]
    },
  }
}
