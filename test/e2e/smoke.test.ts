import type { Browser } from 'playwright-core'
import type { RunningDemoServer } from '../support/demo-server.ts'
import type { WatchedPage } from '../support/browser.ts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchBrowser, openWatchedPage } from '../support/browser.ts'
import { currentSlide, deckUrl, goToSlide, openDeck } from '../support/deck.ts'
import { startDemoServer } from '../support/demo-server.ts'

describe('smoke demo: the deck <-> demo server chain', () => {
  let browser: Browser
  let demos: RunningDemoServer
  let w: WatchedPage

  beforeAll(async () => {
    demos = await startDemoServer({ allowedOrigins: [deckUrl()], connectBroker: false })
    browser = await launchBrowser()
    // The demo server is stopped on purpose below: the browser logs the refused requests.
    w = await openWatchedPage(browser, { ignoreErrors: [/ERR_CONNECTION_REFUSED|Failed to load resource/] })
  })
  afterAll(async () => {
    await browser?.close()
    await demos?.close()
  })

  it('shows a live round trip, the offline state when the server stops, and recovers without a reload', async () => {
    const { page } = w
    await openDeck(page, demos.url)
    await goToSlide(page, 'The smallest conversation')
    const slide = currentSlide(page)

    await slide.getByTestId('ping-button').click()
    await expect.poll(() => slide.getByTestId('ping-table').locator('tbody tr').count()).toBe(1)
    await expect(slide.getByTestId('ping-table').locator('tbody tr').first().textContent()).resolves.toContain('200')

    const port = demos.port
    await demos.close()
    await slide.getByTestId('demo-offline').waitFor({ timeout: 10_000 })
    expect(await slide.getByTestId('demo-offline').textContent()).toContain('npm run demos')

    demos = await startDemoServer({ port, allowedOrigins: [deckUrl()], connectBroker: false })
    await slide.getByTestId('ping-button').waitFor({ timeout: 10_000 })
    await slide.getByTestId('ping-button').click()
    await expect.poll(() => slide.getByTestId('ping-table').locator('tbody tr').count()).toBe(2)
    expect(w.remoteRequests).toEqual([])
    expect(w.errors).toEqual([])
  })
})
