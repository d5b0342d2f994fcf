import type { ComputedRef, Ref } from 'vue'
import type { Health } from '../wire/health'
import { onSlideEnter, onSlideLeave, useNav, useSlideContext } from '@slidev/client'
import { computed, onBeforeUnmount, ref } from 'vue'
import { DEMO_URL } from './demo-url'

/** How often an active demo checks that the demo server is still there, in ms. */
const HEALTH_INTERVAL_MS = 2000
/** A health check slower than this counts as offline, in ms. */
const HEALTH_TIMEOUT_MS = 1500

/** What the slide lifecycle calls back: on entering (active in the audience view), on leaving, and on each health answer while active. */
export interface SlideHooks {
  enter: () => void
  leave: () => void
  /** After each health check while the slide is active (`online` is set by then). */
  checked?: () => void
}

/** The slide's state and its live work: see {@link useSlideLifecycle}. */
export interface SlideLifecycle {
  /** True in the audience (main) view, where live demos run; false in the presenter view, overview and print. */
  isAudienceView: ComputedRef<boolean>
  /** The slide is on screen in the audience view. */
  active: Ref<boolean>
  /** The demo server answered its last health check; null until the first one answers. */
  online: Ref<boolean | null>
  /** Its last `GET /health` answer (null: none, or offline). */
  health: Ref<Health | null>
  /** Checks `GET /health` now, then every 2 s while the slide is active (1.5 s timeout). */
  checkHealth: () => Promise<void>
  /** Runs `fn` each time live work starts; the function it returns runs when it stops. */
  whileActive: (fn: () => void | (() => void)) => void
  /** The abort signal of the current live run: aborted when it stops (the slide left, a replay began). */
  signal: () => AbortSignal
  /** Starts everything `whileActive` registered (with a fresh signal), and stops it. */
  startLive: () => void
  stopLive: () => void
}

/**
 * A demo's slide: knows when it is active in the audience view (not the overview, presenter
 * previews or print), so a deck open in several windows does not multiply connections; polls the
 * demo server's health while active; and runs the live work registered with `whileActive`
 * between `startLive()` and `stopLive()` (everything stopped on leave). `hooks.enter` decides
 * what entering means (live or a replay); `hooks.leave` cleans up.
 */
export function useSlideLifecycle(hooks: SlideHooks): SlideLifecycle {
  const { $renderContext } = useSlideContext()
  const { isPrintMode } = useNav()
  const isAudienceView = computed(() => $renderContext.value === 'slide' && !isPrintMode.value)
  const active = ref(false)
  const { online, health, checkHealth, stopChecking } = useHealth(() => active.value, () => hooks.checked?.())
  const work = useLiveWork()

  function activate(): void {
    if (active.value || !isAudienceView.value)
      return
    active.value = true
    hooks.enter()
  }

  function deactivate(): void {
    if (!active.value)
      return
    active.value = false
    stopChecking()
    hooks.leave()
  }

  onSlideEnter(activate)
  onSlideLeave(deactivate)
  onBeforeUnmount(deactivate)
  return { isAudienceView, active, online, health, checkHealth, ...work }
}

/** `GET /health` now and every {@link HEALTH_INTERVAL_MS} while `active()`; `checked` after each answer while active. */
function useHealth(active: () => boolean, checked: () => void) {
  const online = ref<boolean | null>(null)
  const health = ref<Health | null>(null)
  let timer: ReturnType<typeof setTimeout> | undefined

  async function checkHealth(): Promise<void> {
    clearTimeout(timer)
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
    if (active())
      checked()
    if (active())
      timer = setTimeout(checkHealth, HEALTH_INTERVAL_MS)
  }
  return { online, health, checkHealth, stopChecking: () => clearTimeout(timer) }
}

/** The live work of a slide: what `whileActive` registered, started and stopped together, with one abort signal per run. */
function useLiveWork() {
  const onStart: Array<() => void | (() => void)> = []
  let cleanups: Array<() => void> = []
  let controller = new AbortController()
  let running = false

  function startLive(): void {
    controller = new AbortController()
    running = true
    for (const start of onStart) {
      const stop = start()
      if (stop)
        cleanups.push(stop)
    }
  }

  function stopLive(): void {
    if (!running)
      return
    running = false
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

  function whileActive(fn: () => void | (() => void)): void {
    onStart.push(fn)
    if (running) {
      const s = fn()
      if (s)
        cleanups.push(s)
    }
  }

  return { whileActive, startLive, stopLive, signal: () => controller.signal }
}
