import { describe, expect, it } from 'vitest'
import { allSlides, findClipped, findIllegible, slideNumberOf, waitForSlide, walkDeck } from '../support/deck.ts'
import { openNonAudienceViews, screenshots, useDeckSession } from '../support/e2e.ts'

/** Every slide's screenshot (gitignored): look at them. */
const shot = screenshots('slides')

describe('the whole deck, walked with the arrow keys', () => {
  // The clicker steps run the demos; the stateful and webhooks demos show a 401 on purpose, the
  // sidecar demo a failed order's 502, and Chromium logs every 4xx and 5xx it fetched as a console error.
  const deck = useDeckSession({ ignoreErrors: [/status of 401/, /status of 502/] })

  /**
   * `DECK_SLIDES=20-35` walks only those slides (while writing a chapter); the suite walks them all.
   * Slide numbers: the overview (`o`) shows them.
   */
  const range = process.env.DECK_SLIDES?.match(/^(\d+)-(\d+)$/)?.slice(1).map(Number)

  // Generous: the dev server compiles each slide on first view, on a shared two-core machine.
  it('fills the screen edge to edge; renders every slide styled, unclipped, legible from the back row, offline, without console errors; every click step too', { timeout: 900_000 }, async () => {
    const { page } = deck
    // The slide fills a 16:9 screen edge to edge: no strip of the black letterbox down its sides
    // (Slidev scales the canvas to the screen; a canvas that is not 16:9 in whole pixels leaves one).
    for (const viewport of [{ width: 1920, height: 1080 }, { width: 1280, height: 720 }]) {
      await page.setViewportSize(viewport)
      await expect.poll(() => page.evaluate(() => {
        const r = document.querySelector('#slide-content')!.getBoundingClientRect()
        return [r.left, r.top, window.innerWidth - r.right, window.innerHeight - r.bottom].map(gap => Math.round(Math.abs(gap) * 100) / 100)
      }), { message: `letterbox gaps (left, top, right, bottom) at ${viewport.width}x${viewport.height}` }).toEqual([0, 0, 0, 0])
    }
    const problems: string[] = []
    // The main track ends at the "Questions" slide; the appendix after it may show denser code.
    const questions = await slideNumberOf(page, 'Questions')
    /** One position of the deck: it reads well; its screenshot when asked. */
    async function look(no: number, clicks: number, screenshot: boolean): Promise<void> {
      if (screenshot)
        await shot(page, String(no).padStart(3, '0') + (clicks ? `-${clicks}` : ''))
      for (const p of await findIllegible(page, { no, codeSize: no < questions }))
        problems.push(`slide ${no}${clicks ? ` click ${clicks}` : ''}: ${p}`)
    }
    /** One slide, as it first appears: it fits, it is styled, it reads well. */
    async function check(no: number): Promise<void> {
      await look(no, 0, true)
      // The slide's content must fit the 16:9 canvas: nothing cut off, no failed diagram.
      const over = await findClipped(page, no)
      if (over)
        problems.push(`slide ${no}: ${over}`)
      // Styled: the theme's fonts and UnoCSS utilities are in effect.
      const font = await page.evaluate(() => getComputedStyle(document.querySelector('.slidev-layout')!).fontFamily)
      expect(font, `slide ${no} font`).toContain('PT Serif')
    }
    /** Each further click: a code slide's next highlight (screenshot), or a demo's clicker step. */
    async function step(no: number, clicks: number): Promise<void> {
      const code = await page.evaluate(n => !!document.querySelector(`.slidev-page-${n} .slidev-code`), no)
      await look(no, clicks, code)
      const over = await findClipped(page, no)
      if (over)
        problems.push(`slide ${no} click ${clicks}: ${over}`)
    }
    const [from, to] = range ?? [1, undefined] as const
    if (from !== undefined && from > 1) {
      await page.evaluate(n => (window as any).__slidev__.nav.go(n), from)
      await waitForSlide(page)
    }
    const seen = await walkDeck(page, { onSlide: check, onStep: step, to })
    if (!range)
      expect([...seen].sort((a, b) => a - b)).toEqual(await allSlides(page))
    expect(deck.remoteRequests, 'requests that left the machine').toEqual([])
    expect(deck.errors, 'console errors').toEqual([])
    expect(problems, 'slides that do not fit or do not read well').toEqual([])
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
      // The overview draws every slide at once: each demo frame in it shows how its recorded run ended, labelled.
      await presenter.page.keyboard.press('o')
      const frames = presenter.page.getByTestId('demo-frame')
      await expect.poll(() => frames.count(), { timeout: 60_000 }).toBeGreaterThan(2)
      // (Audience mode's slides have no recording: they say the demo runs in the main view.)
      const recorded = await presenter.page.getByTestId('demo-recorded').count()
      expect(recorded).toBeGreaterThanOrEqual(20)
      expect(recorded + await presenter.page.getByTestId('demo-not-main').count()).toBe(await frames.count())
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
