import type { Browser, Page } from 'playwright-core'
import type { Recording } from '../../composables/replay.ts'
import type { StaticSite } from '../support/static-site.ts'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchBrowser } from '../../tools/browser.ts'
import { freePort } from '../../tools/ports.ts'
import { PREDICTIONS } from '../../wire/predictions.ts'
import { findClipped, goToSlide, waitForSlide } from '../support/deck.ts'
import { screenshots } from '../support/e2e.ts'
import { buildDeck, serveUnder } from '../support/static-site.ts'

// The hosted copy a learner clicks through: `slidev build --base /talk/`, served by a plain static
// server under /talk/, and no demo server anywhere. Every demo must replay its recording.
const BASE = '/talk/'
const shot = screenshots('static-site')
const recording = (id: string) => JSON.parse(readFileSync(new URL(`../../recordings/${id}.json`, import.meta.url), 'utf8')) as Recording

describe('the deck built for a static host under a sub-path, with no demo server', () => {
  let dir: string
  let site: StaticSite
  let browser: Browser
  let page: Page
  const errors: string[] = []
  const foreign: string[] = []
  let demoSlides: Record<string, number> = {}

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wire-static-'))
    await buildDeck(BASE, dir)
    site = await serveUnder(dir, BASE)
    browser = await launchBrowser()
    const context = await browser.newContext({ viewport: { width: 1280, height: 720 }, deviceScaleFactor: 1 })
    context.on('request', (req) => {
      const url = new URL(req.url())
      if (!['data:', 'blob:'].includes(url.protocol) && url.origin !== site.origin)
        foreign.push(url.href)
    })
    page = await context.newPage()
    page.on('console', msg => msg.type() === 'error' && errors.push(`console: ${msg.text()}`))
    page.on('pageerror', err => errors.push(`pageerror: ${err.message}`))
  }, 360_000)

  afterAll(async () => {
    await browser?.close()
    await site?.close()
    if (dir)
      rmSync(dir, { recursive: true, force: true })
  })

  it('opens at the sub-path and finds every demo', async () => {
    await page.goto(`${site.origin}${BASE}1`)
    await waitForSlide(page)
    // Every recorded demo, the appendix's included: Slidev mounts the slides one after another.
    const recorded = readdirSync(new URL('../../recordings/', import.meta.url)).filter(f => f.endsWith('.json')).map(f => f.slice(0, -'.json'.length))
    expect(recorded.length).toBeGreaterThanOrEqual(20)
    await page.waitForFunction(ids => ids.every(id => id in (window.__wireDemoSlides__ ?? {})), recorded, { timeout: 60_000 })
    demoSlides = await page.evaluate(() => ({ ...window.__wireDemoSlides__ }))
    expect(Object.keys(demoSlides).sort()).toEqual(recorded.sort())
  })

  it('replays every demo on the clicker, labelled as a recording with its date', async () => {
    expect(Object.keys(demoSlides).length).toBeGreaterThan(0)
    for (const [id, no] of Object.entries(demoSlides).sort(([, a], [, b]) => a - b)) {
      await page.evaluate(n => (window as any).__slidev__.nav.go(n), no)
      await waitForSlide(page)
      const slide = page.locator(`.slidev-page-${no}`)
      const label = slide.getByTestId('demo-recorded')
      await expect.poll(() => label.textContent(), { message: `${id}: the recorded label` }).toMatch(/recorded \d{4}-\d\d-\d\d, not live/)
      // The first demo slide the reader opens says once, at the top of the window, that this copy plays
      // recordings and how to run them live; no other does.
      const first = no === Math.min(...Object.values(demoSlides))
      const note = page.getByTestId('demo-static-note')
      await expect.poll(() => note.count(), { message: `${id}: the note on a copy with no demo server` }).toBe(first ? 1 : 0)
      if (first) {
        expect(await note.textContent()).toMatch(/No demo server here[\s\S]*npm ci && npm start/)
        await shot(page, 'static-note')
      }
      // Nothing replays before the presenter clicks.
      expect(await slide.getByTestId('demo-frame').getAttribute('data-replay'), `${id}: before the click`).toBe('ready')
      const entries = slide.locator('[data-testid=timeline-bar], [data-testid=timeline-tick]')
      expect(await entries.count(), `${id}: timeline before the click`).toBe(0)
      const before = await slide.getByTestId('demo-recording').innerText()
      // The clicker's first step plays the recording; a slide with no clicker steps (the audience's Join slide) has ▶ Replay.
      if (await page.evaluate(() => (window as any).__slidev__.nav.clicksTotal as number))
        await page.keyboard.press('ArrowRight')
      else
        await slide.getByTestId('demo-replay').click()
      if (await slide.getByTestId('timeline').count())
        await expect.poll(() => entries.count(), { message: `${id}: timeline entries`, timeout: 15_000 }).toBeGreaterThan(0)
      // The numbers come from the recording too (demos without a timeline show only these).
      await expect.poll(() => slide.getByTestId('demo-recording').innerText(), { message: `${id}: the demo's numbers`, timeout: 15_000 }).not.toBe(before)
      // It plays to its end in real time, one clicker step at a time (it waits between them, as the
      // presenter does, and the next click plays on), then offers to play again.
      const frame = slide.getByTestId('demo-frame')
      for (;;) {
        await expect.poll(() => frame.getAttribute('data-replay'), { message: `${id}: replay over or waiting for the next step`, timeout: 30_000 }).toMatch(/^(paused|played)$/)
        if (await frame.getAttribute('data-replay') === 'played')
          break
        expect(await slide.getByTestId('demo-next-step').textContent(), `${id}: between two steps`).toMatch(/Step \d of \d/)
        await page.keyboard.press('ArrowRight')
      }
      // A main-track demo's prediction: the option the recorded run proved, marked below it, and the slide still fits.
      const p = PREDICTIONS[id]
      if (p) {
        await expect.poll(() => slide.getByTestId('prediction-reveal').getAttribute('data-answer'), { message: `${id}: the answer` }).toBe(p.answer(recording(id).final))
        expect(await findClipped(page, no), `${id}: the slide with its answer`).toBe('')
      }
      await shot(page, `${String(no).padStart(3, '0')}-${id}`)
    }
  }, 300_000) // every demo replays in real time, one after the other

  it('shows a reader the room on the four audience pages: a recorded run with simulated phones, and no loopback address', async () => {
    const audience = ['audience-join', 'audience-room', 'audience-race', 'audience-rabbitmq']
    expect(Object.keys(demoSlides)).toEqual(expect.arrayContaining(audience))
    for (const id of audience) {
      const no = demoSlides[id]!
      await page.evaluate(n => (window as any).__slidev__.nav.go(n), no)
      await waitForSlide(page)
      const slide = page.locator(`.slidev-page-${no}`)
      await slide.getByTestId('demo-replay').click()
      // Played a step at a time (the room slides have two pushes): ▶ Step plays the next one.
      const frame = slide.getByTestId('demo-frame')
      for (;;) {
        await expect.poll(() => frame.getAttribute('data-replay'), { message: `${id}: replay over or waiting for the next step`, timeout: 30_000 }).toMatch(/^(paused|played)$/)
        if (await frame.getAttribute('data-replay') === 'played')
          break
        await slide.getByTestId('demo-next-step').click()
        await expect.poll(() => frame.getAttribute('data-replay'), { message: `${id}: the next step plays` }).not.toBe('paused')
      }
      const text = await slide.innerText()
      expect(text, id).toMatch(/12 simulated/)
      expect(text, id).toMatch(/\b12\b\s*phones/)
      expect(text, id).not.toMatch(/127\.0\.0\.1|localhost|Live demo: it runs/)
      await shot(page, `audience-${id}`)
    }
  })

  it('shows a slide\'s speaker notes on demand', async () => {
    const no = demoSlides.ping! // two clicker steps, then the next slide
    await page.evaluate(n => (window as any).__slidev__.nav.go(n), no)
    await waitForSlide(page)
    await page.getByTestId('notes-toggle').click({ force: true }) // the nav bar shows on hover
    const notes = page.getByTestId('notes-panel')
    await expect.poll(() => notes.textContent()).toMatch(/Notes · slide \d+[\s\S]{40,}/)
    // The slide shrinks to the left of the panel instead of hiding under it.
    const panel = (await notes.boundingBox())!
    const shown = (await page.locator(`.slidev-page-${no}`).boundingBox())!
    expect(shown.x + shown.width).toBeLessThanOrEqual(panel.x + 1)
    await shot(page, 'notes')
    // The arrow keys still drive the deck, and the notes follow.
    await page.keyboard.press('ArrowRight')
    await page.keyboard.press('ArrowRight')
    await page.keyboard.press('ArrowRight')
    await expect.poll(() => notes.textContent()).toContain(`slide ${no + 1}`)
    await page.getByTestId('notes-close').click()
    expect(await notes.count()).toBe(0)
  })

  it('lets a learner predict: a pick plays the recording, the run marks its answer and judges the pick, and the recap counts it', async () => {
    /** A pick on demo `id`: the option its recording proves, or another one. */
    async function predict(id: string, right: boolean): Promise<void> {
      const p = PREDICTIONS[id]!
      const rec = recording(id)
      const proved = p.answer(rec.final)!
      const option = right ? proved : p.options.find(o => o.id !== proved)!.id
      const no = demoSlides[id]!
      await page.evaluate(n => (window as any).__slidev__.nav.go(n), no)
      await waitForSlide(page)
      const slide = page.locator(`.slidev-page-${no}`)
      const frame = slide.getByTestId('demo-frame')
      // Before the pick: the question, its options as buttons, no answer, nothing played.
      expect(await slide.getByTestId('prediction-question').textContent()).toBe(p.question)
      const options = slide.locator('button[data-testid=prediction-option]')
      expect(await options.allTextContents()).toEqual(p.options.map(o => o.label))
      expect(await slide.getByTestId('prediction-reveal').count()).toBe(0)
      expect(await frame.getAttribute('data-replay')).toBe('ready')
      await options.and(slide.locator(`[data-option="${option}"]`)).click()
      // The pick plays the recorded run, a step at a time (▶ Step 2 of 2 between them); the clicker's
      // → plays on from there (it does not start over), as the button does; at its end the proved
      // option is marked, with its reason.
      const where = async () => await frame.getAttribute('data-replay') === 'paused' ? await slide.getByTestId('demo-next-step').textContent() : frame.getAttribute('data-replay')
      for (let press = 0; ; press++) {
        await expect.poll(() => frame.getAttribute('data-replay'), { message: `${id}: replay over or waiting for the next step`, timeout: 30_000 }).toMatch(/^(paused|played)$/)
        if (await frame.getAttribute('data-replay') === 'played')
          break
        // Between steps the run answers as a live one does after that click: the end's answer or none yet.
        const between = await slide.getByTestId('prediction-reveal').count() ? await slide.getByTestId('prediction-reveal').getAttribute('data-answer') : null
        expect([null, proved], `${id}: the answer between two steps`).toContain(between)
        if (between === null) // no answer yet: one line says the run waits for a click, not that it hangs
          expect(await slide.getByTestId('demo-paused-hint').textContent(), `${id}: the pause says so`).toMatch(/Paused after step \d of \d.*Press →/)
        const waiting = await where()
        if (press === 0)
          await page.keyboard.press('ArrowRight')
        else
          await slide.getByTestId('demo-next-step').click()
        await expect.poll(async () => [await where()].filter(w => w !== waiting && w !== 'playing').length, { message: `${id}: the press plays on to a later step (not the first again)`, timeout: 30_000 }).toBe(1)
      }
      const reveal = slide.getByTestId('prediction-reveal')
      await expect.poll(() => reveal.getAttribute('data-answer'), { message: `${id}: the answer` }).toBe(proved)
      expect(await reveal.getByTestId('prediction-reason').textContent()).toBe(p.reason(rec.final))
      expect(await slide.locator('[data-testid=prediction-option][data-proved]').getAttribute('data-option')).toBe(proved)
      expect(await slide.locator('[data-testid=prediction-option][data-picked]').getAttribute('data-option')).toBe(option)
      expect(await reveal.getByTestId('prediction-yours').textContent()).toBe(right ? 'Your pick: right.' : 'Your pick: wrong.')
      // One pick per question: the options are no longer buttons.
      expect(await slide.locator('button[data-testid=prediction-option]').count()).toBe(0)
      await shot(page, `predict-${id}`)
      // The pick counted as the clicker's first step: the → after the last step moves on to the next slide, no press does nothing.
      await page.keyboard.press('ArrowRight')
      await expect.poll(() => page.evaluate(() => (window as any).__slidev__.nav.currentSlideNo), { message: `${id}: the → after the run leaves the slide` }).toBe(no + 1)
    }
    // A fresh load (the test before played every demo with → and no pick). A run played with → before
    // any pick shows its answer, and then the options are no longer buttons: no pick after the fact.
    await page.reload()
    await waitForSlide(page)
    const ping = demoSlides.ping!
    await page.evaluate(n => (window as any).__slidev__.nav.go(n), ping)
    await waitForSlide(page)
    const pingSlide = page.locator(`.slidev-page-${ping}`)
    expect(await pingSlide.locator('button[data-testid=prediction-option]').count(), 'ping: options to pick before the run').toBeGreaterThan(0)
    await page.keyboard.press('ArrowRight')
    await pingSlide.getByTestId('prediction-reveal').waitFor({ timeout: 30_000 })
    expect(await pingSlide.locator('button[data-testid=prediction-option]').count(), 'ping: no pick once the answer was shown').toBe(0)

    await predict('short-polling', true)
    await predict('webhooks', false)

    // The recap counts it, from this browser's storage: after a reload too.
    const total = Object.keys(PREDICTIONS).length
    for (const reload of [false, true]) {
      if (reload)
        await page.reload()
      await goToSlide(page, 'Which pattern, when')
      const tally = page.locator('.slidev-page:visible').last().getByTestId('prediction-tally')
      await expect.poll(() => tally.innerText()).toMatch(new RegExp(`^Your predictions: 1 right of 2 played\\n${total - 2} of ${total} still to try · start over$`))
    }
    await shot(page, 'predict-recap')
    // Kept in this browser only: the pick and what the run proved, by demo.
    const kept = await page.evaluate(() => JSON.parse(localStorage.getItem('wire-patterns:predictions') ?? '{}')) as Record<string, { pick: string, proved: string }>
    expect(Object.keys(kept).sort()).toEqual(['short-polling', 'webhooks'])
    expect(kept['short-polling']!.pick).toBe(kept['short-polling']!.proved)
    expect(kept.webhooks!.pick).not.toBe(kept.webhooks!.proved)
  })

  it('on an https copy whose demo server does not answer, the offline banner also says to allow local network access', async () => {
    // The same build as an https host serves it (Playwright answers https://wire-patterns.test with
    // the static site's files): a secure context, calling a demo server over http on this machine.
    const host = 'https://wire-patterns.test'
    const demo = `http://127.0.0.1:${await freePort()}` // nothing listens there: refused, or not allowed
    const context = await browser.newContext({ viewport: { width: 1280, height: 720 }, deviceScaleFactor: 1 })
    try {
      await context.route(`${host}/**`, async route => route.fulfill({ response: await route.fetch({ url: route.request().url().replace(host, site.origin) }) }))
      const offlineOn = async (origin: string) => {
        const tab = await context.newPage()
        await tab.goto(`${origin}${BASE}1?demo=${encodeURIComponent(demo)}`)
        await waitForSlide(tab)
        await tab.waitForFunction(() => 'ping' in (window.__wireDemoSlides__ ?? {}), undefined, { timeout: 60_000 })
        const no = await tab.evaluate(() => window.__wireDemoSlides__!.ping!)
        await tab.evaluate(n => (window as any).__slidev__.nav.go(n), no)
        await waitForSlide(tab)
        const slide = tab.locator(`.slidev-page-${no}`)
        await expect.poll(() => slide.getByTestId('demo-offline').isVisible(), { message: `${origin}: the offline banner`, timeout: 20_000 }).toBe(true)
        return { tab, slide }
      }
      const https = await offlineOn(host)
      expect(await https.slide.getByTestId('demo-offline').textContent()).toContain('npm run demos')
      expect(await https.slide.getByTestId('demo-local-network').textContent()).toMatch(/allow local network access/)
      await shot(https.tab, 'https-copy-offline')
      // Served over http, the browser asks nothing: the banner says only that the server is offline.
      const http = await offlineOn(site.origin)
      expect(await http.slide.getByTestId('demo-local-network').count()).toBe(0)
    }
    finally {
      await context.close()
    }
  })

  it('asked no host but its own, found every file under the sub-path, and logged no error', () => {
    expect(foreign).toEqual([])
    expect(site.outside).toEqual([])
    expect(site.missing).toEqual([])
    expect(errors).toEqual([])
  })
})
