// Audience mode benchmark: one push to 1,000 simulated phones (250 per transport) on loopback,
// delivery delay p50/p99 per transport next to the one-way loopback floor measured in the same
// run, and the demo server's RSS per phone. The phones run in a process of their own
// (tools/audience-devices.ts); the audience listener is bound to 127.0.0.1.
import type { AudienceRun } from '../tools/audience-devices.ts'
import type { BenchSection } from './lib.ts'
import { DEMO_NODE_ARGS } from '../demos/platform/config.ts'
import { f2, oneWayFloor, percentile, ratio, rssKb, spawnUntilReady, stopChild } from './lib.ts'

const DEVICES = 1000
const PUSHES = 10
const sleep = (ms: number) => new Promise(r => setTimeout(r, ms))

export default async function audienceBench(): Promise<BenchSection[]> {
  const floor = await oneWayFloor()
  const floorP50 = percentile(floor, 0.5)
  const floorP99 = percentile(floor, 0.99)
  const { child: server, match, lines } = await spawnUntilReady([...DEMO_NODE_ARGS], /listening on (http:\/\/[\d.]+:\d+)/, {
    DEMO_PORT: '0',
    AMQP_URL: 'amqp://127.0.0.1:1',
    AUDIENCE: '1',
    AUDIENCE_HOST: '127.0.0.1',
    AUDIENCE_PORT: '0',
    AUDIENCE_MAX_DEVICES: String(DEVICES),
  })
  let phones: Awaited<ReturnType<typeof spawnUntilReady>>['child'] | undefined
  try {
    const demoUrl = match[1]!
    let joinUrl = ''
    for (let r = await lines.next(); !r.done && !joinUrl; r = await lines.next()) joinUrl = /phones join at (\S+)/.exec(r.value)?.[1] ?? ''
    server.stdout!.resume()
    const { origin } = new URL(joinUrl)
    const token = new URL(joinUrl).searchParams.get('t')!
    await sleep(500)
    const before = await rssKb(server.pid!)
    const sim = await spawnUntilReady(['tools/audience-devices.ts', JSON.stringify({ url: origin, token, devices: DEVICES, pushes: PUSHES, timeoutMs: 120_000 })], /^ready (\d+)/, {}, 120_000)
    phones = sim.child
    await sleep(1500) // every short poller has asked at least once
    const held = await rssKb(server.pid!)
    for (let i = 1; i <= PUSHES; i++) {
      await fetch(`${demoUrl}/audience/push`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ text: `push ${i}` }) })
      await sleep(1100) // longer than a short poller's interval: one push per poll at most
    }
    let run: AudienceRun | undefined
    for (let r = await sim.lines.next(); !r.done && !run; r = await sim.lines.next()) {
      if (r.value.startsWith('{'))
        run = JSON.parse(r.value) as AudienceRun
    }
    if (!run)
      throw new Error('the simulated phones gave no result')
    const rows: Array<Array<string | number>> = [['loopback one-way (the floor)', '–', f2(floorP50), f2(floorP99), '1.00×']]
    for (const [t, d] of Object.entries(run.delays))
      rows.push([t, `${run.received[t as keyof typeof run.received]!.join('–')} / ${PUSHES}`, f2(percentile(d, 0.5)), f2(percentile(d, 0.99)), ratio(percentile(d, 0.99), floorP99)])
    const perDevice = ((held - before) / DEVICES)
    return [{
      title: `Audience mode: ${PUSHES} pushes to ${DEVICES} simulated phones (${DEVICES / 4} per transport), loopback`,
      columns: ['transport', 'pushes heard per phone', 'delay p50 (ms)', 'delay p99 (ms)', 'p99 / floor p99'],
      rows,
      notes: [
        `Demo server RSS: ${(before / 1024).toFixed(0)} MB before the phones, ${(held / 1024).toFixed(0)} MB with ${DEVICES} joined: ${perDevice.toFixed(1)} KB per phone.`,
        `Missing pushes: ${run.missing} phones; duplicates: ${run.duplicates}. Short polling's delay is up to its 1 s interval by design.`,
        'Phones and server share one machine (and its clock): the delays include the simulator\'s own event loop, 1,000 clients in one process.',
      ],
      data: { floorMs: { p50: floorP50, p99: floorP99 }, run, rssKb: { before, held, perDevice } },
      failed: run.missing ? [`${run.missing} phones missed a push`] : undefined,
    }]
  }
  finally {
    if (phones)
      await stopChild(phones)
    await stopChild(server)
  }
}
