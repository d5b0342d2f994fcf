import type { Page } from 'playwright-core'
import { expect, inject } from 'vitest'

/** Origin of the shared Slidev dev server (test/e2e/global-setup.ts). */
export function deckUrl(): string {
  return inject('deckUrl')
}

/** The deck's URL at `path` (`3`, `presenter/3`, `overview`) for a page that talks to the demo server at `demoUrl`. */
export function deckPageUrl(path: string | number, demoUrl: string): string {
  return `${deckUrl()}/${path}?demo=${encodeURIComponent(demoUrl)}`
}

/** Opens slide `slide` (1-based) of the deck, talking to the demo server at `demoUrl`. */
export async function openDeck(page: Page, demoUrl: string, slide = 1): Promise<void> {
  await page.goto(deckPageUrl(slide, demoUrl))
  await waitForSlide(page)
}

/**
 * Waits until the current slide has rendered (the dev server compiles slides on first view);
 * with `settle` (the default) also until its diagrams are drawn and the transition is over,
 * as a screenshot needs.
 */
export async function waitForSlide(page: Page, { settle = true } = {}): Promise<number> {
  await page.waitForFunction(() => {
    const nav = (window as any).__slidev__?.nav
    if (!nav)
      return false
    // Until the dev server has compiled a slide, its page holds a "Loading slide..." placeholder
    // and no layout.
    return !!document.querySelector(`.slidev-page-${nav.currentSlideNo} .slidev-layout`)
  }, undefined, { timeout: 60_000 })
  if (settle) {
    // Mermaid renders asynchronously after the slide mounts, into a shadow root (a plain
    // querySelector would never see the SVG and this would always wait the full 20 s).
    await page.waitForFunction(() => [...document.querySelectorAll('.slidev-page:not([style*="display: none"]) .mermaid')].every(m => m.shadowRoot?.querySelector('svg')), undefined, { timeout: 20_000 }).catch(() => {})
    // The slide transition (slide-left) must be over, or screenshots catch two slides half-way.
    await page.waitForFunction(() => !document.querySelector('[class*="-enter-active"], [class*="-leave-active"]'), undefined, { timeout: 5000 }).catch(() => {})
    await page.waitForTimeout(250)
  }
  return page.evaluate(() => (window as any).__slidev__.nav.currentSlideNo as number)
}

/**
 * Waits until the deck has finished loading, as it has long before a talk reaches a demo: Slidev
 * mounts every slide 3 s after the deck opens (its SlidesShow preloads them all), and each one's
 * Mermaid diagrams are then drawn on the page's main thread, seconds of work on a busy machine
 * that would hold up any demo that times the page meanwhile (the race).
 */
export async function waitForDeckLoaded(page: Page): Promise<void> {
  await page.waitForFunction(() => {
    const nav = (window as any).__slidev__?.nav
    if (!nav)
      return false
    for (let n = 1; n <= nav.total; n++) {
      if (!document.querySelector(`.slidev-page-${n} .slidev-layout`))
        return false
    }
    return [...document.querySelectorAll('.mermaid')].every(m => m.shadowRoot?.querySelector('svg'))
  }, undefined, { timeout: 60_000, polling: 250 })
}

/** Where the deck is, slide and click: `12.0`. An expression evaluated in the page. */
const POSITION = '`${__slidev__.nav.currentSlideNo}.${__slidev__.nav.clicks}`'

/**
 * Presses the right arrow from the current slide to the last, as a speaker does (in the play
 * view or the presenter view), and calls `onSlide(no)` once per slide, once it has rendered
 * (`settle`: see `waitForSlide`). Returns the slide numbers seen, in order.
 */
export async function walkDeck(page: Page, { settle = true, onSlide = async () => {} }: { settle?: boolean, onSlide?: (no: number) => Promise<void> } = {}): Promise<number[]> {
  let no = await waitForSlide(page, { settle })
  const steps = (await allSlides(page)).length * 12 // a step is a slide or one of its clicks
  const seen: number[] = []
  for (let step = 0; ; step++) {
    if (!seen.includes(no)) {
      seen.push(no)
      await onSlide(no)
    }
    if (step >= steps || !await page.evaluate(() => (window as any).__slidev__.nav.hasNext as boolean))
      return seen
    const before = await page.evaluate(POSITION) as string
    await page.keyboard.press('ArrowRight')
    await page.waitForFunction(`${POSITION} !== ${JSON.stringify(before)}`)
    no = await waitForSlide(page, { settle })
  }
}

/** 1..n: every slide of the deck open in `page`. */
export async function allSlides(page: Page): Promise<number[]> {
  const total = await page.evaluate(() => (window as any).__slidev__.nav.total as number)
  return Array.from({ length: total }, (_, i) => i + 1)
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

/**
 * Runs in the page (plain JS, so no transform helpers leak in): what of slide `n` does not fit
 * the 16:9 canvas, or ''. Reports the layout scrolling, a Mermaid diagram that failed to parse
 * (Slidev shows it as a red-bordered <pre>), and the first elements, Mermaid's SVGs included
 * (they live in shadow roots), that stick out of the slide's box to the right, bottom or left
 * and are not inside a scroll/clip container of their own (those are the author's choice).
 */
const FIND_CLIPPED = `(n) => {
  const page = document.querySelector('.slidev-page-' + n)
  const layout = page && page.querySelector('.slidev-layout')
  if (!page || !layout) return 'no .slidev-layout'
  const bad = []
  const dx = layout.scrollWidth - layout.clientWidth
  const dy = layout.scrollHeight - layout.clientHeight
  if (dx > 4 || dy > 4) bad.push('the layout overflows by ' + dx + 'px x ' + dy + 'px')
  for (const pre of page.querySelectorAll('pre[border]'))
    bad.push('diagram failed: ' + (pre.textContent || '').trim().slice(0, 200))
  const box = page.getBoundingClientRect()
  const inside = r => r.right <= box.right + 2 && r.bottom <= box.bottom + 2 && r.left >= box.left - 2
  const shadowSvgs = [...layout.querySelectorAll('.mermaid')].flatMap(m => m.shadowRoot ? [...m.shadowRoot.querySelectorAll('svg')] : [])
  for (const el of [...layout.querySelectorAll('*'), ...shadowSvgs]) {
    const r = el.getBoundingClientRect()
    if (r.width === 0 || r.height === 0 || inside(r)) continue
    let clippedByOwnBox = false
    for (let a = el.parentElement; a && a !== page; a = a.parentElement) {
      const o = getComputedStyle(a)
      if (o.overflowX !== 'visible' || o.overflowY !== 'visible') {
        clippedByOwnBox = inside(a.getBoundingClientRect())
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

/** What of slide `no` (default: the current one) does not fit the 16:9 canvas, or '' when it all fits. */
export async function findClipped(page: Page, no?: number): Promise<string> {
  const n = no ?? await page.evaluate(() => (window as any).__slidev__.nav.currentSlideNo as number)
  return await page.evaluate(`(${FIND_CLIPPED})(${n})`) as string
}

/** The current slide fits the canvas: checked again after a demo has filled it (the deck walk sees it empty). */
export async function expectSlideFits(page: Page, what?: string): Promise<void> {
  expect(await findClipped(page), what).toBe('')
}

/**
 * The smallest text on the current slide as the audience sees it: CSS font size times the scale
 * Slidev draws the slide at, in screen px (at 1280x720, 14 is the least a back row reads), with
 * the element it belongs to. Counts only elements that hold visible text of their own.
 */
export async function smallestText(page: Page): Promise<{ px: number, text: string }> {
  return page.evaluate(() => {
    const content = document.querySelector('#slide-content') as HTMLElement
    const scale = content.getBoundingClientRect().width / content.offsetWidth
    let smallest = { px: Number.POSITIVE_INFINITY, text: '' }
    for (const el of document.querySelectorAll<HTMLElement>('.slidev-page:not([style*="display: none"]) *')) {
      const text = [...el.childNodes].filter(c => c.nodeType === Node.TEXT_NODE).map(c => c.textContent!.trim()).join(' ').trim()
      if (!text || el.offsetParent === null || getComputedStyle(el).visibility === 'hidden')
        continue
      const px = Number.parseFloat(getComputedStyle(el).fontSize) * scale
      if (px < smallest.px)
        smallest = { px, text: text.slice(0, 40) }
    }
    return smallest
  })
}
