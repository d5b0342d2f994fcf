import type { Browser } from 'playwright-core'
import type { WatchedPage } from '../../tools/browser.ts'
import type { RunningStart } from '../../tools/npm-start.ts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchBrowser, openWatchedPage } from '../../tools/browser.ts'
import { allSlides, currentSlide, findClipped, goToSlide, waitForSlide, walkDeck } from '../support/deck.ts'
import { startNpmStart } from '../../tools/npm-start.ts'

/** The number of the slide a view of the deck shows. */
const position = (view: WatchedPage) => view.page.evaluate(() => (window as any).__slidev__?.nav.currentSlideNo as number | undefined)

describe('npm start: the built deck, its presenter view, and the demo server it started', () => {
  let started: RunningStart
  let browser: Browser
  beforeAll(async () => {
    // A fresh clone builds the deck here first (about 15 s, longer on a loaded machine).
    started = await startNpmStart()
    browser = await launchBrowser()
  }, 180_000)
  afterAll(async () => {
    await browser?.close()
    await started?.stop()
  })

  it('serves the built deck and the presenter view, which shows the notes and leads the audience view; a demo slide reaches the demo server npm start started', async () => {
    expect(started.output()).toMatch(/built in \.cache\/deck \((rebuilt now|up to date)/)
    expect(started.output()).toContain(`(presenter view: ${started.deckUrl}/presenter/)`)
    expect(started.output()).toContain(`demo server  ${started.demoUrl}`)

    const audience = await openWatchedPage(browser)
    // The presenter view in the same browser (context), as on stage: the build syncs them over BroadcastChannel.
    const presenter: WatchedPage = { ...audience, page: await audience.context.newPage() }
    presenter.page.on('pageerror', err => audience.errors.push(`presenter pageerror: ${err.message}`))
    presenter.page.on('console', (msg) => {
      if (msg.type() === 'error')
        audience.errors.push(`presenter console: ${msg.text()}`)
    })
    await audience.page.goto(`${started.deckUrl}/1`)
    expect(await waitForSlide(audience.page)).toBe(1)
    await presenter.page.goto(`${started.deckUrl}/presenter/1`)
    await waitForSlide(presenter.page, { settle: false })
    // Slide 1's notes, from the build.
    await expect.poll(() => presenter.page.locator('.slidev-note').first().textContent()).toContain('Welcome.')
    await presenter.page.keyboard.press('ArrowRight')
    await expect.poll(() => position(presenter)).toBe(2)
    await expect.poll(() => position(audience), { timeout: 10_000 }).toBe(2)
    await expect.poll(() => presenter.page.locator('.slidev-note').first().textContent()).toContain('road map')

    await presenter.page.close()
    await goToSlide(audience.page, 'The smallest conversation')
    const slide = currentSlide(audience.page)
    // The deck learnt the demo server's URL from npm start (/demo-url.js), not from the build.
    expect(await slide.getByTestId('demo-frame').textContent()).toContain(started.demoUrl)
    await slide.getByTestId('ping-button').click()
    await expect.poll(() => slide.getByTestId('ping-table').locator('tbody tr').count()).toBe(1)
    expect(await slide.getByTestId('ping-table').locator('tbody tr').first().textContent()).toContain('200')

    expect(audience.remoteRequests, 'requests that left the machine').toEqual([])
    expect(audience.errors, 'console errors').toEqual([])
    await audience.context.close()
  })

  // deck.test.ts walks the dev server; this is what is presented, built by Vite for production.
  it('walks every slide of the built deck with the arrow keys: nothing clipped, no console error, nothing leaves the machine', { timeout: 600_000 }, async () => {
    // The walk's clicks run the demos: with no broker here (AMQP_URL points nowhere) the messaging
    // demos get the 503 they are built to show, the stateful and webhooks demos a deliberate 401, the
    // sidecar demo an order's 502 (the app's answer when the price service failed it); Chromium logs
    // every such answer as a console error. Anything else still fails the walk.
    const view = await openWatchedPage(browser, { ignoreErrors: [/status of 503 \(Service Unavailable\)/, /status of 401/, /status of 502 \(Bad Gateway\)/] })
    try {
      await view.page.goto(`${started.deckUrl}/1`)
      const overflowing: string[] = []
      const seen = await walkDeck(view.page, {
        onSlide: async (no) => {
          const over = await findClipped(view.page, no)
          if (over)
            overflowing.push(`slide ${no}: ${over}`)
        },
      })
      expect([...seen].sort((a, b) => a - b)).toEqual(await allSlides(view.page))
      expect(overflowing, 'slides whose content does not fit').toEqual([])
      expect(view.remoteRequests, 'requests that left the machine').toEqual([])
      expect(view.errors, 'console errors').toEqual([])
    }
    finally {
      await view.context.close()
    }
  })
})
