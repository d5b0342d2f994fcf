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
