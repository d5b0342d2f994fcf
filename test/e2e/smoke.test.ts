import { describe, expect, it } from 'vitest'
import { currentSlide, deckUrl, goToSlide } from '../support/deck.ts'
import { startDemoServer } from '../support/demo-server.ts'
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
      await presenter.page.getByTestId('demo-not-main').first().waitFor({ timeout: 60_000 })
      const overview = await views.open('overview')
      await overview.page.getByTestId('demo-not-main').first().waitFor({ timeout: 60_000 })
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
})

