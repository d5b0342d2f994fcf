import type { Browser, Locator } from 'playwright-core'
import type { WatchedPage } from '../support/browser.ts'
import type { RunningDemoServer } from '../support/demo-server.ts'
import { mkdirSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchBrowser, openWatchedPage } from '../support/browser.ts'
import { currentSlide, deckUrl, goToSlide, openDeck, waitForSlide } from '../support/deck.ts'
import { startDemoServer, waitFor } from '../support/demo-server.ts'

const SHOTS = 'test-results/rabbitmq'
mkdirSync(SHOTS, { recursive: true })

/** Elements of slide `n` that stick out of the 16:9 canvas (same check as the deck walk). */
const FIND_CLIPPED = `(n) => {
  const page = document.querySelector('.slidev-page-' + n)
  const layout = page && page.querySelector('.slidev-layout')
  if (!page || !layout) return 'no .slidev-layout'
  const box = page.getBoundingClientRect()
  const bad = []
  for (const el of layout.querySelectorAll('*')) {
    const r = el.getBoundingClientRect()
    if (r.width === 0 || r.height === 0 || (r.right <= box.right + 2 && r.bottom <= box.bottom + 2)) continue
    bad.push('<' + el.tagName.toLowerCase() + '> "' + (el.textContent || '').trim().slice(0, 40) + '"')
    if (bad.length >= 3) break
  }
  return bad.join('; ')
}`

const counts = (slide: Locator) => slide.getByTestId('sub-count').allTextContents()

describe('RabbitMQ slides with a live broker', () => {
  let browser: Browser
  let demos: RunningDemoServer
  let w: WatchedPage

  beforeAll(async () => {
    demos = await startDemoServer({ allowedOrigins: [deckUrl()] })
    await waitFor(() => demos.ctx.broker.state === 'up', 'the broker connection')
    await fetch(`${demos.url}/work-queue/jobs`, { method: 'DELETE' })
    browser = await launchBrowser()
    w = await openWatchedPage(browser)
    await openDeck(w.page, demos.url)
  })
  afterAll(async () => {
    await browser?.close()
    await demos?.close()
  })

  it('pushes a published message through the broker to the browser and shows each hop', async () => {
    await goToSlide(w.page, 'Push, live: broker to browser')
    const slide = currentSlide(w.page)
    await expect.poll(() => slide.getByTestId('push-queue').textContent(), { timeout: 10_000 }).toMatch(/^amq\.gen-/)
    await slide.getByTestId('push-publish').click()
    await slide.getByTestId('push-publish').click()
    await expect.poll(() => slide.getByTestId('push-row').count()).toBe(2)
    expect(await slide.getByTestId('push-row').first().textContent()).toMatch(/push #2.*ms/)
    await w.page.screenshot({ path: `${SHOTS}/push.png` })
  })

  it('fans a message out to every subscriber panel, with subscribers added and removed live', async () => {
    await goToSlide(w.page, 'Fanout, live: every subscriber gets every message')
    const slide = currentSlide(w.page)
    await expect.poll(() => slide.getByTestId('sub-panel').count(), { timeout: 10_000 }).toBe(3)
    await expect.poll(() => slide.locator('[data-testid=sub-panel]:has-text("amq.gen-")').count(), { timeout: 10_000 }).toBe(3)
    await slide.getByTestId('pubsub-publish').click()
    await slide.getByTestId('pubsub-publish').click()
    await expect.poll(() => counts(slide)).toEqual(['2', '2', '2'])
    await slide.getByTestId('pubsub-add').click()
    await expect.poll(() => slide.locator('[data-testid=sub-panel]:has-text("amq.gen-")').count()).toBe(4)
    await slide.getByTestId('pubsub-publish').click()
    await expect.poll(() => counts(slide)).toEqual(['3', '3', '3', '1'])
    await slide.getByTestId('pubsub-remove').first().click()
    await expect.poll(() => counts(slide)).toEqual(['3', '3', '1'])
    await waitFor(async () => (await (await fetch(`${demos.url}/pubsub/subscribers`)).json()).length === 3, 'the removed subscriber to be gone on the server')
    await w.page.screenshot({ path: `${SHOTS}/fanout.png` })
  })

  it('routes by topic: only the panels whose binding key matches receive it', async () => {
    await goToSlide(w.page, 'Topics, live: subscribe to a pattern')
    const slide = currentSlide(w.page)
    await expect.poll(() => slide.locator('[data-testid=sub-panel]:has-text("amq.gen-")').count(), { timeout: 10_000 }).toBe(3)
    await slide.getByTestId('pubsub-routing-key').selectOption('video.uploaded')
    await slide.getByTestId('pubsub-publish').click()
    await expect.poll(() => counts(slide)).toEqual(['1', '1', '0']) // video.*, #.uploaded, audio.#
    await slide.getByTestId('pubsub-routing-key').selectOption('audio.uploaded')
    await slide.getByTestId('pubsub-publish').click()
    await expect.poll(() => counts(slide)).toEqual(['1', '2', '1'])
    await w.page.screenshot({ path: `${SHOTS}/topic.png` })
  })

  it('shows the broker redelivering the job of a worker killed mid-job', async () => {
    await goToSlide(w.page, 'Work queue, live: kill a worker mid-job')
    const slide = currentSlide(w.page)
    await expect.poll(() => slide.getByTestId('wq-worker').count(), { timeout: 10_000 }).toBe(2)
    await slide.getByTestId('wq-jobs').click()
    const busy = slide.locator('[data-testid=wq-worker]:has-text("busy")')
    await expect.poll(() => busy.count(), { timeout: 5000 }).toBe(2)
    await busy.first().getByTestId('wq-kill').click()
    await slide.getByTestId('wq-redelivered').first().waitFor({ timeout: 5000 })
    await expect.poll(() => slide.getByTestId('wq-stats').textContent()).toMatch(/redelivered [1-9]/)
    expect(await slide.getByTestId('wq-feed').textContent()).toMatch(/killed holding job-\d+/)
    await w.page.screenshot({ path: `${SHOTS}/work-queue.png` })
  })

  it('draws the broker from the broker: exchanges, bindings, queue counts', async () => {
    await goToSlide(w.page, 'The broker, drawn live')
    const slide = currentSlide(w.page)
    await slide.getByTestId('broker-view').waitFor({ timeout: 10_000 })
    await expect.poll(() => slide.getByTestId('broker-view').textContent()).toContain('wire.jobs')
    expect(await slide.getByTestId('broker-exchange').count()).toBe(4)
    // a subscriber opened here shows up as a queue bound to wire.topic, with its consumer
    await slide.getByTestId('broker-subscribe').click()
    await expect.poll(() => slide.getByTestId('broker-view').textContent(), { timeout: 5000 }).toMatch(/video\.\* → amq\.gen-.*consumers 1/)
    await w.page.screenshot({ path: `${SHOTS}/broker-view.png` })
    expect(w.remoteRequests).toEqual([])
    expect(w.errors).toEqual([])
  })

  // Last: the dev server compiles each slide on first view, which takes a while on a shared machine.
  it('fits every slide of the three RabbitMQ chapters on the canvas', { timeout: 600_000 }, async () => {
    const first = await goToSlide(w.page, 'Message queues')
    const last = await goToSlide(w.page, 'The work queue, from the broker\'s side')
    const overflowing: string[] = []
    for (let no = first; no <= last; no++) {
      await w.page.evaluate(n => (window as any).__slidev__.nav.go(n), no)
      await w.page.waitForFunction(n => (window as any).__slidev__.nav.currentSlideNo === n, no)
      await waitForSlide(w.page)
      await w.page.waitForTimeout(500) // let the slide transition finish before the screenshot
      await w.page.screenshot({ path: `${SHOTS}/slide-${String(no).padStart(3, '0')}.png` })
      const over = await w.page.evaluate(`(${FIND_CLIPPED})(${no})`) as string
      if (over)
        overflowing.push(`slide ${no}: ${over}`)
    }
    expect(last - first).toBeGreaterThanOrEqual(20)
    expect(overflowing).toEqual([])
    expect(w.errors).toEqual([])
  })
})

describe('RabbitMQ slides with no broker', () => {
  let browser: Browser
  let demos: RunningDemoServer
  let w: WatchedPage

  beforeAll(async () => {
    demos = await startDemoServer({ amqpUrl: 'amqp://127.0.0.1:1', allowedOrigins: [deckUrl()] })
    await waitFor(() => demos.ctx.broker.state === 'down', 'the broker to be reported down')
    browser = await launchBrowser()
    w = await openWatchedPage(browser)
    await openDeck(w.page, demos.url)
  })
  afterAll(async () => {
    await browser?.close()
    await demos?.close()
  })

  it('says clearly that RabbitMQ is not reachable on every RabbitMQ demo, with no console errors', async () => {
    const titles = ['Push, live: broker to browser', 'Fanout, live: every subscriber gets every message', 'Topics, live: subscribe to a pattern', 'Work queue, live: kill a worker mid-job', 'The broker, drawn live']
    for (const [i, title] of titles.entries()) {
      await goToSlide(w.page, title)
      const slide = currentSlide(w.page)
      await slide.getByTestId('demo-broker-down').waitFor({ timeout: 10_000 })
      expect(await slide.getByTestId('demo-broker-down').textContent()).toContain('RabbitMQ is not reachable')
      if (i === 0 || i === 3)
        await w.page.screenshot({ path: `${SHOTS}/no-broker-${i}.png` })
    }
    // the rest of the deck keeps working
    await goToSlide(w.page, 'The smallest conversation')
    await currentSlide(w.page).getByTestId('ping-button').click()
    await expect.poll(() => currentSlide(w.page).getByTestId('ping-table').locator('tbody tr').count()).toBe(1)
    expect(w.remoteRequests).toEqual([])
    expect(w.errors).toEqual([])
  })
})
