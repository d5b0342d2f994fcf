import { describe, expect, it } from 'vitest'
import { allSlides, findClipped, walkDeck } from '../support/deck.ts'
import { openNonAudienceViews, screenshots, useDeckSession } from '../support/e2e.ts'

/** Every slide's screenshot (gitignored): look at them. */
const shot = screenshots('slides')

describe('the whole deck, walked with the arrow keys', () => {
  const deck = useDeckSession()

  // Generous: the dev server compiles each slide on first view, on a shared two-core machine.
  it('renders every slide styled, unclipped, offline, without console errors', { timeout: 900_000 }, async () => {
    const { page } = deck
    const overflowing: string[] = []
    /** One slide: its screenshot; it fits and it is styled. */
    async function check(no: number): Promise<void> {
      await shot(page, String(no).padStart(3, '0'))
      // The slide's content must fit the 16:9 canvas: nothing cut off, no failed diagram.
      const over = await findClipped(page, no)
      if (over)
        overflowing.push(`slide ${no}: ${over}`)
      // Styled: the theme's fonts and UnoCSS utilities are in effect.
      const font = await page.evaluate(() => getComputedStyle(document.querySelector('.slidev-layout')!).fontFamily)
      expect(font, `slide ${no} font`).toContain('PT Serif')
    }
    const seen = await walkDeck(page, { onSlide: check })
    expect([...seen].sort((a, b) => a - b)).toEqual(await allSlides(page))
    expect(deck.remoteRequests, 'requests that left the machine').toEqual([])
    expect(deck.errors, 'console errors').toEqual([])
    expect(overflowing, 'slides whose content does not fit').toEqual([])
  })

  // As Slidev's own smoke test does: the presenter view and the overview, every slide.
  it('walks every slide in the presenter view, then opens the overview: no console error, no demo runs there', { timeout: 300_000 }, async () => {
    // The audience view would follow the presenter (Slidev syncs them) and pull it back while it
    // lags behind; the smoke test checks that it runs the demo the presenter view shows.
    await deck.page.goto('about:blank')
    const views = await openNonAudienceViews(deck.browser)
    try {
      const presenter = await views.open('presenter/1')
      // No screenshots here: on to the next slide as soon as this one is drawn.
      expect(await walkDeck(presenter.page, { settle: false })).toEqual(await allSlides(presenter.page))
      // The overview draws every slide at once: each demo frame in it says the demo runs in the main view.
      await presenter.page.keyboard.press('o')
      const frames = presenter.page.getByTestId('demo-frame')
      await expect.poll(() => frames.count(), { timeout: 60_000 }).toBeGreaterThan(2)
      expect(await presenter.page.getByTestId('demo-not-main').count()).toBe(await frames.count())
      // An active demo checks /health every 2 s: give one a chance to show itself.
      await presenter.page.waitForTimeout(2500)
      expect(views.requests(), 'requests from the presenter view and the overview').toBe(0)
      expect(presenter.remoteRequests, 'requests that left the machine').toEqual([])
      expect(presenter.errors, 'console errors in the presenter view and the overview').toEqual([])
    }
    finally {
      await views.close()
    }
  })
})
