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

/** Where the deck is, slide and click: `12.0`. An expression evaluated in the page. */
const POSITION = '`${__slidev__.nav.currentSlideNo}.${__slidev__.nav.clicks}`'

/**
 * Presses the right arrow from the current slide to the last (or to slide `to`), as a speaker
 * does (in the play view or the presenter view), and calls `onSlide(no)` once per slide, once it
 * has rendered (`settle`: see `waitForSlide`), then `onStep(no, clicks)` at every click of it
 * after the first position (a stepped code slide's highlights, a demo's clicker steps).
 * Returns the slide numbers seen, in order.
 */
export async function walkDeck(page: Page, { settle = true, to, onSlide = async () => {}, onStep }: {
  settle?: boolean
  to?: number
  onSlide?: (no: number) => Promise<void>
  onStep?: (no: number, clicks: number) => Promise<void>
} = {}): Promise<number[]> {
  let no = await waitForSlide(page, { settle })
  const steps = (await allSlides(page)).length * 12 // a step is a slide or one of its clicks
  const seen: number[] = []
  for (let step = 0; ; step++) {
    if (!seen.includes(no)) {
      seen.push(no)
      await onSlide(no)
    }
    else if (onStep) {
      await onStep(no, await page.evaluate(() => (window as any).__slidev__.nav.clicks as number))
    }
    if (step >= steps || !await page.evaluate(() => (window as any).__slidev__.nav.hasNext as boolean))
      return seen
    const before = await page.evaluate(POSITION) as string
    await page.keyboard.press('ArrowRight')
    await page.waitForFunction(`${POSITION} !== ${JSON.stringify(before)}`)
    no = await waitForSlide(page, { settle })
    if (to !== undefined && no > to)
      return seen
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

/** The least room, in px of the 992 px canvas (about 15.5 px at 1280x720), between a slide's edge and a demo frame's bottom or any text. */
const EDGE_GAP_PX = 12

/**
 * Runs in the page (plain JS, so no transform helpers leak in): what of slide `n` does not fit
 * the 16:9 canvas, or ''. Reports the layout scrolling, a Mermaid diagram that failed to parse
 * (Slidev shows it as a red-bordered <pre>), and the first elements, Mermaid's SVGs included
 * (they live in shadow roots), that stick out of the slide's box to the right, bottom or left
 * and are not inside a scroll/clip container of their own (those are the author's choice);
 * then a demo frame that ends less than EDGE_GAP_PX above the slide's bottom edge, and the first
 * text closer than that to any edge.
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
  // Room to breathe, in px of the canvas: a demo frame ends EDGE_GAP_PX above the slide's bottom edge, and no
  // text (a corner link) sits closer than that to any edge, where a projector's overscan or bezel eats it.
  const scale = box.width / page.offsetWidth
  for (const frame of layout.querySelectorAll('[data-testid="demo-frame"]')) {
    const r = frame.getBoundingClientRect()
    const gap = (box.bottom - r.bottom) / scale
    if (r.height && gap < ${EDGE_GAP_PX} - 0.5) bad.push('the demo frame ends ' + gap.toFixed(1) + 'px above the bottom edge of the slide (at least ${EDGE_GAP_PX}px)')
  }
  for (const el of layout.querySelectorAll('*')) {
    const own = [...el.childNodes].filter(c => c.nodeType === 3).map(c => c.textContent.trim()).join('').trim()
    const r = el.getBoundingClientRect()
    if (!own || !r.width || !r.height || !inside(r) || getComputedStyle(el).visibility === 'hidden') continue
    const gap = Math.min(r.left - box.left, box.right - r.right, r.top - box.top, box.bottom - r.bottom) / scale
    if (gap < ${EDGE_GAP_PX} - 0.5) {
      bad.push('"' + own.slice(0, 40) + '" ' + Math.max(0, gap).toFixed(1) + 'px from the edge of the slide (at least ${EDGE_GAP_PX}px)')
      break
    }
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

/** The smallest timeline lane or axis label, in px of the 992 px canvas (16 px at 1280x720: 12.4). */
const TIMELINE_LABEL_MIN_PX = 12.4
/** The thinnest timeline request bar or event tick, in px of the canvas (about 7.7 px at 1280x720). */
const TIMELINE_MARK_MIN_PX = 6

/** The smallest diagram label a main-track slide may draw, in px of Slidev's 992 px canvas (14.2 px at 1280x720). */
const DIAGRAM_MIN_PX = 11

/**
 * Runs in the page (plain JS): what on slide `n` a back row cannot read, as a list of problems.
 * - code below Slidev's default code size (`--slidev-code-font-size` of the root, 12px on the
 *   992px-wide canvas), as drawn: an element's own transform (a `transform: scale` wrapper, or
 *   `{maxHeight}`) counts; checked only when `codeSize` is set (the main track);
 * - a code block whose content is wider or taller than its box (a line cut off, or scrolled away);
 * - text whose colour, blended with the opacity of its ancestors, is below WCAG AA contrast
 *   against the background it sits on (4.5:1, or 3:1 for large text: 24px, or 18.66px bold, on
 *   the canvas). Text over an image or a gradient, inside a disabled control or an inert one (a
 *   recording's own buttons; WCAG exempts inactive controls), fading in or out (a Vue transition) or in a Mermaid diagram (its own theme) is not measured;
 * - on the main track, Mermaid labels below DIAGRAM_MIN_PX, read through its shadow root;
 * - timeline lane and axis labels below TIMELINE_LABEL_MIN_PX, a lane label on two lines, and
 *   request bars or event ticks thinner or shorter than TIMELINE_MARK_MIN_PX.
 */
const FIND_ILLEGIBLE = `(n, codeSize) => {
  const page = document.querySelector('.slidev-page-' + n)
  if (!page) return ['no slide ' + n]
  const bad = []
  const scaleOf = el => { const r = el.getBoundingClientRect(); return el.offsetWidth ? r.width / el.offsetWidth : 1 }
  const slideScale = scaleOf(page)
  const defaultPx = Number.parseFloat(getComputedStyle(document.documentElement).getPropertyValue('--slidev-code-font-size')) || 12
  const visible = el => el.offsetParent !== null && getComputedStyle(el).visibility !== 'hidden' && el.getBoundingClientRect().width > 0
  for (const pre of page.querySelectorAll('pre.slidev-code, .slidev-code-wrapper pre, pre.shiki')) {
    if (!visible(pre)) continue
    const text = (pre.textContent || '').trim().slice(0, 40)
    const px = Number.parseFloat(getComputedStyle(pre).fontSize) * scaleOf(pre) / slideScale
    if (codeSize && px < defaultPx - 0.05) bad.push('code at ' + px.toFixed(1) + 'px (default ' + defaultPx + 'px): "' + text + '"')
    const dx = pre.scrollWidth - pre.clientWidth
    const dy = pre.scrollHeight - pre.clientHeight
    if (dx > 1 || dy > 1) bad.push('code cut off by ' + dx + 'px x ' + dy + 'px: "' + text + '"')
  }
  // Diagram labels: Mermaid draws in a shadow root, scaled to its box. The smallest label, in slide
  // px, must reach DIAGRAM_MIN_PX of the 992 px canvas (a little under the code size).
  if (codeSize) {
    for (const host of page.querySelectorAll('.mermaid')) {
      if (!host.shadowRoot || !visible(host)) continue
      const svg = host.shadowRoot.querySelector('svg')
      const vb = svg && svg.viewBox.baseVal
      if (!vb || !vb.width) continue
      const k = svg.getBoundingClientRect().width / vb.width / slideScale
      const labels = [...host.shadowRoot.querySelectorAll('text, span.nodeLabel, span.edgeLabel, foreignObject p')].filter(t => (t.textContent || '').trim() && t.getClientRects().length)
      const sizes = labels.map(t => Number.parseFloat(getComputedStyle(t).fontSize) * k)
      const least = Math.min(...sizes)
      if (sizes.length && least < ${DIAGRAM_MIN_PX} - 0.05) bad.push('diagram labels at ' + least.toFixed(1) + 'px (at least ${DIAGRAM_MIN_PX}px): "' + (labels[sizes.indexOf(least)].textContent || '').trim().slice(0, 30) + '"')
    }
  }
  // The timeline (TrafficTimeline.vue), read from the back row: its lane and axis labels at least
  // TIMELINE_LABEL_MIN_PX, each request bar and event tick at least TIMELINE_MARK_MIN_PX wide and tall.
  for (const label of page.querySelectorAll('[data-testid="timeline-axis"] > *, [data-testid="timeline"] [data-lane] > :first-child')) {
    if (!visible(label)) continue
    const px = Number.parseFloat(getComputedStyle(label).fontSize) * scaleOf(label) / slideScale
    if (px < ${TIMELINE_LABEL_MIN_PX} - 0.05) { bad.push('timeline label at ' + px.toFixed(1) + 'px (at least ${TIMELINE_LABEL_MIN_PX}px): "' + (label.textContent || '').trim() + '"'); break }
    if (label.closest('[data-lane]') && label.clientHeight > 1.5 * Number.parseFloat(getComputedStyle(label).lineHeight)) { bad.push('timeline lane label on two lines: "' + (label.textContent || '').trim() + '"'); break }
  }
  for (const mark of page.querySelectorAll('[data-testid="timeline-bar"], [data-testid="timeline-tick"]')) {
    if (!visible(mark)) continue
    const r = mark.getBoundingClientRect()
    const w = r.width / slideScale, h = r.height / slideScale
    if (Math.min(w, h) < ${TIMELINE_MARK_MIN_PX} - 0.05) { bad.push('timeline mark ' + w.toFixed(1) + ' x ' + h.toFixed(1) + 'px (at least ${TIMELINE_MARK_MIN_PX}px each way): "' + (mark.getAttribute('title') || '').slice(0, 40) + '"'); break }
  }
  const parse = c => { const m = c.match(/rgba?\\(([^)]+)\\)/); if (!m) return null; const p = m[1].split(/[ ,/]+/).filter(Boolean).map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1] }
  const over = (fg, bg) => [0, 1, 2].map(i => fg[i] * fg[3] + bg[i] * (1 - fg[3]))
  const lum = c => { const v = c.map(x => { x /= 255; return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4 }); return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2] }
  const ratio = (a, b) => { const x = lum(a), y = lum(b); return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05) }
  let contrastBad = 0
  for (const el of page.querySelectorAll('*')) {
    const own = [...el.childNodes].filter(c => c.nodeType === 3).map(c => c.textContent.trim()).join('').trim()
    if (!own || !visible(el) || el.closest('button:disabled, [inert] button, .mermaid, svg')) continue
    // Mid-way through a Vue transition (a job box leaving the work queue fades out): not how it reads.
    if (el.closest('[class*="-leave-active"], [class*="-enter-active"]')) continue
    const layers = []
    let opacity = 1
    let unknown = false
    for (let a = el; a; a = a.parentElement) {
      const s = getComputedStyle(a)
      opacity *= Number(s.opacity)
      if (s.backgroundImage !== 'none') { unknown = true; break }
      const bg = parse(s.backgroundColor)
      if (bg && bg[3] > 0) layers.push(bg)
      if (bg && bg[3] >= 1) break
    }
    if (unknown) continue
    let bg = [255, 255, 255]
    for (const l of layers.reverse()) bg = over(l, bg)
    const fg = parse(getComputedStyle(el).color)
    if (!fg) continue
    const seen = over([fg[0], fg[1], fg[2], fg[3] * opacity], bg)
    const s = getComputedStyle(el)
    const size = Number.parseFloat(s.fontSize) * scaleOf(el) / slideScale
    const large = size >= 24 || (size >= 18.66 && Number(s.fontWeight) >= 700)
    const r = ratio(seen, bg)
    if (r < (large ? 3 : 4.5) - 0.005) {
      if (++contrastBad <= 3) bad.push('contrast ' + r.toFixed(2) + ':1 for "' + own.slice(0, 30) + '" (' + s.color + (opacity < 1 ? ' at opacity ' + opacity.toFixed(2) : '') + ')')
    }
  }
  if (contrastBad > 3) bad.push('... and ' + (contrastBad - 3) + ' more below AA contrast')
  return bad
}`

/**
 * What on slide `no` (default: the current one) a back row cannot read: code cut off, text below
 * AA contrast and, with `codeSize` (main-track slides), code drawn below Slidev's default size and
 * diagram labels below DIAGRAM_MIN_PX.
 * An empty list when it reads well. See FIND_ILLEGIBLE.
 */
export async function findIllegible(page: Page, { no, codeSize = true }: { no?: number, codeSize?: boolean } = {}): Promise<string[]> {
  const n = no ?? await page.evaluate(() => (window as any).__slidev__.nav.currentSlideNo as number)
  return await page.evaluate(`(${FIND_ILLEGIBLE})(${n}, ${codeSize})`) as string[]
}
