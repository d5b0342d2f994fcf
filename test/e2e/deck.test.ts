import type { Browser } from 'playwright-core'
import type { RunningDemoServer } from '../support/demo-server.ts'
import type { WatchedPage } from '../support/browser.ts'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchBrowser, openWatchedPage } from '../support/browser.ts'
import { deckUrl, openDeck, waitForSlide } from '../support/deck.ts'
import { startDemoServer } from '../support/demo-server.ts'

/** Where every slide's screenshot goes (gitignored): look at them. */
const SHOTS = join(import.meta.dirname, '../../test-results/slides')

/**
 * Runs in the page (plain JS, so no transform helpers leak in): lists the first elements of
 * slide `n` that stick out of the slide's box and are not inside a scroll/clip container of
 * their own (those are the author's choice), or returns ''.
 */
const FIND_CLIPPED = `(n) => {
  const page = document.querySelector('.slidev-page-' + n)
  const layout = page && page.querySelector('.slidev-layout')
  if (!page || !layout) return 'no .slidev-layout'
  const box = page.getBoundingClientRect()
  const bad = []
  for (const el of layout.querySelectorAll('*')) {
    const r = el.getBoundingClientRect()
    if (r.width === 0 || r.height === 0 || (r.right <= box.right + 2 && r.bottom <= box.bottom + 2)) continue
    let clippedByOwnBox = false
    for (let a = el.parentElement; a && a !== page; a = a.parentElement) {
      const o = getComputedStyle(a)
      if (o.overflowX !== 'visible' || o.overflowY !== 'visible') {
        const ar = a.getBoundingClientRect()
        clippedByOwnBox = ar.right <= box.right + 2 && ar.bottom <= box.bottom + 2
        break
      }
    }
    if (clippedByOwnBox || getComputedStyle(el).visibility === 'hidden') continue
    const text = (el.textContent || '').trim().slice(0, 40)
    bad.push('<' + el.tagName.toLowerCase() + '> "' + text + '" by ' + Math.round(r.right - box.right) + 'px x ' + Math.round(r.bottom - box.bottom) + 'px')
    if (bad.length >= 3) break
  }
  return bad.join('; ')
}`

describe('the whole deck, walked with the arrow keys', () => {
  let browser: Browser
  let demos: RunningDemoServer
  let w: WatchedPage

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true })
    demos = await startDemoServer({ allowedOrigins: [deckUrl()] })
    browser = await launchBrowser()
    w = await openWatchedPage(browser)
  })
  afterAll(async () => {
    await browser?.close()
    await demos?.close()
  })

  // Generous: the dev server compiles each slide on first view, on a shared two-core machine.
  it('renders every slide styled, unclipped, offline, without console errors', { timeout: 900_000 }, async () => {
    const { page } = w
    await openDeck(page, demos.url, 1)
    const total = await page.evaluate(() => (window as any).__slidev__.nav.total as number)
    const seen = new Set<number>()
    const overflowing: string[] = []
    for (let step = 0; step < total * 12; step++) {
      const no = await waitForSlide(page)
      if (!seen.has(no)) {
        seen.add(no)
        await page.screenshot({ path: join(SHOTS, `${String(no).padStart(3, '0')}.png`) })
        // The slide's content must fit the 16:9 canvas: nothing cut off at the bottom or right.
        const over = await page.evaluate(`(${FIND_CLIPPED})(${no})`) as string
        if (over)
          overflowing.push(`slide ${no}: ${over}`)
        // Styled: the theme's fonts and UnoCSS utilities are in effect.
        const font = await page.evaluate(() => getComputedStyle(document.querySelector('.slidev-layout')!).fontFamily)
        expect(font, `slide ${no} font`).toContain('PT Serif')
      }
      const hasNext = await page.evaluate(() => (window as any).__slidev__.nav.hasNext as boolean)
      if (!hasNext)
        break
      await page.keyboard.press('ArrowRight')
    }
    expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i + 1))
    expect(w.remoteRequests, 'requests that left the machine').toEqual([])
    expect(w.errors, 'console errors').toEqual([])
    expect(overflowing, 'slides whose content does not fit').toEqual([])
  })
})
