import type { Ref } from 'vue'
import { ref } from 'vue'

export interface DemoAction<A extends unknown[]> {
  run: (...args: A) => Promise<void>
  running: Ref<boolean>
  error: Ref<string>
  /** Resolves once the latest run is over (never rejects: `run` catches). */
  idle: () => Promise<void>
}

/**
 * A click handler with its state: `running` while `fn` runs, `error` the message it failed
 * with (cleared when it runs again). A failure once `signal()` is aborted (the slide was left:
 * the aborted requests) is no error. `onError` sends the message elsewhere instead of `error`.
 * Every demo button's click goes through one of these. `idle()` resolves once the latest run is
 * over (at once if none is going): a clicker step that must follow a run started by a button waits on it.
 */
export function createAction<A extends unknown[]>(signal: () => AbortSignal, fn: (...args: A) => unknown, onError?: (message: string) => void): DemoAction<A> {
  const running = ref(false)
  const error = ref('')
  let latest: Promise<void> = Promise.resolve()
  async function go(...args: A): Promise<void> {
    error.value = ''
    running.value = true
    try {
      await fn(...args)
    }
    catch (err) {
      if (!signal().aborted)
        (onError ?? (m => error.value = m))((err as Error).message)
    }
    finally {
      running.value = false
    }
  }
  return { run: (...args: A) => (latest = go(...args)), running, error, idle: () => latest }
}
