import type { Browser, Page } from 'playwright-core'
import type { WatchedPage } from '../../tools/browser.ts'
import type { RunningDemoServer } from './demo-server.ts'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll } from 'vitest'
import { launchBrowser, openWatchedPage } from '../../tools/browser.ts'
import { deckPageUrl, deckUrl, openDeck } from './deck.ts'
import { startDemoServer } from './demo-server.ts'

/** A demo server, a headless Chromium and a watched page showing the deck (set once `beforeAll` has run). */
export interface DeckSession extends WatchedPage {
  /** Reassign it when a test restarts the server: `afterAll` closes whichever is current. */
  demos: RunningDemoServer
  browser: Browser
}

export interface DeckSessionOptions {
  /** Demo server overrides; `allowedOrigins` defaults to the deck's origin. */
  demos?: Parameters<typeof startDemoServer>[0]
  /** Console errors the demos cause on purpose (see `openWatchedPage`). */
  ignoreErrors?: RegExp[]
  /** Runs once the demo server is up, before the browser starts (e.g. wait for the broker). */
  ready?: (demos: RunningDemoServer) => Promise<unknown>
}

/**
 * For the enclosing `describe`: starts a demo server the deck may call, Chromium and a watched
 * page with the deck open on slide 1, and closes them after the last test.
 */
export function useDeckSession(options: DeckSessionOptions = {}): DeckSession {
  const session = {} as DeckSession
  beforeAll(async () => {
    session.demos = await startDemoServer({ allowedOrigins: [deckUrl()], ...options.demos })
    await options.ready?.(session.demos)
    session.browser = await launchBrowser()
    Object.assign(session, await openWatchedPage(session.browser, { ignoreErrors: options.ignoreErrors }))
    await openDeck(session.page, session.demos.url)
  })
  afterAll(async () => {
    await session.browser?.close()
    await session.demos?.close()
  })
  return session
}

/** Returns `shot(page, name)`, saving test-results/<topic>/<name>.png (gitignored): look at them. */
export function screenshots(topic: string): (page: Page, name: string) => Promise<void> {
  const dir = join(import.meta.dirname, '../../test-results', topic)
  mkdirSync(dir, { recursive: true })
  return async (page, name) => {
    await page.screenshot({ path: join(dir, `${name}.png`) })
  }
}

/** Counts what a demo server is asked from now on: HTTP requests (streams included) and WebSocket upgrades. */
export function countRequests(demos: RunningDemoServer): { count: () => number, stop: () => void } {
  let n = 0
  const count = () => n++
  demos.server.on('request', count)
  demos.server.on('upgrade', count)
  return {
    count: () => n,
    stop: () => {
      demos.server.off('request', count)
      demos.server.off('upgrade', count)
    },
  }
}

/** The views of the deck where no demo may run, and the demo server only they know about. */
export interface NonAudienceViews {
  /** Shows the deck at `path` (`presenter/3`, `overview`) in a watched page of its own. */
  open: (path: string) => Promise<WatchedPage>
  /** Requests the views' demo server was asked so far: each one a demo that ran where it must not. */
  requests: () => number
  close: () => Promise<void>
}

/**
 * For the presenter view and the overview (live demos run in the audience view only): pages
 * whose `?demo=` points at a second demo server that nothing else knows about, so every
 * request it sees is a connection those views opened.
 */
export async function openNonAudienceViews(browser: Browser): Promise<NonAudienceViews> {
  const demos = await startDemoServer({ allowedOrigins: [deckUrl()], connectBroker: false })
  const asked = countRequests(demos)
  const pages: WatchedPage[] = []
  return {
    async open(path) {
      const view = await openWatchedPage(browser)
      pages.push(view)
      await view.page.goto(deckPageUrl(path, demos.url))
      return view
    },
    requests: asked.count,
    async close() {
      asked.stop()
      await Promise.all(pages.map(v => v.context.close()))
      await demos.close()
    },
  }
}
