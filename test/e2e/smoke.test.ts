import { describe, expect, it } from 'vitest'
import { currentSlide, deckUrl, goToSlide } from '../support/deck.ts'
import { startDemoServer } from '../support/demo-server.ts'
import { useDeckSession } from '../support/e2e.ts'

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
    // A second demo server that only the presenter and overview tabs know about: every request
    // it sees would be a duplicate connection those views opened.
    const shadow = await startDemoServer({ allowedOrigins: [deckUrl()], connectBroker: false })
    let shadowRequests = 0
    shadow.server.on('request', () => shadowRequests++)
    let mainRequests = 0
    const countMain = () => mainRequests++
    deck.demos.server.on('request', countMain)
    const other = await deck.browser.newContext({ viewport: { width: 1280, height: 720 } })
    try {
      const presenter = await other.newPage()
      await presenter.goto(`${deckUrl()}/presenter/${no}?demo=${encodeURIComponent(shadow.url)}`)
      await presenter.getByTestId('demo-not-main').first().waitFor({ timeout: 60_000 })
      const overview = await other.newPage()
      await overview.goto(`${deckUrl()}/overview?demo=${encodeURIComponent(shadow.url)}`)
      await overview.getByTestId('demo-not-main').first().waitFor({ timeout: 60_000 })
      // An active demo checks /health every 2 s: give them time to show themselves.
      await page.waitForTimeout(5000)
      expect(shadowRequests, 'requests from the presenter view and the overview').toBe(0)
      expect(mainRequests, 'the main view, on the same slide, does run its demo').toBeGreaterThan(0)
    }
    finally {
      deck.demos.server.off('request', countMain)
      await other.close()
      await shadow.close()
    }
  })
})

