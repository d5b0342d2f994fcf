import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Locator, Page } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import { MIRROR_CHANNEL } from '../../composables/mirror.ts'
import { currentSlide, deckPageUrl, deckUrl, goToSlide, slideNumberOf, waitForSlide, walkDeck } from '../support/deck.ts'
import { startDemoServer } from '../support/demo-server.ts'
import { screenshots, useDeckSession } from '../support/e2e.ts'

// On stage (issue 24): the presenter view shows the main view's live demo and opens no connection
// of its own, its notes fit a laptop screen, every demo slide starts from its first step each
// time it is entered, and the ping slide's first measured request is not a cold one.

const shot = screenshots('on-stage')

/** Counts the page's open BroadcastChannels named MIRROR_CHANNEL in `window.__mirrorChannels__` (an init script: before the deck's code runs). */
function countMirrorChannels(channel: string): void {
  const w = window as any
  const Native = w.BroadcastChannel as typeof BroadcastChannel
  w.__mirrorChannels__ = 0
  w.BroadcastChannel = class extends Native {
    private counted: boolean
    constructor(name: string) {
      super(name)
      this.counted = name === channel
      if (this.counted)
        w.__mirrorChannels__++
    }

    override close(): void {
      if (this.counted) {
        this.counted = false
        w.__mirrorChannels__--
      }
      super.close()
    }
  }
}
const mirrorChannels = (page: Page) => page.evaluate(() => (window as any).__mirrorChannels__ as number)

/** The rows of the ping table, as text (`#`, status, round trip, body). */
const pingRows = (slide: Locator) => slide.getByTestId('ping-table').locator('tbody tr').allInnerTexts()

describe('on stage: the presenter view, fresh demos and warm first requests', () => {
  const deck = useDeckSession({ demos: { connectBroker: false } })

  it('the presenter view shows the main view\'s live run, number for number, and opens no connection; it closes its channel when the slide is left', async () => {
    const no = await slideNumberOf(deck.page, 'The smallest conversation')
    // A demo server of their own: the dev server syncs every view of the deck (the session's page
    // follows the presenter view too), so only these two views know it and all it sees is theirs.
    const demos = await startDemoServer({ allowedOrigins: [deckUrl()], connectBroker: false })
    // The main view and the presenter view as two tabs of one browser, as on stage: a BroadcastChannel connects them.
    const context = await deck.browser.newContext({ viewport: { width: 1280, height: 720 }, deviceScaleFactor: 1 })
    await context.addInitScript(countMirrorChannels, MIRROR_CHANNEL)
    const errors: string[] = []
    const presenterAsked: string[] = []
    const pingsServed: string[] = []
    const served = (req: IncomingMessage) => {
      if (req.url?.startsWith('/ping'))
        pingsServed.push(req.url)
    }
    demos.server.prependListener('request', served) // before Express, which rewrites req.url in its routers
    try {
      const main = await context.newPage()
      const presenter = await context.newPage()
      for (const p of [main, presenter]) {
        p.on('pageerror', err => errors.push(err.message))
        p.on('console', msg => msg.type() === 'error' && errors.push(msg.text()))
      }
      presenter.on('request', (req) => {
        if (req.url().startsWith(demos.url))
          presenterAsked.push(req.url())
      })
      await main.goto(deckPageUrl(no, demos.url))
      await waitForSlide(main)
      await presenter.goto(deckPageUrl(`presenter/${no}`, demos.url))
      await waitForSlide(presenter, { settle: false })
      const live = main.locator(`.slidev-page-${no}`)
      const mirror = presenter.locator(`.grid-section.main .slidev-page-${no}`)
      await mirror.getByTestId('demo-mirror').waitFor({ timeout: 30_000 })
      expect(await mirror.getByTestId('demo-mirror').textContent()).toContain('mirror of the live run')
      // Fresh on both sides: no request yet, where the recording would show two.
      expect(await mirror.getByTestId('ping-empty').count()).toBe(1)

      // The clicker, in the main view: two pings.
      await live.getByTestId('ping-button').waitFor()
      await main.keyboard.press('ArrowRight')
      await expect.poll(() => pingRows(live)).toHaveLength(1)
      await main.keyboard.press('ArrowRight')
      await expect.poll(() => pingRows(live)).toHaveLength(2)
      const rows = await pingRows(live)
      const first = await live.getByTestId('ping-first').textContent()
      const best = await live.getByTestId('ping-best').textContent()
      // Within the throttle (100 ms) and a render: the presenter shows the same numbers and bars.
      await expect.poll(() => pingRows(mirror)).toEqual(rows)
      expect(await mirror.getByTestId('ping-first').textContent()).toBe(first)
      expect(await mirror.getByTestId('ping-best').textContent()).toBe(best)
      const bars = await live.getByTestId('timeline-bar').count()
      await expect.poll(() => mirror.getByTestId('timeline-bar').count()).toBe(bars)
      expect(await mirror.getByTestId('demo-recorded').count()).toBe(0)
      await shot(presenter, 'presenter-mirror')

      // Back one click and forward again, as the two views' synced click counters can echo each
      // other on a busy laptop (2 → 1 → 2): a step runs once per visit, so no third ping.
      // (No check of the counter in between: that very echo may move it on a loaded machine.)
      await main.keyboard.press('ArrowLeft')
      await main.waitForTimeout(300)
      await main.keyboard.press('ArrowRight')

      // An active demo checks /health every 2 s: give a connection of the presenter's time to show
      // itself (and a third ping, were there one, time to reach the server).
      await presenter.waitForTimeout(2500)
      // The server saw the main view's warm-up and its two pings, no third.
      expect(pingsServed.filter(u => u === '/ping'), 'pings the server answered: the two clicks, no third').toHaveLength(2)
      expect(pingsServed[0]).toBe('/ping?warm-up')
      // On the slide at its second step, both rows stay. On a loaded machine the echo can instead take
      // ← past the slide's first step and → back into it (the last CI: no rows): a new visit, which
      // starts the demo fresh (a warm-up again, no rows). Either way, never a third ping.
      const back = pingsServed.length > 3
      expect(await pingRows(live), back ? 'a new visit: the demo starts fresh' : 'the same visit: its two rows').toHaveLength(back ? 0 : 2)
      expect(presenterAsked, 'requests from the presenter view to the demo server').toEqual([])

      // Both views leave the demo slide: the main view stops publishing, the presenter's demo stops
      // following and shows how the recording ended again; neither page keeps the channel open.
      expect(await mirrorChannels(main)).toBe(1)
      expect(await mirrorChannels(presenter)).toBe(1)
      await presenter.evaluate(n => (window as any).__slidev__.nav.go(n), no + 1)
      await expect.poll(() => main.evaluate(() => (window as any).__slidev__.nav.currentSlideNo)).toBe(no + 1)
      await expect.poll(() => mirrorChannels(main)).toBe(0)
      await expect.poll(() => mirrorChannels(presenter)).toBe(0)
      expect(await presenter.locator(`.slidev-page-${no}`).first().getByTestId('demo-recorded').count()).toBe(1)

      // Back: the presenter view leads (it follows first, the main view says hello when it gets
      // there), and both show the demo's first step again.
      await presenter.evaluate(n => (window as any).__slidev__.nav.go(n), no)
      await mirror.getByTestId('demo-mirror').waitFor({ timeout: 30_000 })
      await expect.poll(() => mirror.getByTestId('ping-empty').count()).toBe(1)
      expect(await live.getByTestId('ping-empty').count()).toBe(1)
      expect(errors).toEqual([])
    }
    finally {
      demos.server.off('request', served)
      await context.close()
      await demos.close()
    }
  })

  it('the presenter view shows the whole notes of a demo slide without scrolling on a laptop screen (1280×720, 1366×768, 1280×800)', async () => {
    const context = await deck.browser.newContext({ deviceScaleFactor: 1 })
    try {
      const presenter = await context.newPage()
      for (const title of ['Polling a job', 'The race: one job, four clients']) {
        const no = await slideNumberOf(deck.page, title)
        await presenter.goto(deckPageUrl(`presenter/${no}`, deck.demos.url))
        await waitForSlide(presenter, { settle: false })
        for (const [width, height] of [[1280, 720], [1366, 768], [1280, 800]] as const) {
          await presenter.setViewportSize({ width, height })
          const notes = presenter.locator('.grid-section.note .slidev-note')
          await expect.poll(() => notes.textContent()).toMatch(/\w{4}/)
          const { scroll, client, px } = await notes.evaluate(el => ({ scroll: el.scrollHeight, client: el.clientHeight, px: Number.parseFloat(getComputedStyle(el).fontSize) }))
          expect(scroll, `${title} at ${width}x${height}: the notes scroll`).toBeLessThanOrEqual(client + 1)
          expect(px, 'notes text size').toBeGreaterThanOrEqual(16)
          if (width === 1366)
            await shot(presenter, `presenter-notes-${no}-${width}x${height}`)
        }
      }
    }
    finally {
      await context.close()
    }
  })

  it('the presenter view shows the whole notes of every main-track slide without scrolling at 1280×720', { timeout: 600_000 }, async () => {
    // The main track: every slide before "Questions" (the appendix after it is read, not presented).
    const last = await slideNumberOf(deck.page, 'Questions') - 1
    const context = await deck.browser.newContext({ viewport: { width: 1280, height: 720 }, deviceScaleFactor: 1 })
    // Sync off both ways, as the presenter's own sync button sets it: the dev server would move the
    // session's page along with this walk and run every demo step there, and pull this view back.
    await context.addInitScript(() => localStorage.setItem('slidev-sync-directions', JSON.stringify({ presenterSend: false, presenterReceive: false })))
    try {
      const presenter = await context.newPage()
      await presenter.goto(deckPageUrl('presenter/1', deck.demos.url))
      const notes = presenter.locator('.grid-section.note .slidev-note')
      let previous = ''
      const seen = await walkDeck(presenter, {
        settle: false,
        to: last,
        onSlide: async (no) => {
          const title = await presenter.evaluate(n => (window as any).__slidev__.nav.slides[n - 1].meta.slide.title as string, no)
          // The dev server sends a slide's notes after the slide: until then the view shows the last
          // slide's notes, or Slidev's placeholder.
          await expect.poll(() => notes.textContent(), { message: `slide ${no} ("${title}") shows its notes`, timeout: 20_000 })
            .toSatisfy((text: string | null) => !!text?.trim() && text !== previous && !text.includes('No notes for this slide'))
          previous = (await notes.textContent())!
          const { scroll, client, px } = await notes.evaluate(el => ({ scroll: el.scrollHeight, client: el.clientHeight, px: Number.parseFloat(getComputedStyle(el).fontSize) }))
          expect.soft(scroll, `slide ${no} ("${title}"): its notes scroll, ${scroll} px in ${client} px`).toBeLessThanOrEqual(client + 1)
          expect.soft(px, `slide ${no} ("${title}"): notes text size`).toBeGreaterThanOrEqual(16)
        },
      })
      expect(seen).toEqual(Array.from({ length: last }, (_, i) => i + 1))
    }
    finally {
      await context.close()
    }
  })

  it('short polling: leaving the slide and coming back starts from the first step (the slider at 1000 ms, no rows); click 1 is one 1000 ms run', async () => {
    const { page } = deck
    await goToSlide(page, 'Polling a job')
    const slide = currentSlide(page)
    await slide.getByTestId('short-interval').fill('300')
    await slide.getByTestId('short-start').click()
    const rows = slide.getByTestId('short-runs').locator('tbody tr')
    await expect.poll(() => rows.count(), { timeout: 20_000 }).toBe(1)
    expect(await rows.first().locator('td').first().textContent()).toBe('300 ms')

    // Leave (to the slide before) and come back with the clicker.
    await page.keyboard.press('ArrowLeft')
    await waitForSlide(page)
    await page.keyboard.press('ArrowRight')
    await waitForSlide(page)
    const again = currentSlide(page)
    expect(await again.getByTestId('short-interval').inputValue()).toBe('1000')
    expect(await again.getByTestId('short-runs').count()).toBe(0)
    expect(await again.getByTestId('short-explain').count()).toBe(1)
    expect(await again.getByTestId('short-requests').textContent()).toContain('0')
    expect(await again.getByTestId('timeline-bar').count()).toBe(0)

    await page.keyboard.press('ArrowRight') // click 1
    const after = again.getByTestId('short-runs').locator('tbody tr')
    await expect.poll(() => after.count(), { timeout: 20_000 }).toBe(1)
    expect(await after.first().locator('td').first().textContent()).toBe('1000 ms')
    await page.waitForTimeout(500)
    expect(await after.count()).toBe(1)
  })

  it('ping: a warm-up request on slide enter, answered before the first request the slide draws and counts', async () => {
    const { page } = deck
    const seen: string[] = []
    const served = (req: IncomingMessage, res: ServerResponse) => {
      const url = req.url ?? ''
      if (!url.startsWith('/ping'))
        return
      seen.push(`arrived ${url}`)
      res.once('finish', () => seen.push(`answered ${url}`))
    }
    deck.demos.server.prependListener('request', served) // before Express, which rewrites req.url in its routers
    try {
      const no = await slideNumberOf(page, 'The smallest conversation')
      await page.evaluate(n => (window as any).__slidev__.nav.go(n), no)
      const slide = currentSlide(page)
      // Click 1 as soon as the demo is there, while the warm-up may still be out: the ping waits for it.
      await page.locator(`.slidev-page-${no}`).getByTestId('ping-button').waitFor()
      await page.keyboard.press('ArrowRight')
      await expect.poll(() => pingRows(slide)).toHaveLength(1)
      expect(seen).toEqual(['arrived /ping?warm-up', 'answered /ping?warm-up', 'arrived /ping', 'answered /ping'])
      // Neither drawn nor counted: one bar, one row, numbered 1.
      expect(await slide.getByTestId('timeline-bar').count()).toBe(1)
      expect((await pingRows(slide))[0]).toMatch(/^1\s+200\s/)
    }
    finally {
      deck.demos.server.off('request', served)
    }
  })
})
