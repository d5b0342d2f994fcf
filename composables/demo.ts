import { onSlideEnter, onSlideLeave, useNav, useSlideContext } from '@slidev/client'
import type { Ref } from 'vue'
import { computed, onBeforeUnmount, ref, watch } from 'vue'
import { epochMs } from '../demos/clock'
import { byteLength, TrafficLog } from './traffic'
import type { Health } from '../demos/app'

const DEMO_URL_KEY = 'wire-patterns:demo-url'

/**
 * Keeps `?demo=<url>` of the page's URL for this tab (sessionStorage), since Slidev's navigation
 * drops the query. Called at start-up by setup/main.ts, before the first navigation.
 */
export function rememberDemoUrl(): void {
  const fromQuery = typeof window === 'undefined' ? null : new URLSearchParams(window.location.search).get('demo')
  if (fromQuery)
    window.sessionStorage.setItem(DEMO_URL_KEY, fromQuery)
}

/**
 * Base URL of the demo server. Default `http://127.0.0.1:3031`; `VITE_DEMO_URL` at build/dev
 * time changes it, the server that serves the deck can say it at run time in `/demo-url.js`
 * (`npm start` does: `window.__DEMO_URL__`), and `?demo=<url>` on the deck's URL overrides
 * all of them for this browser tab.
 */
export const DEMO_URL = resolveDemoUrl()

function resolveDemoUrl(): string {
  rememberDemoUrl()
  const inBrowser = typeof window !== 'undefined'
  const url = (inBrowser && (window.sessionStorage.getItem(DEMO_URL_KEY) || window.__DEMO_URL__)) || import.meta.env.VITE_DEMO_URL || 'http://127.0.0.1:3031'
  return url.replace(/\/+$/, '')
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

/**
 * The deck side of every demo: knows the demo server, reports online/offline, and records
 * each request it makes in `log`. Work starts only while the slide is active in the main
 * view (not overview, presenter previews or print), so a deck open in several windows does
 * not multiply connections; everything started in `whileActive` is stopped on leave.
 */
export function useDemo() {
  const { $renderContext, $clicks } = useSlideContext()
  const { isPrintMode } = useNav()
  /** True in the audience (main) view, where live demos run; false in the presenter view, overview and print. */
  const isAudienceView = computed(() => $renderContext.value === 'slide' && !isPrintMode.value)
  const active = ref(false)
  /** null until the first health check answers. */
  const online = ref<boolean | null>(null)
  const health = ref<Health | null>(null)
  const log = new TrafficLog()

  /** What `whileActive` starts on every activation; `cleanups` what stops it on leave. */
  const onActivate: Array<() => void | (() => void)> = []
  let cleanups: Array<() => void> = []
  let controller = new AbortController()
  let healthTimer: ReturnType<typeof setTimeout> | undefined

  async function checkHealth(): Promise<void> {
    try {
      const res = await fetch(`${DEMO_URL}/health`, { signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS), cache: 'no-store' })
      health.value = res.ok ? await res.json() as Health : null
      online.value = res.ok
    }
    catch {
      online.value = false
      health.value = null
    }
    if (active.value)
      healthTimer = setTimeout(checkHealth, HEALTH_INTERVAL_MS)
  }

  function activate(): void {
    if (active.value || !isAudienceView.value)
      return
    active.value = true
    controller = new AbortController()
    void checkHealth()
    for (const start of onActivate) {
      const stop = start()
      if (stop)
        cleanups.push(stop)
    }
  }

  function deactivate(): void {
    if (!active.value)
      return
    active.value = false
    clearTimeout(healthTimer)
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

  onSlideEnter(activate)
  onSlideLeave(deactivate)
  onBeforeUnmount(deactivate)

  /**
   * Runs `fn` each time the slide becomes active; the function it returns runs when the
   * slide is left. Use it for streams, sockets and timers.
   */
  function whileActive(fn: () => void | (() => void)): void {
    onActivate.push(fn)
    if (active.value) {
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
    watch($clicks, (now, before) => {
      if (!active.value || now <= before)
        return
      const step = steps[now]
      if (step)
        void step()
    })
  }

  return { url: DEMO_URL, isAudienceView, active, online, health, log, whileActive, signal, request, checkHealth, action, onClicks }
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
