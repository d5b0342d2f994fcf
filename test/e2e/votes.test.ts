import type { Page } from 'playwright-core'
import jsQR from 'jsqr'
import { devices } from 'playwright-core'
import { PNG } from 'pngjs'
import { describe, expect, it } from 'vitest'
import { audienceHub } from '../../demos/audience/state.ts'
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
const REGISTER_PREDICTIONS = `(async () => {
  const { PREDICTIONS } = await import('/wire/predictions.ts')
  PREDICTIONS['ping'] = {
    demo: 'ping',
    question: 'How long does one request to this laptop take?',
    options: [{ id: 'under-1', label: 'under 1 ms' }, { id: 'about-10', label: '1 to 30 ms' }, { id: 'about-100', label: '30 ms or more' }],
    answer: s => s.pings.length ? (s.pings[0].ms < 1 ? 'under-1' : s.pings[0].ms < 30 ? 'about-10' : 'about-100') : null,
    reason: s => s.pings[0].ms.toFixed(1) + ' ms',
  }
  PREDICTIONS['request-response'] = {
    demo: 'request-response',
    question: 'How many bytes of head in front of a 16-byte body?',
    options: [{ id: 'under-200', label: 'under 200' }, { id: 'up-to-500', label: '200 to 499' }, { id: 'over-500', label: '500 or more' }],
    answer: s => s.sent ? (s.sent.headBytes < 200 ? 'under-200' : s.sent.headBytes < 500 ? 'up-to-500' : 'over-500') : null,
    reason: s => s.sent.headBytes + ' bytes',
  }
})()`

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
    await page.evaluate(REGISTER_PREDICTIONS)
    const phones = [await joinedPhone(deck, joinUrl!, 'ada'), await joinedPhone(deck, joinUrl!, 'grace'), await joinedPhone(deck, joinUrl!, 'linus')]
    for (const phone of phones) expect(await phone.getByTestId('phone-no-vote').isVisible()).toBe(true)

    // The first demo slide: the question on every phone, the join badge and the room's tally on the big screen.
    await goToSlide(page, 'The smallest conversation')
    const tally = page.getByTestId('vote-tally')
    await expect.poll(() => tally.getAttribute('data-state'), { timeout: 15_000 }).toBe('open')
    expect(await page.getByTestId('join-badge-url').textContent()).toBe(joinUrl!.replace('http://', ''))
    for (const phone of phones)
      await expect.poll(() => question(phone), { timeout: 15_000 }).toBe('How long does one request to this laptop take?')
    await vote(phones[0]!, 'under-1')
    await vote(phones[1]!, 'under-1')
    await vote(phones[1]!, 'about-10') // grace changes her mind: still one vote
    await vote(phones[2]!, 'about-100')
    await expect.poll(() => page.getByTestId('vote-count').allTextContents()).toEqual(['1', '1', '1'])
    expect(await phones[1]!.locator('[aria-pressed=true]').textContent()).toBe('1 to 30 ms')
    expect(await status(phones[1]!)).toMatch(/^Your guess: 1 to 30 ms\. You may change it until the demo starts\./)

    // A latecomer joins mid-vote: the question is there at once, and its vote counts.
    const late = await joinedPhone(deck, joinUrl!, 'edsger', SMALL_PHONE)
    await expect.poll(() => question(late)).toBe('How long does one request to this laptop take?')
    await vote(late, 'about-10')
    await expect.poll(() => page.getByTestId('vote-status').textContent()).toMatch(/4 phones/)
    await shot(page, 'demo-slide-voting')
    await late.screenshot({ path: 'test-results/votes/phone-voting.png' })
    phones.push(late)
    const mine = ['under-1', 'about-10', 'about-100', 'about-10']
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
      await expect.poll(() => question(phone), { timeout: 15_000 }).toBe('How many bytes of head in front of a 16-byte body?')
    for (const phone of phones) await vote(phone, 'up-to-500')
    await expect.poll(() => page.getByTestId('vote-count').allTextContents()).toEqual(['0', '4', '0'])
    await expectRunDecides(page, phones, mine.map(() => 'up-to-500'))
    expect(deck.errors).toEqual([])
    expect(deck.remoteRequests).toEqual([])
    for (const phone of phones) await phone.context().close()
  })
})

/** The clicker starts the demo: the vote closes (a phone's button no longer counts), the run proves an option, the big screen marks it and each phone says right or wrong for `mine[i]`. */
async function expectRunDecides(page: Page, phones: Page[], mine: string[]): Promise<void> {
  await page.keyboard.press('ArrowRight')
  const tally = page.getByTestId('vote-tally')
  await expect.poll(() => tally.getAttribute('data-state'), { timeout: 15_000 }).toBe('revealed')
  const proved = await tally.locator('[data-proved]').getAttribute('data-option')
  expect(proved).toBeTruthy()
  const right = mine.filter(m => m === proved).length
  expect(await page.getByTestId('vote-status').textContent()).toBe(`The room: ${right} of ${phones.length} right`)
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
    await page.evaluate(REGISTER_PREDICTIONS)
    await goToSlide(page, 'Every demo asks you first')
    await expect.poll(() => currentSlide(page).getByTestId('audience-off').textContent(), { timeout: 15_000 }).toMatch(/guess \(a show of hands\), then watch the wire decide/)
    await goToSlide(page, 'The smallest conversation')
    await page.keyboard.press('ArrowRight') // the demo runs as it always does
    await expect.poll(() => currentSlide(page).getByTestId('ping-table').locator('tbody tr').count(), { timeout: 15_000 }).toBe(1)
    expect(await page.getByTestId('join-badge').count()).toBe(0)
    expect(await page.getByTestId('vote-tally').count()).toBe(0)
    expect(asked.filter(a => !a.endsWith('/audience/state'))).toEqual([]) // the join slide's own "is audience mode on?" only
    expect(deck.errors).toEqual([])
  })
})
