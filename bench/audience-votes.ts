// The room votes: 1,000 simulated phones (250 per transport, in a process of their own:
// tools/audience-devices.ts with a vote plan) hear a question open and vote within 2 s, some
// changing their mind, some tapping twice. The big screen's tally (GET /audience/votes/events,
// followed from this process) must end exactly at what the phones voted, and each vote's delay
// from the phone's POST to the tally event that first counts it is reported beside the one-way
// loopback floor measured in the same run (bench/lib.ts `oneWayFloor`).
import type { AudienceRun } from '../tools/audience-devices.ts'
import type { VotePlan } from '../tools/audience-voters.ts'
import type { VoteTally } from '../wire/audience.ts'
import type { BenchSection } from './lib.ts'
import { epochMs } from '../wire/clock.ts'
import { readEventStream } from '../wire/sse.ts'
import { audienceServer, f2, oneWayFloor, percentile, ratio, RowFailed, spawnUntilReady, stopChild } from './lib.ts'

const DEVICES = 1000
/** Each phone votes a random 0..SPREAD_MS after it heard the question (a short poller hears it up to 1 s late): all within 2 s. */
const SPREAD_MS = 800
const QUESTION = { question: 'Bench: which option?', options: ['a', 'b', 'c', 'd'].map(id => ({ id, label: `option ${id}` })) }
const PLAN: VotePlan = { question: 'bench-vote', options: QUESTION.options.map(o => o.id), spreadMs: SPREAD_MS, changeEvery: 10, repeatEvery: 20 }
const sleep = (ms: number) => new Promise(r => setTimeout(r, ms))

/** The big screen: every tally event from `demoUrl`, with when it arrived here (epoch ms). */
async function followTally(demoUrl: string, signal: AbortSignal): Promise<Array<{ at: number, tally: VoteTally | null }>> {
  const seen: Array<{ at: number, tally: VoteTally | null }> = []
  const res = await fetch(`${demoUrl}/audience/votes/events`, { signal })
  if (!res.ok)
    throw new RowFailed(`GET /audience/votes/events answered ${res.status}`)
  void readEventStream(res.body!, (f) => {
    if (f.dispatch && f.type === 'tally')
      seen.push({ at: epochMs(), tally: JSON.parse(f.data) as VoteTally | null })
  }, signal).catch(() => {})
  return seen
}

/** For each vote that changed the tally: when the first tally event that counted it (its `seq` or later) arrived here, epoch ms (NaN: none did). */
function onScreenAt(receipts: Array<{ seq: number }>, seen: Array<{ at: number, tally: VoteTally | null }>): number[] {
  const tallies = seen.filter(s => s.tally?.id === PLAN.question)
  return receipts.map(r => tallies.find(s => s.tally!.seq >= r.seq)?.at ?? Number.NaN)
}

export default async function audienceVotesBench(): Promise<BenchSection[]> {
  const floor = await oneWayFloor()
  const { server, demoUrl, joinUrl: join } = await audienceServer(DEVICES)
  const controller = new AbortController()
  let phones: Awaited<ReturnType<typeof spawnUntilReady>>['child'] | undefined
  try {
    const sim = await spawnUntilReady(['tools/audience-devices.ts', JSON.stringify({ url: join.origin, token: join.searchParams.get('t'), devices: DEVICES, pushes: 1, timeoutMs: 60_000, vote: PLAN })], /^ready (\d+)/, {}, 120_000)
    phones = sim.child
    await sleep(1500) // every short poller has asked at least once
    const seen = await followTally(demoUrl, controller.signal)
    const openedAt = epochMs()
    const opened = await fetch(`${demoUrl}/audience/votes/${PLAN.question}`, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(QUESTION) })
    if (opened.status !== 201)
      throw new RowFailed(`PUT /audience/votes/${PLAN.question} answered ${opened.status}`)
    let run: AudienceRun | undefined
    for (let r = await sim.lines.next(); !r.done && !run; r = await sim.lines.next()) {
      if (r.value.startsWith('{'))
        run = JSON.parse(r.value) as AudienceRun
    }
    if (!run?.votes)
      throw new RowFailed('the simulated phones gave no result')
    return [report(run, seen, openedAt, floor)]
  }
  finally {
    controller.abort()
    if (phones)
      await stopChild(phones)
    await stopChild(server)
  }
}

/** The section's table: the floor, the vote → big screen delay, the question → phone delay per transport, and whether the tally is exact. */
function report(run: AudienceRun, seen: Array<{ at: number, tally: VoteTally | null }>, openedAt: number, floor: number[]): BenchSection {
  const votes = run.votes!
  // The tally once the last vote was in (after it, the phones leave, and take their votes back while the question is open).
  const lastSeq = Math.max(0, ...votes.receipts.map(r => r.seq))
  const final = seen.find(s => s.tally?.id === PLAN.question && s.tally.seq >= lastSeq)
  const shown = onScreenAt(votes.receipts, seen)
  const lost = shown.filter(d => Number.isNaN(d)).length
  const on = votes.receipts.map((r, i) => ({ ...r, shownAt: shown[i]! })).filter(r => !Number.isNaN(r.shownAt))
  const counted = on.map(r => r.shownAt - r.sentAt)
  const toServer = on.map(r => r.countedAt - r.sentAt)
  const toScreen = on.map(r => r.shownAt - r.countedAt)
  const exact = JSON.stringify(final?.tally?.counts) === JSON.stringify(votes.expected) && final?.tally?.voters === votes.voters
  const allInMs = final ? final.at - openedAt : Number.NaN
  const floorP99 = percentile(floor, 0.99)
  const rows: Array<Array<string | number>> = [
    ['loopback one-way (the floor)', floor.length, f2(percentile(floor, 0.5)), f2(floorP99), '1.00×'],
    ['vote → big screen (POST /api/vote → tally event)', counted.length, f2(percentile(counted, 0.5)), f2(percentile(counted, 0.99)), ratio(percentile(counted, 0.99), floorP99)],
    ['  of which phone → counted (the POST)', toServer.length, f2(percentile(toServer, 0.5)), f2(percentile(toServer, 0.99)), ratio(percentile(toServer, 0.99), floorP99)],
    ['  of which counted → big screen (the tally event)', toScreen.length, f2(percentile(toScreen, 0.5)), f2(percentile(toScreen, 0.99)), ratio(percentile(toScreen, 0.99), floorP99)],
  ]
  for (const [t, d] of Object.entries(run.delays))
    rows.push([`question → phone, ${t}`, d.length, f2(percentile(d, 0.5)), f2(percentile(d, 0.99)), ratio(percentile(d, 0.99), floorP99)])
  const failed = [
    ...(exact ? [] : [`the tally ${JSON.stringify(final?.tally?.counts)} (${final?.tally?.voters} voters) is not what the phones voted: ${JSON.stringify(votes.expected)} (${votes.voters})`]),
    ...(votes.unasked ? [`${votes.unasked} phones never heard the question`] : []),
    ...(Object.keys(votes.refused).length ? [`votes refused: ${JSON.stringify(votes.refused)}`] : []),
    ...(lost ? [`${lost} votes never reached the big screen`] : []),
  ]
  return {
    title: `Audience votes: ${DEVICES} simulated phones (${DEVICES / 4} per transport) vote on one question, loopback`,
    columns: ['path', 'samples', 'p50 (ms)', 'p99 (ms)', 'p99 / floor p99'],
    rows,
    notes: [
      `Tally ${exact ? 'exact' : 'WRONG'}: ${votes.voters} phones voted (${votes.sent} POSTs: every ${PLAN.changeEvery}th phone changed its mind, every ${PLAN.repeatEvery}th tapped twice); the big screen's last tally ${JSON.stringify(final?.tally?.counts)}, ${final?.tally?.voters} voters.`,
      `Every vote was on the big screen ${Number.isNaN(allInMs) ? '(never)' : `${(allInMs / 1000).toFixed(2)} s`} after the question opened (goal: within 2 s; each phone votes 0-${SPREAD_MS} ms after it heard it, a short poller hears it up to 1 s late).`,
      'A vote\'s delay is a phone\'s POST, its handling, and the tally event to the big screen: one request and one push, so about twice the floor at the least; the two rows under it split it at the moment the server counted the vote. Votes of one event-loop turn go out as one tally.',
      'Phones and server share one machine (and its clock); the 1,000 phones run in one process of their own.',
    ],
    data: { floorMs: { p50: percentile(floor, 0.5), p99: floorP99 }, voteToScreenMs: { p50: percentile(counted, 0.5), p99: percentile(counted, 0.99), n: counted.length }, postMs: { p50: percentile(toServer, 0.5), p99: percentile(toServer, 0.99) }, tallyEventMs: { p50: percentile(toScreen, 0.5), p99: percentile(toScreen, 0.99) }, allInMs, expected: votes.expected, final: final?.tally, refused: votes.refused, questionToPhoneMs: run.delays },
    failed: failed.length ? failed : undefined,
  }
}
