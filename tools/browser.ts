// Headless Chromium that reaches no host but this machine, for the e2e tests, `npm run record`
// (scripts/record.ts) and the deck bench (bench/deck.ts).
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { existsSync } from 'node:fs'
import { chromium } from 'playwright-core'

/** The system Chromium (Debian `chromium`); override with CHROMIUM_PATH. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/** Launches headless Chromium, or fails saying how to get one. */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH))
    throw new Error(`No Chromium at ${CHROMIUM_PATH}. Install it with \`apt-get install chromium\` or point CHROMIUM_PATH at a Chromium/Chrome binary.`)
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--no-sandbox', // tests run as root in CI
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      // Chromium's own background traffic would be counted as non-local requests.
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-default-apps',
      // The talk must work offline: no host but this machine resolves, IP addresses included
      // (the rules apply to them too; [::1] is excluded as ::1). Not blocked with Playwright's
      // request interception: that holds every request until the test process lets it go and
      // passes every response's head through the browser process, detours that a fetch() answer
      // takes and an event stream's later bytes do not, so the race timed the harness (about 1 ms
      // more per answer, and 25-136 ms now and then on a loaded machine).
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1, EXCLUDE ::1',
    ],
  })
}

export interface WatchedPage {
  page: Page
  context: BrowserContext
  /** Console errors and uncaught page errors seen so far. */
  errors: string[]
  /** Requests to any host other than localhost / 127.0.0.1 / [::1] (they fail: see `launchBrowser`). */
  remoteRequests: string[]
}

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]'])

/**
 * A 16:9 page that records console errors and every request for a host other than this
 * machine (the browser resolves no other host: the talk must work offline).
 */
export async function openWatchedPage(browser: Browser, options: { ignoreErrors?: RegExp[] } = {}): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 }, deviceScaleFactor: 1 })
  const errors: string[] = []
  const remoteRequests: string[] = []
  context.on('request', (request) => {
    const url = new URL(request.url())
    if (url.protocol !== 'data:' && url.protocol !== 'blob:' && !LOCAL_HOSTS.has(url.hostname))
      remoteRequests.push(url.href)
  })
  const page = await context.newPage()
  const ignored = (text: string) => options.ignoreErrors?.some(re => re.test(text)) ?? false
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !ignored(msg.text()))
      errors.push(`console: ${msg.text()}`)
  })
  page.on('pageerror', (err) => {
    if (!ignored(err.message))
      errors.push(`pageerror: ${err.message}`)
  })
  return { page, context, errors, remoteRequests }
}
