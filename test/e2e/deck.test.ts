import { describe, expect, it } from 'vitest'
import { findClipped, waitForSlide } from '../support/deck.ts'
import { screenshots, useDeckSession } from '../support/e2e.ts'

/** Every slide's screenshot (gitignored): look at them. */
const shot = screenshots('slides')

describe('the whole deck, walked with the arrow keys', () => {
  const deck = useDeckSession()

  // Generous: the dev server compiles each slide on first view, on a shared two-core machine.
  it('renders every slide styled, unclipped, offline, without console errors', { timeout: 900_000 }, async () => {
    const { page } = deck
    const total = await page.evaluate(() => (window as any).__slidev__.nav.total as number)
    const seen = new Set<number>()
    const overflowing: string[] = []
    for (let step = 0; step < total * 12; step++) {
      const no = await waitForSlide(page)
      if (!seen.has(no)) {
        seen.add(no)
        await shot(page, String(no).padStart(3, '0'))
        // The slide's content must fit the 16:9 canvas: nothing cut off, no failed diagram.
        const over = await findClipped(page, no)
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
    expect(deck.remoteRequests, 'requests that left the machine').toEqual([])
    expect(deck.errors, 'console errors').toEqual([])
    expect(overflowing, 'slides whose content does not fit').toEqual([])
  })
})
