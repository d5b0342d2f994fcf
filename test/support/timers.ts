import { createHook } from 'node:async_hooks'

/** Live timers whose creation passed through a file under `demos/<path>`. */
export interface DemoTimers {
  /** How many of them are alive now. */
  count: () => number
  /** Stops tracking. */
  stop: () => void
}

/**
 * Tracks the timers (setTimeout/setInterval) created by demo-server code under `demos/<path>`
 * (default: all of demos/), from now on, until `stop()`. Counting every Timeout of the process
 * would also count the test runner's and other tests' timers, which come and go on their own
 * schedule; a stack through the demo's own file says whose timer it is.
 */
export function trackDemoTimers(path = ''): DemoTimers {
  const alive = new Set<number>()
  const where = `/demos/${path}`
  const hook = createHook({
    init(asyncId, type) {
      if (type === 'Timeout' && new Error('where').stack?.includes(where))
        alive.add(asyncId)
    },
    destroy(asyncId) {
      alive.delete(asyncId)
    },
  }).enable()
  return { count: () => alive.size, stop: () => void hook.disable() }
}
