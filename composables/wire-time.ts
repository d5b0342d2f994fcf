/**
 * When answers reached this machine, as the browser's network stack saw them: Resource Timing
 * (W3C Resource Timing; `responseEnd`, exposed for cross-origin fetches too, no
 * Timing-Allow-Origin needed). A time taken in the page's own code (`epochMs()` once a promise
 * resolved) moves when the page is busy: three answers that arrive together are handled one after
 * the other, each after the previous one's rendering, and on a loaded laptop that spreads them by
 * tens of milliseconds. The network stack stamps each as its bytes arrive, whatever the page is doing.
 */

// Every request adds an entry and the browser keeps 250 by default; a talk makes thousands.
if (typeof window !== 'undefined' && typeof performance.setResourceTimingBufferSize === 'function') {
  performance.setResourceTimingBufferSize(2000)
  performance.addEventListener('resourcetimingbufferfull', () => performance.clearResourceTimings())
}

/**
 * Epoch ms (0.01 ms precision, the clock of `wire/clock.ts`) at which the whole answer to the
 * newest fetch of `url` started at or after `since` (epoch ms) had arrived: its `responseEnd`.
 * `undefined` when the browser has no such entry, yet (it adds one as the response ends) or at all
 * (outside a browser, or a fetch that was aborted).
 */
export function arrivedAt(url: string, since: number): number | undefined {
  const e = resourceTiming(url, since)
  return e && Math.round((performance.timeOrigin + e.responseEnd) * 100) / 100
}

/**
 * The browser's Resource Timing entry (W3C Resource Timing) for the newest fetch of `url` started
 * at or after `since` (epoch ms) whose answer has fully arrived, or `undefined` (none yet, none at
 * all, or outside a browser). Its phases (`requestStart`, `responseStart`, `transferSize`...) are 0
 * across origins unless the server sent `Timing-Allow-Origin`.
 */
export function resourceTiming(url: string, since: number): PerformanceResourceTiming | undefined {
  if (typeof window === 'undefined' || typeof performance.getEntriesByName !== 'function')
    return undefined
  const name = new URL(url, window.location.href).href
  const from = since - performance.timeOrigin - 1 // the two clocks round differently
  const entries = performance.getEntriesByName(name, 'resource') as PerformanceResourceTiming[]
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i]!
    if (e.startTime >= from && e.responseEnd > 0)
      return e
  }
  return undefined
}

/** {@link arrivedAt}, giving the browser one task to add the entry if it is not there yet. */
export async function arrivedAtSoon(url: string, since: number): Promise<number | undefined> {
  const at = arrivedAt(url, since)
  if (at !== undefined || typeof window === 'undefined')
    return at
  await new Promise(resolve => setTimeout(resolve, 0))
  return arrivedAt(url, since)
}
