import type { AudiencePush, PhoneVoteAnswer, VoteTally } from '../wire/audience.ts'
import type { RunningDemoServer } from './support/demo-server.ts'
import type { AudienceRun } from '../tools/audience-devices.ts'
import { spawn } from 'node:child_process'
import { get } from 'node:http'
import { createInterface } from 'node:readline'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { audienceHub } from '../demos/audience/state.ts'
import { roomVotes } from '../demos/audience/votes.ts'
import { readEventStream } from '../wire/sse.ts'
import { startDemoServer, waitFor } from './support/demo-server.ts'

// The room's votes over real HTTP on loopback: the presenter's routes on the demo server, the
// phones' on the audience listener (bound to 127.0.0.1 here), phones joined as the page joins.
const AUDIENCE = { audience: true, audienceHost: '127.0.0.1', audiencePort: 0, connectBroker: false } as const
const QUESTION = { question: 'How long does one request to this laptop take?', options: [{ id: 'under-1', label: 'under 1 ms' }, { id: 'about-10', label: 'about 10 ms' }, { id: 'about-100', label: 'about 100 ms' }] }
/** GET `url` with a Host header of our choosing (fetch sets its own). */
function statusWithHost(url: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get(url, { headers: { Host: host } }, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    }).on('error', reject)
  })
}
const json = (res: Response) => res.json() as Promise<any>
const JSON_HEADERS = { 'Content-Type': 'application/json' }

describe('the room\'s votes', () => {
  let demos: RunningDemoServer
  let a: string
  const deck = (method: string, path: string, body?: unknown) => fetch(`${demos.url}/audience/votes${path}`, { method, headers: JSON_HEADERS, body: body === undefined ? undefined : JSON.stringify(body) })
  const phone = (path: string, body: unknown, headers: Record<string, string> = {}) => fetch(`${a}${path}`, { method: 'POST', headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify(body) })
  const join = async () => (await json(await phone('/api/join', { token: audienceHub(demos.ctx)!.token }))).device as string
  const vote = (device: string, option: string, question = 'ping') => phone('/api/vote', { device, question, option })
  const tally = async () => await json(await fetch(`${demos.url}/audience/votes`)) as VoteTally | null

  beforeAll(async () => {
    demos = await startDemoServer(AUDIENCE)
    a = demos.audience!.url
  })
  afterAll(() => demos?.close())

  it('counts one vote per phone, changeable until the demo starts; closed refuses with 409; the tally is counts only', async () => {
    const [ada, grace, linus] = [await join(), await join(), await join()]
    expect((await deck('PUT', '/ping', QUESTION)).status).toBe(201)
    expect((await deck('PUT', '/ping', QUESTION)).status).toBe(200) // opened again: nothing changes
    expect((await vote(ada, 'under-1')).status).toBe(200)
    expect((await vote(grace, 'under-1')).status).toBe(200)
    expect((await vote(linus, 'about-100')).status).toBe(200)
    // The same phone again: still one vote; then it changes its mind.
    expect(await json(await vote(ada, 'under-1'))).toMatchObject({ changed: false, seq: 3 })
    expect(await json(await vote(ada, 'about-10'))).toMatchObject({ option: 'about-10', changed: true, seq: 4 })
    expect(await tally()).toEqual({ id: 'ping', question: QUESTION.question, options: QUESTION.options, state: 'open', answer: null, counts: { 'under-1': 1, 'about-10': 1, 'about-100': 1 }, voters: 3, seq: 4 })
    // A phone asks what it voted: the server keeps that, by the phone's server-side id.
    expect(await json(await fetch(`${a}/api/vote?device=${ada}`))).toEqual({ vote: { id: 'ping', question: QUESTION.question, options: QUESTION.options, state: 'open', answer: null }, mine: 'about-10' } satisfies PhoneVoteAnswer)

    expect((await deck('POST', '/ping/close')).status).toBe(200)
    const late = await vote(grace, 'about-100')
    expect(late.status).toBe(409)
    expect((await json(late)).error).toMatch(/closed/)
    const revealed = await json(await deck('POST', '/ping/result', { answer: 'about-10' }))
    expect(revealed).toMatchObject({ state: 'revealed', answer: 'about-10', counts: { 'under-1': 1, 'about-10': 1, 'about-100': 1 }, voters: 3 })
    expect(JSON.stringify(revealed)).not.toMatch(new RegExp([ada, grace, linus].join('|'))) // nothing about who
    expect(await json(await fetch(`${a}/api/vote?device=${grace}`))).toMatchObject({ vote: { state: 'revealed', answer: 'about-10' }, mine: 'under-1' })

    // The slide visited again: a fresh vote on the same question.
    expect((await deck('PUT', '/ping', QUESTION)).status).toBe(201)
    expect(await tally()).toMatchObject({ state: 'open', voters: 0, counts: { 'under-1': 0, 'about-10': 0, 'about-100': 0 } })
    expect((await deck('DELETE', '/ping')).status).toBe(204)
    expect(await tally()).toBeNull()
    expect(await json(await fetch(`${a}/api/vote?device=${ada}`))).toEqual({ vote: null, mine: null })
  })

  it('refuses an unknown question (404), bad input (400 JSON), a foreign page (403) and a foreign Host (421), on both sides', async () => {
    const ada = await join()
    const unknown = await vote(ada, 'under-1', 'nothing-open')
    expect(unknown.status).toBe(404)
    expect((await json(unknown)).error).toMatch(/no question "nothing-open" is open/)
    expect((await deck('POST', '/nothing-open/close')).status).toBe(404)
    expect((await deck('POST', '/nothing-open/result', { answer: 'x' })).status).toBe(404)

    expect((await deck('PUT', '/ping', { question: 'q', options: [{ id: 'one', label: 'one' }] })).status).toBe(400)
    expect((await deck('PUT', '/ping', { question: 'q', options: [{ id: 'A B', label: 'x' }, { id: 'b', label: 'y' }] })).status).toBe(400)
    expect((await deck('PUT', '/ping', { question: 'q', options: [{ id: 'a', label: 'x' }, { id: 'a', label: 'y' }] })).status).toBe(400)
    expect((await deck('PUT', '/Not_an_id', QUESTION)).status).toBe(400)
    expect((await deck('PUT', '/ping', QUESTION)).status).toBe(201)
    const notAnOption = await vote(ada, 'about-1000')
    expect(notAnOption.status).toBe(400)
    expect((await json(notAnOption)).error).toBe('option: one of under-1, about-10, about-100')
    expect((await phone('/api/vote', ['ping'])).status).toBe(400)
    expect((await phone('/api/vote', { device: 'nobody', question: 'ping', option: 'under-1' })).status).toBe(404)
    expect((await deck('POST', '/ping/result', { answer: 'nope' })).status).toBe(400)
    // Another site's page may neither vote nor run the vote; a name pointed at the listener is refused.
    expect((await phone('/api/vote', { device: ada, question: 'ping', option: 'under-1' }, { Origin: 'https://evil.example' })).status).toBe(403)
    expect((await fetch(`${demos.url}/audience/votes/ping/close`, { method: 'POST', headers: { Origin: 'https://evil.example' } })).status).toBe(403)
    expect(await statusWithHost(`${a}/api/vote?device=${ada}`, 'evil.example')).toBe(421)
    expect((await tally())!.voters).toBe(0) // none of those counted
    await deck('DELETE', '/ping')
  })

  it('applies each phone\'s rate limit to voting (429 + Retry-After)', async () => {
    const ada = await join()
    await deck('PUT', '/ping', QUESTION)
    let limited: Response | undefined
    for (let i = 0; i < 40 && !limited; i++) {
      const res = await vote(ada, i % 2 ? 'under-1' : 'about-10')
      if (res.status === 429)
        limited = res
    }
    expect(limited?.headers.get('retry-after')).toBe('1')
    await deck('DELETE', '/ping')
  })

  it('tells every phone over its own transport, a phone joining mid-vote gets the question at once, and the big screen follows the tally', async () => {
    const hub = audienceHub(demos.ctx)!
    // The big screen's stream: every tally, the current one (none) first.
    const screen: Array<VoteTally | null> = []
    const controller = new AbortController()
    const stream = await fetch(`${demos.url}/audience/votes/events`, { signal: controller.signal })
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/)
    void readEventStream(stream.body!, (f) => {
      if (f.dispatch && f.type === 'tally')
        screen.push(JSON.parse(f.data))
    }, controller.signal).catch(() => {})
    await waitFor(() => screen.length === 1, 'the first tally')
    expect(screen[0]).toBeNull()

    // A phone on SSE (the third to join in turn is; round-robin) hears the question open.
    const phones = [await join(), await join(), await join(), await join()]
    const sse = phones.find(d => hub.devices.get(d)!.transport === 'sse')!
    const heard: AudiencePush[] = []
    const events = await fetch(`${a}/api/events?device=${sse}&after=${hub.seq}`, { signal: controller.signal })
    void readEventStream(events.body!, (f) => {
      if (f.dispatch && f.type === 'push')
        heard.push(JSON.parse(f.data))
    }, controller.signal).catch(() => {})
    await waitFor(() => hub.held >= 1, 'the phone\'s event stream')
    await deck('PUT', '/ping', QUESTION)
    await waitFor(() => heard.length === 1, 'the phone to hear the question')
    expect(heard[0]!.vote).toEqual({ id: 'ping', question: QUESTION.question, options: QUESTION.options, state: 'open', answer: null })
    const [first, second] = phones.filter(d => d !== sse)
    await vote(first!, 'under-1')
    await vote(second!, 'about-10')
    await waitFor(() => screen.at(-1)?.voters === 2, 'the big screen to see both votes')
    expect(screen.at(-1)!.counts).toEqual({ 'under-1': 1, 'about-10': 1, 'about-100': 0 })

    // Mid-vote: a new phone asks once and has the question; its vote counts.
    const late = await join()
    expect((await json(await fetch(`${a}/api/vote?device=${late}`))).vote.question).toBe(QUESTION.question)
    await vote(late, 'under-1')
    // A phone that leaves while the vote is open takes its vote back.
    await phone('/api/leave', { device: second })
    await waitFor(() => screen.at(-1)?.voters === 2 && screen.at(-1)?.counts['under-1'] === 2, 'the late vote in, the leaver\'s out')

    await deck('POST', '/ping/close')
    await deck('POST', '/ping/result', { answer: 'under-1' })
    await waitFor(() => heard.length === 3, 'the phone to hear "closed", then the answer')
    expect(heard.map(p => p.vote?.state)).toEqual(['open', 'closed', 'revealed'])
    expect(heard[2]!.vote!.answer).toBe('under-1')
    await waitFor(() => screen.at(-1)?.state === 'revealed', 'the big screen to see the answer')
    await deck('DELETE', '/ping')
    await waitFor(() => heard.length === 4 && screen.at(-1) === null, 'everyone to hear there is no question now')
    expect(heard[3]!.vote).toBeNull()
    // The room's table of pushes still shows news only: a vote's pushes are not "latest".
    expect((await json(await fetch(`${demos.url}/audience/state`))).latest).toBeNull()
    controller.abort()
    await waitFor(() => roomVotes(hub).following === 0, 'the big screen\'s stream to be released')
  })

  it('releases an open question whose big screen went away without a DELETE (the presenter\'s tab closed); a reload within the grace keeps its votes', async () => {
    const votes = roomVotes(audienceHub(demos.ctx)!)
    votes.orphanMs = 300
    const follow = async () => {
      const controller = new AbortController()
      const stream = await fetch(`${demos.url}/audience/votes/events`, { signal: controller.signal })
      void readEventStream(stream.body!, () => {}, controller.signal).catch(() => {})
      await waitFor(() => votes.following === 1, 'the big screen to follow')
      return controller
    }
    try {
      const ada = await join()
      await deck('PUT', '/ping', QUESTION)
      let screen = await follow()
      await vote(ada, 'about-10')
      // A reload: the stream goes, a new one comes back before the grace ends, and the vote is still there.
      screen.abort()
      await waitFor(() => votes.following === 0, 'the stream to be released')
      screen = await follow()
      await new Promise(resolve => setTimeout(resolve, 600))
      expect(await tally()).toMatchObject({ id: 'ping', state: 'open', voters: 1 })
      // The tab closed: no DELETE comes, and the phones stop seeing a question nobody will close.
      screen.abort()
      await waitFor(async () => (await tally()) === null, 'the orphaned question to be released')
      expect(await json(await fetch(`${a}/api/vote?device=${ada}`))).toEqual({ vote: null, mine: null })
    }
    finally {
      votes.orphanMs = 15_000
    }
  })

  it('200 phones, 50 per transport, vote as they hear the question (some change their mind, some tap twice): the tally is exactly what they voted', async () => {
    const hub = audienceHub(demos.ctx)!
    const plan = { question: 'race', options: ['short-poll', 'long-poll', 'sse', 'websocket'], spreadMs: 300 }
    const child = spawn(process.execPath, ['--import', 'tsx', 'tools/audience-devices.ts', JSON.stringify({ url: a, token: hub.token, devices: 200, pushes: 1, timeoutMs: 60_000, vote: plan })], { stdio: ['ignore', 'pipe', 'inherit'] })
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
    const next = async (prefix: string) => {
      for (let r = await lines.next(); !r.done; r = await lines.next()) {
        if (r.value.startsWith(prefix))
          return r.value
      }
      throw new Error('the simulated phones exited early')
    }
    await next('ready ')
    await deck('PUT', '/race', { question: 'Which transport hears first?', options: plan.options.map(id => ({ id, label: id })) })
    const run = JSON.parse(await next('{')) as AudienceRun
    // The phones leave after their result: close first, so their votes stay counted.
    const closed = await json(await deck('POST', '/race/close')) as VoteTally
    expect(run.votes).toMatchObject({ voters: 200, sent: 230, refused: {}, unasked: 0 })
    expect(closed.counts).toEqual(run.votes!.expected)
    expect(closed.voters).toBe(200)
    await new Promise(resolve => child.once('exit', resolve))
    expect((await tally())!.counts).toEqual(run.votes!.expected) // closed: leaving takes nothing back
    await deck('DELETE', '/race')
  }, 60_000)

  it('answers 409 on every vote route while audience mode is off', async () => {
    const off = await startDemoServer({ connectBroker: false })
    try {
      expect((await fetch(`${off.url}/audience/votes/ping`, { method: 'PUT', headers: JSON_HEADERS, body: JSON.stringify(QUESTION) })).status).toBe(409)
      expect((await fetch(`${off.url}/audience/votes`)).status).toBe(409)
    }
    finally {
      await off.close()
    }
  })
})
