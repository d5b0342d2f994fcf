import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Recording } from '../../composables/replay.ts'
import { launchBrowser } from '../../tools/browser.ts'
import { PREDICTIONS } from '../../wire/predictions.ts'
import { deckUrl, waitForSlide } from '../support/deck.ts'
import { exportPdf, pdfText, renderPage } from '../support/pdf.ts'

// The PDF handout, as `npm run export` makes it on a fresh install (system Chromium, no download).
// Every demo page must show its recording's end (timeline and numbers), not a placeholder.
const SHOTS = join(import.meta.dirname, '../../test-results/pdf')

/** The last pixel column of page `page` at 100 dpi, grey levels 0-255 (pdftoppm's PGM). */
function rightEdge(pdf: string, page: number, dir: string): number[] {
  const root = join(dir, `edge-${page}`)
  execFileSync('pdftoppm', ['-gray', '-r', '100', '-f', String(page), '-l', String(page), '-singlefile', pdf, root])
  const pgm = readFileSync(`${root}.pgm`)
  // P5 header: "P5\n<width> <height>\n<max>\n", then one byte per pixel.
  const header = /^P5\s+(\d+)\s+(\d+)\s+(\d+)\s/.exec(pgm.subarray(0, 40).toString('latin1'))!
  const [width, height] = [Number(header[1]), Number(header[2])]
  const start = header[0].length
  return Array.from({ length: height }, (_, y) => pgm[start + y * width + width - 1]!)
}

describe('the PDF handout', () => {
  let dir: string
  let pdf: string
  let pages = 0
  let ms = 0
  let demoSlides: Record<string, number> = {}

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wire-pdf-'))
    mkdirSync(SHOTS, { recursive: true })
    pdf = join(dir, 'handout.pdf');
    ({ pages, ms } = await exportPdf(pdf))
    console.log(`[pdf] ${pages} pages in ${(ms / 1000).toFixed(0)} s`)
    // Which slides hold a demo: the deck itself says (each recordable demo registers its slide).
    const browser = await launchBrowser()
    try {
      const page = await browser.newPage()
      await page.goto(`${deckUrl()}/1`)
      await waitForSlide(page, { settle: false })
      await page.waitForFunction(() => Object.keys(window.__wireDemoSlides__ ?? {}).length >= 20, undefined, { timeout: 120_000 })
      demoSlides = await page.evaluate(() => ({ ...window.__wireDemoSlides__ }))
    }
    finally {
      await browser.close()
    }
  }, 420_000)

  afterAll(() => {
    if (dir)
      rmSync(dir, { recursive: true, force: true })
  })

  it('has one page per slide', async () => {
    const total = Math.max(...Object.values(demoSlides))
    expect(pages).toBeGreaterThanOrEqual(total)
    // The last page is the deck's last slide: nothing cut short.
    expect(await pdfText(pdf, pages)).not.toBe('')
  })

  it('shows every demo\'s recorded run, labelled with its date, on its page', async () => {
    expect(Object.keys(demoSlides).length).toBeGreaterThanOrEqual(20)
    for (const [id, no] of Object.entries(demoSlides)) {
      const text = await pdfText(pdf, no)
      expect(text, `${id} (page ${no})`).toMatch(/recorded \d{4}-\d\d-\d\d, not live/)
      expect(text, `${id} (page ${no})`).not.toMatch(/it runs in the main slide view/)
      // Its numbers: the recording's final state has digits on the page (a placeholder has none).
      expect(text.replace(/\d{4}-\d\d-\d\d/, ''), `${id} (page ${no})`).toMatch(/\d/)
      await renderPage(pdf, no, join(SHOTS, `${String(no).padStart(3, '0')}-${id}.png`), 96)
    }
  })

  it('prints each main-track demo\'s prediction: the question and its options, and the measured answer below the recording\'s end', async () => {
    /** Text as a reader sees it, whatever line breaks pdftotext puts in. */
    const squash = (s: string) => s.replace(/\s+/g, ' ').trim()
    for (const [id, p] of Object.entries(PREDICTIONS)) {
      const text = squash(await pdfText(pdf, demoSlides[id]!))
      const rec = JSON.parse(readFileSync(new URL(`../../recordings/${id}.json`, import.meta.url), 'utf8')) as Recording
      const question = text.indexOf(squash(p.question))
      expect(question, `${id}: the question`).toBeGreaterThanOrEqual(0)
      // pdftotext may drop the thin space after ≤ or ≥: an option's words are compared without spaces.
      for (const o of p.options)
        expect(text.replace(/\s/g, ''), `${id}: option ${o.id}`).toContain(o.label.replace(/\s/g, ''))
      const answer = text.indexOf(`Measured: ${squash(p.reason(rec.final))}`)
      expect(answer, `${id}: the measured answer, below the question and the recording`).toBeGreaterThan(question)
      expect(text.indexOf('recorded'), `${id}: the recording's label above the answer`).toBeLessThan(answer)
    }
  })

  it('draws the timeline on the demo pages that have one', async () => {
    // Lane names and the time axis are text in the PDF.
    for (const id of ['short-polling', 'sse', 'race', 'websocket-push', 'work-queue']) {
      const text = await pdfText(pdf, demoSlides[id]!)
      expect(text, id).toMatch(/\b\d(\.\d+)? s\b|\b\d+ ms\b/)
    }
    expect(await pdfText(pdf, demoSlides.race!)).toMatch(/short polling[\s\S]*long polling[\s\S]*SSE/)
  })

  it('npm run export -- --range a-b writes those slides only, demo pages showing their recording', async () => {
    // A range that starts on a demo slide: the page must show its recording as the whole deck's does.
    const no = demoSlides['sync-async']!
    const part = join(dir, 'range.pdf')
    const { pages: rangePages } = await exportPdf(part, { args: ['--range', `${no}-${no + 1}`] })
    expect(rangePages, `--range ${no}-${no + 1} of ${pages} pages`).toBe(2)
    const [first, second] = [await pdfText(part, 1), await pdfText(part, 2)]
    expect(first).toMatch(/Block the loop, or hand the work to a thread/)
    expect(first).toMatch(/recorded \d{4}-\d\d-\d\d, not live/)
    expect(second, 'the slide after it').not.toBe('')
    expect(second).not.toMatch(/Block the loop, or hand the work to a thread/)
  }, 300_000)

  it('has no stray line at the right edge of a white page', () => {
    for (const no of Object.values(demoSlides).slice(0, 5)) {
      const edge = rightEdge(pdf, no, dir)
      expect(Math.min(...edge), `page ${no}: darkest pixel of the last column`).toBeGreaterThanOrEqual(245)
    }
  })
})
