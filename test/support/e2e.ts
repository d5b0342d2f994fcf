import type { Browser, Page } from 'playwright-core'
import type { WatchedPage } from './browser.ts'
import type { RunningDemoServer } from './demo-server.ts'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll } from 'vitest'
import { launchBrowser, openWatchedPage } from './browser.ts'
import { deckUrl, openDeck } from './deck.ts'
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
