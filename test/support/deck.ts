import type { Page } from 'playwright-core'
import { inject } from 'vitest'

/** Origin of the shared Slidev dev server (test/e2e/global-setup.ts). */
export function deckUrl(): string {
  return inject('deckUrl')
}

/** Opens slide `slide` (1-based) of the deck, talking to the demo server at `demoUrl`. */
export async function openDeck(page: Page, demoUrl: string, slide = 1): Promise<void> {
  await page.goto(`${deckUrl()}/${slide}?demo=${encodeURIComponent(demoUrl)}`)
  await waitForSlide(page)
}

/** Waits until the current slide has rendered (the dev server compiles slides on first view). */
export async function waitForSlide(page: Page): Promise<number> {
  await page.waitForFunction(() => {
    const nav = (window as any).__slidev__?.nav
    if (!nav)
      return false
    // Until the dev server has compiled a slide, its page holds a "Loading slide..." placeholder
    // and no layout.
    return !!document.querySelector(`.slidev-page-${nav.currentSlideNo} .slidev-layout`)
  }, undefined, { timeout: 60_000 })
  // Mermaid renders asynchronously after the slide mounts.
  await page.waitForFunction(() => [...document.querySelectorAll('.slidev-page:not([style*="display: none"]) .mermaid')].every(m => m.querySelector('svg')), undefined, { timeout: 20_000 }).catch(() => {})
  await page.waitForTimeout(250)
  return page.evaluate(() => (window as any).__slidev__.nav.currentSlideNo as number)
}

/** The number of the first slide whose title (first heading) is `title`. */
export async function slideNumberOf(page: Page, title: string): Promise<number> {
  const no = await page.evaluate((t) => {
    const slides = (window as any).__slidev__.nav.slides as Array<{ no: number, meta: { slide: { title?: string } } }>
    return slides.find(s => s.meta.slide.title === t)?.no
  }, title)
  if (!no)
    throw new Error(`no slide titled "${title}"`)
  return no
}

/** Navigates to the slide titled `title` and waits for it to render. */
export async function goToSlide(page: Page, title: string): Promise<number> {
  const no = await slideNumberOf(page, title)
  await page.evaluate(n => (window as any).__slidev__.nav.go(n), no)
  await page.waitForFunction(n => (window as any).__slidev__.nav.currentSlideNo === n, no)
  return waitForSlide(page)
}

/** The visible slide's root element. */
export function currentSlide(page: Page) {
  return page.locator('.slidev-page:visible').last()
}
