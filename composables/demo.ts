import { onSlideEnter, onSlideLeave, useNav, useSlideContext } from '@slidev/client'
import type { Ref } from 'vue'
import type { Recording, StateSnapshot } from './recording'
import { computed, isRef, onBeforeUnmount, ref, shallowRef, toRaw, watch } from 'vue'
import { epochMs } from '../wire/clock'
import { playRecording, Recorder, RECORDINGS, showRecordingEnd } from './recording'
import { TrafficLog } from './traffic'
import { byteLength } from '../wire/bytes'
import type { Health } from '../wire/health'

const DEMO_URL_KEY = 'wire-patterns:demo-url'
const REPLAY_KEY = 'wire-patterns:replay'

/**
 * Keeps `?demo=<url>` and `?replay` of the page's URL for this tab (sessionStorage), since
 * Slidev's navigation drops the query. `?replay=0` turns replay off again. Called at start-up by
 * setup/main.ts, before the first navigation.
 */
export function rememberDemoUrl(): void {
  if (typeof window === 'undefined')
    return
  const query = new URLSearchParams(window.location.search)
  const fromQuery = query.get('demo')
  if (fromQuery)
    window.sessionStorage.setItem(DEMO_URL_KEY, fromQuery)
  if (query.has('replay')) {
    if (['0', 'false', 'off'].includes(query.get('replay')!))
      window.sessionStorage.removeItem(REPLAY_KEY)
    else
      window.sessionStorage.setItem(REPLAY_KEY, '1')
  }
}

/**
 * Base URL of the demo server, or null when there is none. `VITE_DEMO_URL` at build/dev time
 * sets it, the server that serves the deck can say it at run time in `demo-url.js` (`npm start`
 * does: `window.__DEMO_URL__`), and `?demo=<url>` on the deck's URL overrides all of them for
 * this browser tab. Otherwise the dev server (`npm run dev`) uses `http://127.0.0.1:3031`, and a
 * build (a static copy) has none: its demos replay their recordings and it asks no other host.
 */
export const DEMO_URL = resolveDemoUrl()

function resolveDemoUrl(): string | null {
  rememberDemoUrl()
  const inBrowser = typeof window !== 'undefined'
  const url = (inBrowser && (window.sessionStorage.getItem(DEMO_URL_KEY) || window.__DEMO_URL__)) || import.meta.env.VITE_DEMO_URL || (import.meta.env.DEV ? 'http://127.0.0.1:3031' : null)
  return url ? url.replace(/\/+$/, '') : null
}

/** `?replay` on the deck's URL: every demo replays its recording, even with a demo server there. */
export function replayForced(): boolean {
  return typeof window !== 'undefined' && window.sessionStorage.getItem(REPLAY_KEY) === '1'
}

/** How often an active demo checks that the demo server is still there, in ms. */
const HEALTH_INTERVAL_MS = 2000
/** A health check slower than this counts as offline, in ms. */
const HEALTH_TIMEOUT_MS = 1500

export interface DemoRequestInit extends Omit<RequestInit, 'body' | 'signal'> {
  /** Lane of the timeline this request is drawn in. Default `client`. */
  lane?: string
  /** A JSON body; sets Content-Type. */
  json?: unknown
  body?: string
  /** The status this call must answer with (`ok`: any 2xx); any other throws, with the server's `{"error"}` as the message. */
  expect?: number | 'ok'
}

export interface DemoResponse<T> {
  status: number
  headers: Headers
  data: T
  /** Round trip as the page saw it, ms. */
  ms: number
  /**
   * When the answer arrived (epoch ms): the moment `fetch` resolved with it, before its body was
   * read, logged or drawn. The browser hands a body over separately, a turn of the page's event
   * loop later (after whatever rendering is due then), so a time taken after `res.text()` would
   * add the page's own business to how late the answer was; the demo server's answers are a few
   * hundred bytes, written at once with their head.
   */
  receivedAt: number
}

/** What a demo shows: its live run, or a recorded one (playing or played, or waiting for Play). */
export type DemoMode = 'live' | 'replay'

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

/** What the page offers `npm run record` (window.__wireDemos__, only while a demo is live in the main view). */
export interface RecordableDemo {
  id: string
  ready: () => boolean
  record: () => Promise<Pick<Recording, 'demo' | 'durationMs' | 'takes' | 'states' | 'final'>>
}
declare global {
  interface Window {
    __wireDemos__?: Record<string, RecordableDemo>
    /** Every recordable demo of the deck and its slide number (main view only). */
    __wireDemoSlides__?: Record<string, number>
  }
}

/**
 * The deck side of every demo: knows the demo server, reports online/offline, and records
 * each request it makes in `log`. Work starts only while the slide is active in the main
 * view (not overview, presenter previews or print), so a deck open in several windows does
 * not multiply connections; everything started in `whileActive` is stopped on leave.
 *
 * Without a demo server (none configured, offline, or `?replay`) a demo that called `recordable`
 * replays its recording (recordings/<id>.json) through the same component and timeline, labelled
 * as a recording; the overview, presenter previews and the PDF show how that recording ended.
 * When the server answers again, live returns (at once, or on "Go live" if a replay is on screen).
 */
export function useDemo() {
  const { $renderContext, $clicks, $page } = useSlideContext()
  const { isPrintMode } = useNav()
  /** True in the audience (main) view, where live demos run; false in the presenter view, overview and print. */
  const isAudienceView = computed(() => $renderContext.value === 'slide' && !isPrintMode.value)
  const active = ref(false)
  /** null until the first health check answers. */
  const online = ref<boolean | null>(null)
  const health = ref<Health | null>(null)
  const log = new TrafficLog()
  /** Live or replay; see `recordable`. */
  const mode = ref<DemoMode>('live')
  /** This demo's recording, once `recordable` named it. */
  const recording = shallowRef<Recording>()
  /** A replay is playing now. */
  const playing = ref(false)
  /** A replay played (or is playing) since replay mode began: its numbers are on screen. */
  const replayed = ref(false)
  const forced = replayForced()

  /** What `whileActive` starts on every activation; `cleanups` what stops it on leave. */
  const onActivate: Array<() => void | (() => void)> = []
  let cleanups: Array<() => void> = []
  let controller = new AbortController()
  let healthTimer: ReturnType<typeof setTimeout> | undefined
  let stopPlaying: (() => void) | undefined

  async function checkHealth(): Promise<void> {
    clearTimeout(healthTimer)
    if (!DEMO_URL) {
      online.value = false
      return
    }
    try {
      const res = await fetch(`${DEMO_URL}/health`, { signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS), cache: 'no-store' })
      health.value = res.ok ? await res.json() as Health : null
      online.value = res.ok
    }
    catch {
      online.value = false
      health.value = null
    }
    if (online.value && mode.value === 'replay' && !replayed.value && active.value)
      goLive()
    if (active.value)
      healthTimer = setTimeout(checkHealth, HEALTH_INTERVAL_MS)
  }

  function startLive(): void {
    controller = new AbortController()
    for (const start of onActivate) {
      const stop = start()
      if (stop)
        cleanups.push(stop)
    }
  }

  function stopLive(): void {
    controller.abort()
    for (const c of cleanups.reverse()) {
      try {
        c()
      }
      catch (err) {
        console.warn('[demo] cleanup failed', err)
      }
    }
    cleanups = []
  }

  function activate(): void {
    if (active.value || !isAudienceView.value)
      return
    active.value = true
    if (recording.value && (forced || !DEMO_URL)) {
      mode.value = 'replay'
      enterReplay()
      return
    }
    mode.value = 'live'
    // The timeline's clock starts with the slide (Slidev built it when the deck opened).
    if (!log.entries.value.length)
      log.clear()
    void checkHealth()
    startLive()
    register()
  }

  function deactivate(): void {
    if (!active.value)
      return
    active.value = false
    clearTimeout(healthTimer)
    unregister()
    stopReplay()
    if (mode.value === 'live')
      stopLive()
  }

  onSlideEnter(activate)
  onSlideLeave(deactivate)
  onBeforeUnmount(deactivate)

  // ---- Recordings: state, replay, and what `npm run record` drives ----
  let stateRefs: Record<string, unknown> = {}
  let initial: StateSnapshot = {}
  let options: RecordableOptions = {}
  let clickSteps: Record<number, () => unknown> = {}

  function snapshot(): StateSnapshot {
    return Object.fromEntries(Object.entries(stateRefs).map(([k, v]) => [k, JSON.parse(JSON.stringify(toRaw(isRef(v) ? v.value : v)) ?? 'null')]))
  }

  function apply(set: StateSnapshot): void {
    for (const [key, value] of Object.entries(set)) {
      const target = stateRefs[key]
      const copy = JSON.parse(JSON.stringify(value ?? null))
      if (isRef(target))
        target.value = copy
      else if (Array.isArray(target))
        target.splice(0, target.length, ...copy)
      else if (target && typeof target === 'object')
        Object.assign(target, copy)
    }
  }

  /** Replay mode, waiting for Play (live work stopped, state as a fresh slide has it). */
  function enterReplay(): void {
    if (mode.value === 'live')
      stopLive()
    mode.value = 'replay'
    replayed.value = false
    unregister()
    log.clear()
    apply(initial)
    if (!forced && DEMO_URL)
      void checkHealth()
  }

  /** Plays the recording from its start (the clicker's first step in replay mode does the same). */
  function play(): void {
    const rec = recording.value
    if (!rec || !active.value)
      return
    if (mode.value === 'live')
      enterReplay()
    stopReplay()
    apply(initial)
    playing.value = true
    replayed.value = true
    stopPlaying = playRecording(rec, log, apply, () => {
      playing.value = false
      stopPlaying = undefined
    })
  }

  /** Stops a replay where it is. */
  function stopReplay(): void {
    stopPlaying?.()
    stopPlaying = undefined
    playing.value = false
  }

  /** Back to the live demo (the server answers again): a fresh log and state, streams restarted. */
  function goLive(): void {
    if (mode.value === 'live' || !active.value)
      return
    stopReplay()
    log.clear()
    apply(initial)
    mode.value = 'live'
    replayed.value = false
    startLive()
    register()
  }

  function register(): void {
    const id = recordId
    if (!id)
      return
    window.__wireDemos__ = { ...window.__wireDemos__, [id]: { id, ready: () => online.value === true && (options.ready?.() ?? true), record } }
  }
  function unregister(): void {
    if (recordId && window.__wireDemos__?.[recordId])
      delete window.__wireDemos__[recordId]
  }
  let recordId: string | undefined

  /** One recorded run of the live demo: its script, then `tailMs` more. */
  async function record(): Promise<Pick<Recording, 'demo' | 'durationMs' | 'takes' | 'states' | 'final'>> {
    const recorder = new Recorder(log, snapshot)
    recorder.start()
    const step = async (k: number) => {
      await clickSteps[k]?.()
    }
    if (options.script) {
      await options.script(step)
    }
    else {
      const keys = options.steps ?? Object.keys(clickSteps).map(Number).sort((a, b) => a - b)
      for (const k of keys) await step(k)
    }
    await new Promise(resolve => setTimeout(resolve, options.tailMs ?? 1000))
    return { demo: recordId!, ...recorder.stop() }
  }

  /**
   * Makes the demo recordable and replayable under `id` (recordings/<id>.json): `state` names the
   * refs and reactive objects its view draws from (JSON-able values; what can be worked out from
   * the log need not be there). Call once in the component's setup, after the state exists.
   */
  function recordable(id: string, state: Record<string, unknown>, opts: RecordableOptions = {}): void {
    recordId = id
    stateRefs = state
    options = opts
    initial = snapshot()
    recording.value = RECORDINGS[id]
    if ($renderContext.value === 'slide')
      (window.__wireDemoSlides__ ??= {})[id] = $page.value
    if (!isAudienceView.value && recording.value)
      showRecordingEnd(recording.value, log, apply)
    watch(isAudienceView, (audience) => {
      if (!audience && recording.value)
        showRecordingEnd(recording.value, log, apply)
    })
  }

  /**
   * Runs `fn` each time the slide becomes active; the function it returns runs when the
   * slide is left. Use it for streams, sockets and timers.
   */
  function whileActive(fn: () => void | (() => void)): void {
    onActivate.push(fn)
    if (active.value && mode.value === 'live') {
      const s = fn()
      if (s)
        cleanups.push(s)
    }
  }

  /** The abort signal of the current activation: aborted when the slide is left. */
  function signal(): AbortSignal {
    return controller.signal
  }

  /**
   * `fetch` against the demo server, recorded in the log: method, URL, status, bytes and
   * times. Aborted when the slide is left. Parses JSON when the response is JSON. With
   * `expect`, any other status throws the server's `{"error"}` message.
   */
  async function request<T = unknown>(path: string, init: DemoRequestInit = {}): Promise<DemoResponse<T>> {
    const { lane = 'client', json, expect, ...rest } = init
    const method = (rest.method ?? (json === undefined ? 'GET' : 'POST')).toUpperCase()
    const body = json === undefined ? rest.body : JSON.stringify(json)
    const headers = new Headers(rest.headers)
    if (json !== undefined)
      headers.set('Content-Type', 'application/json')
    const entry = log.begin({ lane, kind: 'request', label: `${method} ${path}`, method, url: path, sentBytes: body ? byteLength(body) : 0 })
    const t0 = epochMs()
    let answer: DemoResponse<T>
    try {
      const res = await fetch(`${DEMO_URL}${path}`, { ...rest, method, headers, body, signal: controller.signal })
      const receivedAt = epochMs()
      const text = await res.text()
      const isJson = res.headers.get('content-type')?.includes('json')
      const data = (isJson && text ? JSON.parse(text) : text) as T
      log.finish(entry, { status: res.status, receivedBytes: byteLength(text), data })
      online.value = true
      answer = { status: res.status, headers: res.headers, data, ms: epochMs() - t0, receivedAt }
    }
    catch (err) {
      const aborted = controller.signal.aborted
      log.finish(entry, { error: aborted ? 'aborted' : 'network error' })
      if (!aborted)
        online.value = false
      throw err
    }
    const { status, data } = answer
    if (expect === 'ok' ? status < 200 || status > 299 : expect !== undefined && status !== expect)
      throw new Error((data as { error?: string } | undefined)?.error ?? `${method} ${path} answered ${status}`)
    return answer
  }

  /**
   * A click handler with its state: `running` while `fn` runs, `error` the message it failed
   * with (cleared when it runs again). A failure after the slide was left (the aborted
   * requests) is no error. `onError` sends the message elsewhere instead of `error`.
   * Every demo button's click goes through one of these. `idle()` resolves once the latest run is
   * over (at once if none is going): a clicker step that must follow a run started by a button waits on it.
   */
  function action<A extends unknown[]>(fn: (...args: A) => unknown, onError?: (message: string) => void): DemoAction<A> {
    const running = ref(false)
    const error = ref('')
    let latest: Promise<void> = Promise.resolve()
    function run(...args: A): Promise<void> {
      return (latest = go(...args))
    }
    async function go(...args: A): Promise<void> {
      error.value = ''
      running.value = true
      try {
        await fn(...args)
      }
      catch (err) {
        if (!controller.signal.aborted)
          (onError ?? (m => error.value = m))((err as Error).message)
      }
      finally {
        running.value = false
      }
    }
    return { run, running, error, idle: () => latest }
  }

  /**
   * The presenter's clicker drives the demo: `steps[k]` runs when Slidev's click counter on this
   * slide (`$clicks`) moves forward to k while the demo is active in the main view. The slide's
   * frontmatter says how many clicks it has (`clicks: 2`), and by convention click 1 starts the
   * demo and click 2 shows its result or resets it. Moving back runs nothing; entering the slide
   * from the next one (Slidev lands on its last click) runs nothing either.
   * The same functions stay on the demo's buttons, reachable with Tab and Enter.
   */
  function onClicks(steps: Record<number, () => unknown>): void {
    clickSteps = steps
    watch($clicks, (now, before) => {
      if (!active.value || now <= before)
        return
      if (mode.value === 'replay') {
        if (now === 1)
          play()
        return
      }
      const step = steps[now]
      if (step)
        void step()
    })
  }

  return {
    url: DEMO_URL,
    isAudienceView,
    active,
    online,
    health,
    log,
    whileActive,
    signal,
    request,
    checkHealth,
    action,
    onClicks,
    mode,
    recording,
    playing,
    replayed,
    recordable,
    play,
    stopReplay,
    goLive,
  }
}

export interface DemoAction<A extends unknown[]> {
  run: (...args: A) => Promise<void>
  running: Ref<boolean>
  error: Ref<string>
  /** Resolves once the latest run is over (never rejects: `run` catches). */
  idle: () => Promise<void>
}

export type Demo = ReturnType<typeof useDemo>
export type { Health }
