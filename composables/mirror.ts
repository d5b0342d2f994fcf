import type { Ref, WatchSource } from 'vue'
import type { DemoMode, StateSnapshot } from './replay'
import type { TrafficEntry, TrafficLog } from './traffic'
import { ref, watch } from 'vue'

/**
 * The presenter view shows what the room sees. A demo live in the audience (main) view publishes
 * its state (the refs it named with `recordable`) and its traffic log on a `BroadcastChannel`
 * (same browser, same origin: how the presenter view and the main view are opened on stage, and
 * how Slidev's own build syncs them) each time they change, at most every
 * {@link MIRROR_THROTTLE_MS} ms; the same demo in the presenter view's current-slide pane applies
 * what it hears through the path a replay uses, and opens no connection of its own.
 */

/** The channel's name: one per deck, whichever demo server the views talk to. */
export const MIRROR_CHANNEL = 'wire-patterns:demo-mirror'
/** A publishing demo sends at most one state message per this many ms while it changes. */
export const MIRROR_THROTTLE_MS = 100

/** The traffic log as a mirror sends it: entries without `data` (no view draws it), and its clock. */
export interface MirroredLog {
  entries: TrafficEntry[]
  /** The log's `now()` when sent, ms. */
  now: number
  /** The log's clock stands still at `now` (a replay that ended). */
  frozen: boolean
}

/**
 * What crosses the channel. `key` names one demo on one slide (`<id>@<slide no>`), `source` one
 * publishing view and `mirror` one following view (random ids): a mirror follows the first source
 * it hears until that one says `bye`. A publisher sends states only while a mirror follows it, so
 * a main view without a presenter view does no work for it.
 * - `hello`: a view began publishing (its slide was entered); mirrors of that key answer `ask`;
 * - `ask`: a mirror follows the key from now on (it just came on screen, or heard `hello`) and wants the state now;
 * - `state`: the demo's state and log, and whether that view shows it live or replays a recording;
 * - `unfollow`: the mirror stopped following (its slide was left);
 * - `bye`: the view stopped publishing (its slide was left, or it closed).
 */
export type MirrorMessage =
  | { type: 'hello', key: string, source: string }
  | { type: 'ask', key: string, mirror: string }
  | { type: 'state', key: string, source: string, mode: DemoMode, state: StateSnapshot, log: MirroredLog }
  | { type: 'unfollow', key: string, mirror: string }
  | { type: 'bye', key: string, source: string }

type Listener = (message: MirrorMessage) => void

/** The page's one channel, open while anything uses it (a publisher or a mirror), closed after the last. */
const shared: { channel?: BroadcastChannel, listeners: Set<Listener> } = { listeners: new Set() }

/** Listens on the deck's mirror channel (opened on first use); returns the function that stops listening (and closes it after the last). */
function join(listener: Listener): () => void {
  if (typeof BroadcastChannel === 'undefined')
    return () => {}
  shared.listeners.add(listener)
  if (!shared.channel) {
    shared.channel = new BroadcastChannel(MIRROR_CHANNEL)
    shared.channel.onmessage = (ev: MessageEvent<MirrorMessage>) => {
      for (const l of [...shared.listeners]) l(ev.data)
    }
  }
  return () => {
    shared.listeners.delete(listener)
    if (!shared.listeners.size) {
      shared.channel?.close()
      shared.channel = undefined
    }
  }
}

function randomId(): string {
  return Math.random().toString(36).slice(2)
}

function post(message: MirrorMessage): void {
  shared.channel?.postMessage(message)
}

/** The number of mirror channels this page has open (0 or 1): for tests and leak checks. */
export function openMirrorChannels(): number {
  return shared.channel ? 1 : 0
}

/** What a publisher sends of `log`. */
function logMessage(log: TrafficLog): MirroredLog {
  return { entries: log.entries.value.map(({ data: _data, ...e }) => e), now: log.now(), frozen: log.frozenAt !== undefined }
}

/** What a demo gives its mirror: how to read and watch its state and log, and how to set them. */
export interface MirrorHost {
  log: TrafficLog
  mode: Ref<DemoMode>
  snapshot: () => StateSnapshot
  /** The refs and reactive objects the state is read from (watched, deep). */
  sources: () => WatchSource[]
  apply: (state: StateSnapshot) => void
}

/**
 * One demo's side of the mirror. In the audience view, `publish(key)` (on slide enter) says
 * `hello`, then, while a mirror follows, sends the state and log when one asks and whenever they
 * change (at most every {@link MIRROR_THROTTLE_MS} ms), until `stop()` (on leave) says `bye`. In
 * the presenter view, `follow(key)` (while its slide is the current one) asks for the state (again
 * on each `hello`) and applies every state message of that key from one source; `mirrored` is
 * then that view's mode (null: nothing heard, or it said `bye`, or `stop()`), and `onLost` runs
 * when a followed source goes (or `stop()` is called while following), so the demo shows its
 * fallback again. `stop()` closes everything it opened (watchers, timer, the page's channel after
 * its last user).
 */
export function useMirror(host: MirrorHost, onLost: () => void) {
  const mirrored = ref<DemoMode | null>(null)
  let cleanup: (() => void) | undefined
  function stop(): void {
    const c = cleanup
    cleanup = undefined
    c?.()
  }
  return {
    mirrored,
    stop,
    publish(key: string): void {
      stop()
      cleanup = publishMirror(host, key)
    },
    follow(key: string): void {
      stop()
      cleanup = followMirror(host, key, mirrored, onLost)
    },
  }
}

/** The audience view's side of `useMirror`: returns the function that stops it (says `bye`). */
function publishMirror(host: MirrorHost, key: string): () => void {
  const source = randomId()
  const mirrors = new Set<string>()
  let timer: ReturnType<typeof setTimeout> | undefined
  let lastSent = 0
  let unwatch: Array<() => void> = []
  const send = () => {
    clearTimeout(timer)
    timer = undefined
    lastSent = Date.now()
    post({ type: 'state', key, source, mode: host.mode.value, state: host.snapshot(), log: logMessage(host.log) })
  }
  const changed = () => {
    timer ??= setTimeout(send, Math.max(0, lastSent + MIRROR_THROTTLE_MS - Date.now()))
  }
  // Watched only while a mirror follows: a main view alone does no work for it.
  const watching = (on: boolean) => {
    if (on && !unwatch.length)
      unwatch = [watch(host.log.entries, changed), watch(host.mode, changed), watch(host.sources(), changed, { deep: true })]
    if (!on) {
      for (const u of unwatch) u()
      unwatch = []
      clearTimeout(timer)
      timer = undefined
    }
  }
  const leave = join((m) => {
    if (m.key === key && m.type === 'ask') {
      mirrors.add(m.mirror)
      watching(true)
      send()
    }
    else if (m.key === key && m.type === 'unfollow' && mirrors.delete(m.mirror) && !mirrors.size) {
      watching(false)
    }
  })
  post({ type: 'hello', key, source })
  return () => {
    watching(false)
    post({ type: 'bye', key, source })
    leave()
  }
}

/** The presenter view's side of `useMirror`: returns the function that stops following (and runs `onLost` if it followed a source). */
function followMirror(host: MirrorHost, key: string, mirrored: Ref<DemoMode | null>, onLost: () => void): () => void {
  const me = randomId()
  let source: string | undefined
  const lost = () => {
    source = undefined
    mirrored.value = null
    onLost()
  }
  const leave = join((m) => {
    if (m.key !== key || m.type === 'ask' || m.type === 'unfollow')
      return
    if (m.type === 'hello') {
      if (source === undefined)
        post({ type: 'ask', key, mirror: me })
      return
    }
    if (m.type === 'bye') {
      if (m.source === source)
        lost()
      return
    }
    if (source !== undefined && m.source !== source)
      return // a second main view: keep to the first one
    source = m.source
    mirrored.value = m.mode
    host.apply(m.state)
    host.log.load(m.log.entries, m.log.now)
    if (m.log.frozen)
      host.log.freeze(m.log.now)
  })
  post({ type: 'ask', key, mirror: me })
  return () => {
    post({ type: 'unfollow', key, mirror: me })
    leave()
    if (source !== undefined)
      lost()
  }
}
