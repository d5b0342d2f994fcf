import { describe, expect, it } from 'vitest'
import { currentSlide, deckPageUrl, deckUrl, goToSlide, slideNumberOf } from '../support/deck.ts'
import { startDemoServer } from '../support/demo-server.ts'
import { openWatchedPage } from '../../tools/browser.ts'
import { countRequests, openNonAudienceViews, useDeckSession } from '../support/e2e.ts'

describe('smoke demo: the deck <-> demo server chain', () => {
  const deck = useDeckSession({
    demos: { connectBroker: false },
    // The demo server is stopped on purpose below: the browser logs the refused requests.
    ignoreErrors: [/ERR_CONNECTION_REFUSED|Failed to load resource/],
  })

  it('shows a live round trip, the offline state when the server stops, and recovers without a reload', async () => {
    const { page } = deck
    await goToSlide(page, 'The smallest conversation')
    const slide = currentSlide(page)

    await slide.getByTestId('ping-button').click()
    await expect.poll(() => slide.getByTestId('ping-table').locator('tbody tr').count()).toBe(1)
    await expect(slide.getByTestId('ping-table').locator('tbody tr').first().textContent()).resolves.toContain('200')

    const port = deck.demos.port
    await deck.demos.close()
    await slide.getByTestId('demo-offline').waitFor({ timeout: 10_000 })
    expect(await slide.getByTestId('demo-offline').textContent()).toContain('npm run demos')

    deck.demos = await startDemoServer({ port, allowedOrigins: [deckUrl()], connectBroker: false })
    await slide.getByTestId('ping-button').waitFor({ timeout: 10_000 })
    await slide.getByTestId('ping-button').click()
    await expect.poll(() => slide.getByTestId('ping-table').locator('tbody tr').count()).toBe(2)
    expect(deck.remoteRequests).toEqual([])
    expect(deck.errors).toEqual([])
  })

  it('runs demos only in the main view: the presenter view and the overview open no connection of their own', async () => {
    const { page } = deck
    const no = await goToSlide(page, 'The smallest conversation')
    const views = await openNonAudienceViews(deck.browser)
    const audience = countRequests(deck.demos)
    try {
      const presenter = await views.open(`presenter/${no}`)
      // They show how the demo's recorded run ended, labelled as a recording.
      await presenter.page.getByTestId('demo-recorded').first().waitFor({ timeout: 60_000 })
      const overview = await views.open('overview')
      await overview.page.getByTestId('demo-recorded').first().waitFor({ timeout: 60_000 })
      // An active demo checks /health every 2 s: give them time to show themselves.
      await page.waitForTimeout(5000)
      expect(views.requests(), 'requests from the presenter view and the overview').toBe(0)
      expect(audience.count(), 'the main view, on the same slide, does run its demo').toBeGreaterThan(0)
    }
    finally {
      audience.stop()
      await views.close()
    }
  })

  it('keeps the ?demo= server of the URL it was opened with, even when the presenter jumps to a demo slide at once', async () => {
    const other = await startDemoServer({ allowedOrigins: [deckUrl()], connectBroker: false })
    const seen = countRequests(other)
    const fresh = await openWatchedPage(deck.browser) // a new tab: nothing remembered yet
    try {
      const no = await slideNumberOf(deck.page, 'The smallest conversation')
      await fresh.page.goto(deckPageUrl(1, other.url), { waitUntil: 'commit' })
      // Jump before slide 1 has even rendered (the router drops the query on the way).
      await fresh.page.waitForFunction(() => (window as any).__slidev__?.nav)
      await fresh.page.evaluate(n => (window as any).__slidev__.nav.go(n), no)
      const slide = currentSlide(fresh.page)
      await slide.getByTestId('ping-button').waitFor({ timeout: 60_000 })
      await expect.poll(() => seen.count(), { timeout: 10_000 }).toBeGreaterThan(0)
      expect(await slide.getByTestId('demo-frame').textContent()).toContain(other.url)
      expect(await slide.getByTestId('demo-offline').count()).toBe(0)
    }
    finally {
      seen.stop()
      await fresh.context.close()
      await other.close()
    }
  })
})
