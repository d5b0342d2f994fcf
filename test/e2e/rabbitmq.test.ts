import type { Locator } from 'playwright-core'
import type { Recording } from '../../composables/replay.ts'
import { readFileSync } from 'node:fs'
import { applyChanges } from '../../composables/replay.ts'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { startBroker, stopBroker } from '../../tools/broker.ts'
import { BROKER_START_COMMAND } from '../../wire/health.ts'
import { currentSlide, goToSlide } from '../support/deck.ts'
import { waitFor } from '../support/demo-server.ts'
import { screenshots, useDeckSession } from '../support/e2e.ts'

const shot = screenshots('rabbitmq')

const counts = (slide: Locator) => slide.getByTestId('sub-count').allTextContents()

describe('RabbitMQ slides with a live broker', () => {
  const w = useDeckSession({
    ready: async (demos) => {
      await waitFor(() => demos.ctx.broker.state === 'up', 'the broker connection')
      await fetch(`${demos.url}/work-queue/jobs`, { method: 'DELETE' })
    },
  })

  it('pushes a published message through the broker to the browser and shows each hop', async () => {
    await goToSlide(w.page, 'Push: broker to browser')
    const slide = currentSlide(w.page)
    await expect.poll(() => slide.getByTestId('push-queue').textContent(), { timeout: 10_000 }).toMatch(/^amq\.gen-/)
    await slide.getByTestId('push-publish').click()
    await slide.getByTestId('push-publish').click()
    await expect.poll(() => slide.getByTestId('push-row').count()).toBe(2)
    expect(await slide.getByTestId('push-row').first().textContent()).toMatch(/video is out #2.*ms/)
    await shot(w.page, 'push')
  })

  it('fans a message out to every subscriber panel, with subscribers added and removed live', async () => {
    await goToSlide(w.page, 'Fanout, and a late subscriber')
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
    await waitFor(async () => (await (await fetch(`${w.demos.url}/pubsub/subscribers`)).json()).length === 3, 'the removed subscriber to be gone on the server')
    await shot(w.page, 'fanout')
  })

  it('never holds more streams than the browser\'s six connections per origin allow: publish and health checks still get through', async () => {
    await goToSlide(w.page, 'Fanout, and a late subscriber')
    const slide = currentSlide(w.page)
    await expect.poll(() => slide.locator('[data-testid=sub-panel]:has-text("amq.gen-")').count(), { timeout: 10_000 }).toBeGreaterThanOrEqual(3)
    for (let i = 0; i < 3; i++) {
      if (await slide.getByTestId('pubsub-add').isEnabled())
        await slide.getByTestId('pubsub-add').click()
    }
    await expect.poll(() => slide.locator('[data-testid=sub-panel]:has-text("amq.gen-")').count()).toBe(4)
    expect(await slide.getByTestId('pubsub-add').isDisabled()).toBe(true)
    let healthChecks = 0
    const onResponse = (r: { url: () => string, status: () => number }) => {
      if (r.url().endsWith('/health') && r.status() === 200)
        healthChecks++
    }
    w.page.on('response', onResponse)
    const before = (await counts(slide)).map(Number)
    await slide.getByTestId('pubsub-publish').click()
    await expect.poll(async () => (await counts(slide)).map(Number)).toEqual(before.map(n => n + 1))
    // Three more health checks got through, the frame says nothing is wrong, and every control is there.
    await expect.poll(() => healthChecks, { timeout: 20_000 }).toBeGreaterThanOrEqual(3)
    w.page.off('response', onResponse)
    expect(await slide.getByTestId('demo-offline').count()).toBe(0)
    expect(await slide.getByTestId('pubsub-remove').count()).toBe(4)
  })

  it('Chromium\'s EventSource, cut off mid-stream, comes back with Last-Event-ID and misses nothing published meanwhile', async () => {
    const path = '/pubsub/subscribe?bindingKey=resume.%23'
    const errorsBefore = w.errors.length
    await w.page.evaluate((url) => {
      const win = window as any
      win.__messages = []
      win.__subscribed = []
      const source = new EventSource(url)
      win.__resumeSource = source
      source.addEventListener('subscribed', e => win.__subscribed.push(JSON.parse((e as MessageEvent).data)))
      source.addEventListener('message', e => win.__messages.push(JSON.parse((e as MessageEvent).data).message))
    }, `${w.demos.url}${path}`)
    const messages = () => w.page.evaluate(() => (window as any).__messages as string[])
    const subscribed = () => w.page.evaluate(() => (window as any).__subscribed as Array<{ queue: string, resumed?: boolean }>)
    const send = async (message: string) => expect((await fetch(`${w.demos.url}/pubsub/publish`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ message, routingKey: 'resume.x' }) })).status).toBe(202)
    try {
      await expect.poll(async () => (await subscribed()).length).toBe(1)
      await send('one')
      await expect.poll(messages).toEqual(['one'])
      // The connection drops (a proxy timeout, a blip): the server parks the queue, the browser retries.
      for (const res of w.demos.ctx.eventStreams) {
        if (res.req.url?.includes('resume'))
          res.destroy()
      }
      await waitFor(async () => (await (await fetch(`${w.demos.url}/pubsub/subscribers`)).json()).every((s: { bindingKey: string }) => s.bindingKey !== 'resume.#'), 'the server to see the subscriber leave')
      await send('two')
      await send('three')
      await expect.poll(messages, { timeout: 20_000 }).toEqual(['one', 'two', 'three'])
      const [first, again] = await subscribed()
      expect(again).toMatchObject({ queue: first!.queue, resumed: true })
    }
    finally {
      await w.page.evaluate(() => (window as any).__resumeSource?.close())
    }
    // The one console error this test causes on purpose: Chromium reports the cut stream.
    const cut = w.errors.splice(errorsBefore)
    expect(cut.filter(e => !e.includes('net::ERR_INCOMPLETE_CHUNKED_ENCODING'))).toEqual([])
  })

  it('runs the fanout demo from the clicker: one publish reaches all three, a late joiner gets only what follows', async () => {
    await goToSlide(w.page, 'Listeners the publisher never meets') // entering the demo slide afresh: three subscribers
    await goToSlide(w.page, 'Fanout, and a late subscriber')
    const slide = currentSlide(w.page)
    await expect.poll(() => slide.locator('[data-testid=sub-panel]:has-text("amq.gen-")').count(), { timeout: 10_000 }).toBe(3)
    expect(await slide.getByTestId('demo-predict').textContent()).toContain('A fourth subscriber joins after the first publish')
    await w.page.keyboard.press('ArrowRight')
    await expect.poll(() => counts(slide)).toEqual(['1', '1', '1'])
    expect(await slide.getByTestId('prediction-reveal').count(), 'no answer before the late joiner has a message').toBe(0)
    await w.page.keyboard.press('ArrowRight')
    await expect.poll(() => counts(slide), { timeout: 10_000 }).toEqual(['2', '2', '2', '1'])
    expect(await slide.getByTestId('sub-panel').last().textContent()).toContain('late joiner')
    await expect.poll(() => slide.getByTestId('prediction-reveal').getAttribute('data-answer')).toBe('new-only')
  })

  it('routes by topic: only the panels whose binding key matches receive it', async () => {
    await goToSlide(w.page, 'Topics: subscribe to a pattern')
    const slide = currentSlide(w.page)
    await expect.poll(() => slide.locator('[data-testid=sub-panel]:has-text("amq.gen-")').count(), { timeout: 10_000 }).toBe(3)
    await slide.getByTestId('pubsub-routing-key').selectOption('video.uploaded')
    await slide.getByTestId('pubsub-publish').click()
    await expect.poll(() => counts(slide)).toEqual(['1', '1', '0']) // video.*, #.uploaded, audio.#
    await slide.getByTestId('pubsub-routing-key').selectOption('audio.uploaded')
    await slide.getByTestId('pubsub-publish').click()
    await expect.poll(() => counts(slide)).toEqual(['1', '2', '1'])
    await shot(w.page, 'topic')
  })

  it('shows the broker redelivering the job of a worker killed mid-job', async () => {
    await goToSlide(w.page, 'Work queue: kill a worker mid-job')
    const slide = currentSlide(w.page)
    await expect.poll(() => slide.getByTestId('wq-worker').count(), { timeout: 10_000 }).toBe(2)
    await slide.getByTestId('wq-jobs').click()
    const busy = slide.locator('[data-testid=wq-worker]:has-text("busy")')
    await expect.poll(() => busy.count(), { timeout: 5000 }).toBe(2)
    // The jobs not handed out yet are drawn in the queue, one box each, as many as the count says.
    await expect.poll(async () => (await slide.getByTestId('wq-stats').textContent())!.includes(`waiting ${await slide.getByTestId('wq-waiting').count()} `)).toBe(true)
    const cards = slide.locator('[data-testid=wq-worker], [data-testid=wq-killed]')
    const victim = (await busy.first().locator('b').first().textContent())!.trim() // "worker N"
    const place = (await cards.allTextContents()).findIndex(t => new RegExp(`^\\s*${victim}\\D`).test(t))
    await busy.first().getByTestId('wq-kill').click()
    await slide.getByTestId('wq-redelivered').first().waitFor({ timeout: 5000 })
    await expect.poll(() => slide.getByTestId('wq-stats').textContent()).toMatch(/redelivered [1-9]/)
    expect(await slide.getByTestId('wq-feed').textContent()).toMatch(/killed holding job-\d+/)
    expect(await slide.getByTestId('wq-killed').count()).toBe(1)
    // The killed worker's card stays in its place, marked, with the job it never acked.
    expect(place).toBeGreaterThanOrEqual(0)
    expect(await cards.nth(place).getAttribute('data-testid')).toBe('wq-killed')
    expect(await cards.nth(place).textContent()).toMatch(new RegExp(`^\\s*${victim} ✕ killed\\s*job-\\d+: no ack`))
    await shot(w.page, 'work-queue')
  })

  it('runs the work queue demo from the clicker: six jobs, then a busy worker killed and its job redelivered', async () => {
    const demos = w.demos
    await fetch(`${demos.url}/work-queue/jobs`, { method: 'DELETE' })
    await goToSlide(w.page, 'Competing consumers') // entering the demo slide afresh: two workers again
    await goToSlide(w.page, 'Work queue: kill a worker mid-job')
    const slide = currentSlide(w.page)
    await expect.poll(() => slide.getByTestId('wq-worker').count(), { timeout: 10_000 }).toBeGreaterThanOrEqual(2)
    await w.page.keyboard.press('ArrowRight')
    await expect.poll(() => slide.locator('[data-testid=wq-worker]:has-text("busy")').count(), { timeout: 5000 }).toBeGreaterThanOrEqual(1)
    await w.page.keyboard.press('ArrowRight')
    await slide.getByTestId('wq-redelivered').first().waitFor({ timeout: 5000 })
    expect(await slide.getByTestId('wq-killed').count()).toBe(1)
  })

  it('a second click that comes after every job is done still kills a worker holding one (two more are queued first)', async () => {
    const demos = w.demos
    await fetch(`${demos.url}/work-queue/jobs`, { method: 'DELETE' })
    await goToSlide(w.page, 'Competing consumers')
    await goToSlide(w.page, 'Work queue: kill a worker mid-job')
    const slide = currentSlide(w.page)
    await expect.poll(() => slide.getByTestId('wq-worker').count(), { timeout: 10_000 }).toBeGreaterThanOrEqual(2)
    await w.page.keyboard.press('ArrowRight')
    // The presenter talks until every job is done: nothing is held any more.
    await expect.poll(async () => {
      const stats = await (await fetch(`${demos.url}/work-queue/stats`)).json()
      return stats.acked >= 6 && stats.queue.ready === 0
    }, { timeout: 20_000 }).toBe(true)
    await expect.poll(() => slide.locator('[data-testid=wq-worker]:has-text("busy")').count()).toBe(0)
    await w.page.keyboard.press('ArrowRight')
    await slide.getByTestId('wq-redelivered').first().waitFor({ timeout: 10_000 })
    expect(await slide.getByTestId('wq-killed').count()).toBe(1)
    await expect.poll(() => slide.getByTestId('wq-stats').textContent(), { timeout: 10_000 }).toMatch(/published 8 .*redelivered 1/)
  })

  it('draws the broker from the broker: exchanges, bindings, queue counts', async () => {
    await goToSlide(w.page, 'The broker, drawn from what it reports')
    const slide = currentSlide(w.page)
    await slide.getByTestId('broker-view').waitFor({ timeout: 10_000 })
    await expect.poll(() => slide.getByTestId('broker-view').textContent()).toContain('wire.jobs')
    expect(await slide.getByTestId('broker-exchange').count()).toBe(4)
    // a subscriber opened here shows up as a queue bound to wire.topic, with its consumer
    await slide.getByTestId('broker-subscribe').click()
    await expect.poll(() => slide.getByTestId('broker-view').textContent(), { timeout: 5000 }).toMatch(/video\.\* → amq\.gen-.*consumers 1/)
    await shot(w.page, 'broker-view')
    expect(w.remoteRequests).toEqual([])
    expect(w.errors).toEqual([])
  })
})

describe('RabbitMQ slides with no broker', () => {
  const w = useDeckSession({
    demos: { amqpUrl: 'amqp://127.0.0.1:1' },
    ready: demos => waitFor(() => demos.ctx.broker.state === 'down', 'the broker to be reported down'),
  })

  it('says clearly that RabbitMQ is not reachable on every RabbitMQ demo, with no console errors', async () => {
    const titles = ['Push: broker to browser', 'Fanout, and a late subscriber', 'Topics: subscribe to a pattern', 'Work queue: kill a worker mid-job', 'The broker, drawn from what it reports']
    for (const [i, title] of titles.entries()) {
      await goToSlide(w.page, title)
      const slide = currentSlide(w.page)
      await slide.getByTestId('demo-broker-down').waitFor({ timeout: 10_000 })
      const message = await slide.getByTestId('demo-broker-down').textContent()
      expect(message).toContain('RabbitMQ is not reachable')
      // One command, the one `npm start` prints, and the recorded run offered, as for a missing demo server.
      expect(message).toContain(BROKER_START_COMMAND)
      expect(message).not.toContain('docker compose')
      expect(await slide.getByTestId('demo-replay').textContent()).toContain('Replay a recorded run')
      if (i === 0 || i === 3)
        await shot(w.page, `no-broker-${i}`)
    }
    // the rest of the deck keeps working
    await goToSlide(w.page, 'The smallest conversation')
    await currentSlide(w.page).getByTestId('ping-button').click()
    await expect.poll(() => currentSlide(w.page).getByTestId('ping-table').locator('tbody tr').count()).toBe(1)
    expect(w.remoteRequests).toEqual([])
    expect(w.errors).toEqual([])
  })
})

describe('the broker stops mid-talk', () => {
  const broker = inject('broker')
  const w = useDeckSession({ ready: demos => waitFor(() => demos.ctx.broker.state === 'up', 'the broker connection') })
  afterAll(async () => {
    if (broker.kind !== 'env')
      await startBroker(broker).catch(() => {}) // never leave the shared broker down
  })

  it('the fanout slide says so once, with the command; the clicker replays the recording and fires no request; Go live once it is back', async () => {
    await goToSlide(w.page, 'Listeners the publisher never meets') // entering the demo slide afresh: three subscribers
    await goToSlide(w.page, 'Fanout, and a late subscriber')
    const slide = currentSlide(w.page)
    const bound = slide.locator('[data-testid=sub-panel]:has-text("amq.gen-")')
    await expect.poll(() => bound.count(), { timeout: 10_000 }).toBe(3)

    await stopBroker(broker)
    await slide.getByTestId('demo-broker-down').waitFor({ timeout: 15_000 })
    // One message with one command: no second banner, no red error line.
    const message = await slide.getByTestId('demo-broker-down').textContent()
    expect(message).toContain('RabbitMQ is not reachable')
    expect(message).toContain(BROKER_START_COMMAND)
    expect(message).not.toContain('docker compose')
    expect(await slide.getByTestId('demo-offline').count()).toBe(0)
    expect((await slide.textContent())!.match(/not reachable/g)).toHaveLength(1)
    expect(await slide.getByTestId('demo-replay').isVisible()).toBe(true)
    await shot(w.page, 'broker-stopped')

    // The clicker: the first click replays the recorded run; nothing is asked of the broker routes.
    const asked: string[] = []
    const onRequest = (r: { url: () => string }) => {
      if (/\/(pubsub|work-queue|broker)\//.test(r.url()))
        asked.push(r.url())
    }
    const failed: string[] = []
    const onResponse = (r: { url: () => string, status: () => number }) => {
      if (r.status() >= 500)
        failed.push(`${r.status()} ${r.url()}`)
    }
    w.page.on('request', onRequest)
    w.page.on('response', onResponse)
    await w.page.keyboard.press('ArrowRight')
    await expect.poll(() => slide.getByTestId('demo-recorded').textContent()).toMatch(/recorded \d{4}-\d\d-\d\d, not live/)
    const recorded = JSON.parse(readFileSync(new URL('../../recordings/pubsub-fanout.json', import.meta.url), 'utf8')) as Recording
    const countsOf = (panels: unknown) => (panels as Array<{ count: number }>).map(p => String(p.count))
    // One clicker step at a time, as it was run: the first publish, then it waits (with the counts of
    // that moment) for the next click, which plays the late joiner and the second publish.
    const atStep2 = {}
    for (const step of recorded.states.filter(s => s.t <= recorded.steps![1]!.t)) applyChanges(atStep2, step.set)
    const frame = slide.getByTestId('demo-frame')
    await expect.poll(() => frame.getAttribute('data-replay'), { timeout: 30_000 }).toBe('paused')
    expect(await counts(slide)).toEqual(countsOf((atStep2 as Recording['final']).panels))
    await w.page.keyboard.press('ArrowRight')
    await expect.poll(() => frame.getAttribute('data-replay'), { timeout: 30_000 }).toBe('played')
    expect(await counts(slide)).toEqual(countsOf(recorded.final.panels))
    expect(await slide.getByTestId('demo-broker-down').count()).toBe(0) // the recording, labelled as such, instead of the message
    await shot(w.page, 'broker-stopped-replayed')
    await w.page.waitForTimeout(500)
    w.page.off('request', onRequest)
    w.page.off('response', onResponse)
    expect(asked).toEqual([])
    expect(failed).toEqual([])
    expect(await slide.getByTestId('demo-go-live').count()).toBe(0) // not while the broker is down

    // The broker is back: "Go live" returns, and the live demo runs again.
    await startBroker(broker)
    await waitFor(() => w.demos.ctx.broker.state === 'up', 'the demo server to reconnect', 30_000)
    await expect.poll(() => slide.getByTestId('demo-go-live').isVisible(), { timeout: 15_000 }).toBe(true)
    await slide.getByTestId('demo-go-live').click()
    await expect.poll(() => slide.getByTestId('demo-recorded').count()).toBe(0)
    await expect.poll(() => bound.count(), { timeout: 10_000 }).toBe(3)
    await slide.getByTestId('pubsub-publish').click()
    await expect.poll(() => counts(slide)).toEqual(['1', '1', '1'])
    await shot(w.page, 'broker-back-live')
    expect(w.errors).toEqual([])
  }, 180_000)
})
