import type { Page } from 'playwright-core'
import jsQR from 'jsqr'
import { devices } from 'playwright-core'
import { PNG } from 'pngjs'
import { describe, expect, it } from 'vitest'
import { audienceHub } from '../../demos/audience/state.ts'
import { PREDICTIONS } from '../../wire/predictions.ts'
import { currentSlide, goToSlide } from '../support/deck.ts'
import { screenshots, useDeckSession } from '../support/e2e.ts'

// The room votes: three phone-sized Chromium pages join through the QR code read back from the
// join slide, vote on two demo slides' questions, the big screen shows the tally, the clicker runs
// the demo, the option the run proved is marked and each phone says whether its own guess was
// right; a fourth phone joining mid-vote gets the question. The audience listener is bound to
// 127.0.0.1 (no traffic leaves the machine).
//
// The predictions are this test's own (the two demos' real ones live in wire/predictions.ts):
// registered in the running deck's module of that file (the dev server serves one instance), so
// the answer functions read the demos' real measured state.
const shot = screenshots('votes')

/** Plain JS for the page (a string: no transform helpers leak in), run before the slides are visited. */
const PING_QUESTION = PREDICTIONS.ping!.question

/** The big screen's prediction panel on the slide on screen (components/PredictionPanel.vue). */
const panel = (page: Page) => currentSlide(page).getByTestId('demo-predict')
/** Votes per option on the big screen, in the options' order. */
const counts = (page: Page) => panel(page).getByTestId('prediction-option').evaluateAll(els => els.map(e => e.getAttribute('data-count')))

/** A 390 x 844 phone (an iPhone's screen, in Chromium). */
const SMALL_PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 3, isMobile: true, hasTouch: true }

/** A phone-sized page that joined the room from `url` as `name` (a Pixel 7's screen unless `screen` says). */
async function joinedPhone(deck: ReturnType<typeof useDeckSession>, url: string, name: string, screen: object = devices['Pixel 7']): Promise<Page> {
  const context = await deck.browser.newContext(screen)
  const phone = await context.newPage()
  phone.on('console', m => m.type() === 'error' && deck.errors.push(`${name}: ${m.text()}`))
  await phone.goto(url)
  await phone.fill('#nick', name)
  await phone.click('#go')
  await expect.poll(() => phone.getByTestId('phone-transport').textContent()).toMatch(/short-poll|long-poll|sse|websocket/)
  return phone
}

const question = (phone: Page) => phone.getByTestId('phone-vote-question').textContent()
const vote = (phone: Page, option: string) => phone.locator(`[data-testid=phone-vote-option][data-option="${option}"]`).click()
const status = (phone: Page) => phone.getByTestId('phone-vote-status').textContent()

describe('audience mode: the room votes on each demo\'s question', () => {
  const deck = useDeckSession({ demos: { audience: true, audienceHost: '127.0.0.1', audiencePort: 0, connectBroker: false } })

  it('phones that joined by the QR code vote on two demo slides; the big screen tallies, the run decides, each phone says right or wrong', async () => {
    const { page } = deck
    await goToSlide(page, 'Every demo asks you first')
    const qr = currentSlide(page).getByTestId('audience-qr')
    await qr.waitFor({ timeout: 15_000 })
    await shot(page, 'join-slide')
    const png = PNG.sync.read(await qr.screenshot())
    const joinUrl = jsQR(new Uint8ClampedArray(png.data), png.width, png.height)?.data
    expect(joinUrl).toBe(audienceHub(deck.demos.ctx)!.joinUrl)
    const phones = [await joinedPhone(deck, joinUrl!, 'ada'), await joinedPhone(deck, joinUrl!, 'grace'), await joinedPhone(deck, joinUrl!, 'linus')]
    for (const phone of phones) expect(await phone.getByTestId('phone-no-vote').isVisible()).toBe(true)

    // The first demo slide: the question on every phone, the join badge and the room's tally on the big screen.
    await goToSlide(page, 'The smallest conversation')
    await expect.poll(() => panel(page).getByTestId('prediction-voters').count(), { timeout: 15_000 }).toBe(1)
    expect((await page.getByTestId('join-badge-url').textContent())!.replace('\n', '')).toBe(joinUrl!.replace('http://', ''))
    for (const phone of phones)
      await expect.poll(() => question(phone), { timeout: 15_000 }).toBe(PING_QUESTION)
    await vote(phones[0]!, 'lt1')
    await vote(phones[1]!, 'lt1')
    await vote(phones[1]!, '1-10') // grace changes her mind: still one vote
    await vote(phones[2]!, '10-100')
    await expect.poll(() => counts(page)).toEqual(['1', '1', '1', '0'])
    expect(await phones[1]!.locator('[aria-pressed=true]').textContent()).toBe('1–10 ms')
    expect(await status(phones[1]!)).toMatch(/^Your guess: 1–10 ms\. You may change it until the demo starts\./)

    // A latecomer joins mid-vote: the question is there at once, and its vote counts.
    const late = await joinedPhone(deck, joinUrl!, 'edsger', SMALL_PHONE)
    await expect.poll(() => question(late)).toBe(PING_QUESTION)
    await vote(late, '1-10')
    await expect.poll(() => panel(page).getByTestId('prediction-voters').getAttribute('data-voters')).toBe('4')
    await shot(page, 'demo-slide-voting')
    await late.screenshot({ path: 'test-results/votes/phone-voting.png' })
    phones.push(late)
    const mine = ['lt1', '1-10', '10-100', '1-10']
    await expectRunDecides(page, phones, mine)
    await shot(page, 'demo-slide-revealed')
    await late.screenshot({ path: 'test-results/votes/phone-revealed.png' })

    // The next slide has no demo: every phone hears there is no question now, and the badge is gone.
    await page.keyboard.press('ArrowRight') // the ping's second click
    await page.keyboard.press('ArrowRight')
    for (const phone of phones) await expect.poll(() => phone.getByTestId('phone-no-vote').isVisible(), { timeout: 15_000 }).toBe(true)
    expect(await page.getByTestId('join-badge').count()).toBe(0)

    // The second demo slide: a new question, everyone votes the same, the run decides.
    await goToSlide(page, 'The anatomy of a round trip')
    for (const phone of phones)
      await expect.poll(() => question(phone), { timeout: 15_000 }).toBe(PREDICTIONS['request-response']!.question)
    for (const phone of phones) await vote(phone, '300-1000')
    await expect.poll(() => counts(page)).toEqual(['0', '0', '4', '0'])
    await expectRunDecides(page, phones, mine.map(() => '300-1000'))
    expect(deck.errors).toEqual([])
    expect(deck.remoteRequests).toEqual([])
    for (const phone of phones) await phone.context().close()
  })
})

/** The clicker starts the demo: the vote closes (a phone's button no longer counts), the run proves an option, the big screen marks it and each phone says right or wrong for `mine[i]`. */
async function expectRunDecides(page: Page, phones: Page[], mine: string[]): Promise<void> {
  await page.keyboard.press('ArrowRight')
  const room = currentSlide(page).getByTestId('prediction-room')
  await room.waitFor({ timeout: 15_000 })
  expect(await panel(page).getByTestId('prediction-voters').textContent()).toBe(`${phones.length} voted:`)
  const proved = await panel(page).getAttribute('data-answer')
  expect(proved).toBeTruthy()
  expect(await panel(page).locator('[data-proved]').getAttribute('data-option')).toBe(proved)
  const right = mine.filter(m => m === proved).length
  expect(await room.textContent()).toBe(`${right} of ${phones.length} said so.`)
  for (const [i, phone] of phones.entries()) {
    await expect.poll(() => status(phone), { timeout: 15_000 }).toMatch(mine[i] === proved ? /^You were right: it was / : /^You were wrong: it was /)
    expect(await phone.locator(`[data-option="${proved}"]`).getAttribute('class')).toContain('proved')
    expect(await phone.locator('[data-testid=phone-vote-option]:not([disabled])').count()).toBe(0) // closed: no more votes
  }
}

describe('audience mode off: the deck asks no vote', () => {
  const deck = useDeckSession({ demos: { connectBroker: false } })

  it('shows no badge and no tally, and sends no vote call, even on a demo slide with a prediction', async () => {
    const { page } = deck
    const asked: string[] = []
    page.on('request', r => /\/audience\//.test(r.url()) && asked.push(`${r.method()} ${new URL(r.url()).pathname}`))
    await goToSlide(page, 'Every demo asks you first')
    await expect.poll(() => currentSlide(page).getByTestId('audience-off').textContent(), { timeout: 15_000 }).toMatch(/guess \(a show of hands\), then watch the wire decide/)
    await goToSlide(page, 'The smallest conversation')
    await page.keyboard.press('ArrowRight') // the demo runs as it always does
    await expect.poll(() => currentSlide(page).getByTestId('ping-table').locator('tbody tr').count(), { timeout: 15_000 }).toBe(1)
    expect(await page.getByTestId('join-badge').count()).toBe(0)
    expect(await currentSlide(page).getByTestId('prediction-voters').count()).toBe(0)
    expect(await currentSlide(page).getByTestId('prediction-option').count()).toBe(PREDICTIONS.ping!.options.length) // the options, for a show of hands
    expect(asked.filter(a => !a.endsWith('/audience/state'))).toEqual([]) // the join slide's own "is audience mode on?" only
    expect(deck.errors).toEqual([])
  })
})
