// Audience mode benchmark: pushes to 1,000 simulated phones (250 per transport) on loopback,
// delivery delay p50/p99 per transport next to two floors measured in the same run (one socket's
// one-way delay, and one pre-built write to 750 raw sockets held by the same phone processes),
// and the demo server's RSS per phone. The phones run in processes of their own
// (tools/audience-devices.ts, PROCESSES of them); the audience listener is bound to 127.0.0.1.
import type { ChildProcess } from 'node:child_process'
import type { AudienceRun } from '../tools/audience-devices.ts'
import type { BenchSection } from './lib.ts'
import { TRANSPORTS } from '../wire/audience.ts'
import { audienceServer, f2, oneWayFloor, percentile, ratio, rssKb, spawnUntilReady, stopChild } from './lib.ts'

const DEVICES = 1000
/** Phones that hold a connection a push is written to (long poll, SSE, WebSocket): the fan-out floor holds as many raw sockets. */
const HELD = DEVICES * 3 / 4
const PUSHES = 10
/** Processes the simulated phones run in (env BENCH_AUDIENCE_PROCESSES; default 4, 250 phones each). */
const PROCESSES = Number(process.env.BENCH_AUDIENCE_PROCESSES) || 4
/** Goals of issue 23, p99 in ms. */
const GOALS: Partial<Record<string, number>> = { 'sse': 50, 'websocket': 50, 'long-poll': 100 }
const sleep = (ms: number) => new Promise(r => setTimeout(r, ms))

/** Reads lines until one parses as the phones' JSON result. */
async function resultOf(lines: AsyncIterator<string>): Promise<AudienceRun> {
  for (let r = await lines.next(); !r.done; r = await lines.next()) {
    if (r.value.startsWith('{'))
      return JSON.parse(r.value) as AudienceRun
  }
  throw new Error('the simulated phones gave no result')
}

/**
 * DEVICES phones join (in PROCESSES processes, which also hold HELD raw sockets of the fan-out
 * floor, bench/floor-server.ts `write`), then PUSHES rounds 1.1 s apart: the floor writes its
 * pre-built frame to every raw socket, and half a second later the presenter pushes. Floor and
 * phones alternate in the same run, so a busy machine slows both alike. Resolves with the phones'
 * result and the demo server's RSS before and with them.
 */
async function phonesRun(): Promise<{ run: AudienceRun, before: number, held: number }> {
  const { server, demoUrl, joinUrl } = await audienceServer(DEVICES)
  const floor = await spawnUntilReady(['bench/floor-server.ts', 'write'], /^listening (\d+)/)
  floor.child.stdout!.resume()
  let phones: ChildProcess | undefined
  try {
    await sleep(500)
    const before = await rssKb(server.pid!)
    const args = { url: joinUrl.origin, token: joinUrl.searchParams.get('t')!, devices: DEVICES, pushes: PUSHES, processes: PROCESSES, floor: `http://127.0.0.1:${floor.match[1]}`, floorSockets: HELD, timeoutMs: 120_000 }
    const sim = await spawnUntilReady(['tools/audience-devices.ts', JSON.stringify(args)], /^ready (\d+)/, {}, 120_000)
    phones = sim.child
    await sleep(1500) // every short poller has asked at least once
    const held = await rssKb(server.pid!)
    for (let i = 1; i <= PUSHES; i++) {
      floor.child.stdin!.write('go\n')
      await sleep(550)
      await fetch(`${demoUrl}/audience/push`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ text: `push ${i}` }) })
      await sleep(550) // 1.1 s from push to push, longer than a short poller's interval: one push per poll at most
    }
    return { run: await resultOf(sim.lines), before, held }
  }
  finally {
    if (phones)
      await stopChild(phones)
    await stopChild(floor.child)
    await stopChild(server)
  }
}

export default async function audienceBench(): Promise<BenchSection[]> {
  const oneWay = await oneWayFloor()
  const { run, before, held } = await phonesRun()
  const fanOut = run.delays.floor ?? []
  const [floorP50, floorP99] = [percentile(fanOut, 0.5), percentile(fanOut, 0.99)]
  const rows: Array<Array<string | number>> = [
    ['loopback one-way: one socket, timer → write → read (floor of one phone)', '–', f2(percentile(oneWay, 0.5)), f2(percentile(oneWay, 0.99)), '–', '–', ''],
    [`loopback fan-out: one pre-built write to each of ${HELD} raw sockets (as many as phones holding a connection), in the phone processes (the floor)`, `${(run.received.floor ?? [0, 0]).join('–')} / ${PUSHES}`, f2(floorP50), f2(floorP99), '1.00×', '1.00×', ''],
  ]
  const p50s: Array<[string, number]> = []
  const verdicts: string[] = []
  for (const t of TRANSPORTS) {
    const d = run.delays[t] ?? []
    const [p50, p99] = [percentile(d, 0.5), percentile(d, 0.99)]
    p50s.push([t, p50])
    const goal = GOALS[t]
    if (goal)
      verdicts.push(`${t} p99 ≤ ${goal} ms: ${p99 <= goal ? 'met' : `NOT met (${f2(p99)})`}`)
    rows.push([t, `${(run.received[t] ?? [0, 0]).join('–')} / ${PUSHES}`, f2(p50), f2(p99), ratio(p50, floorP50), ratio(p99, floorP99), goal ? `p99 ≤ ${goal} ms` : 'bounded by its 1 s interval'])
  }
  const order = [...p50s].sort((a, b) => a[1] - b[1]).map(([t]) => t)
  const streamsFirst = order.indexOf('long-poll') > Math.max(order.indexOf('sse'), order.indexOf('websocket')) && order.at(-1) === 'short-poll'
  const perDevice = (held - before) / DEVICES
  return [{
    title: `Audience mode: ${PUSHES} pushes to ${DEVICES} simulated phones (${DEVICES / 4} per transport, in ${run.processes} processes), loopback`,
    columns: ['transport', 'pushes heard per phone', 'delay p50 (ms)', 'delay p99 (ms)', 'p50 / floor p50', 'p99 / floor p99', 'goal'],
    rows,
    notes: [
      `Goals: ${verdicts.join('; ')}. Order by p50: ${order.join(' < ')} (${streamsFirst ? 'the streams first, then long polling, then short polling: as they cost' : 'NOT the order they cost: websocket and sse, then long-poll, then short-poll'}).`,
      `Demo server RSS: ${(before / 1024).toFixed(0)} MB before the phones, ${(held / 1024).toFixed(0)} MB with ${DEVICES} joined: ${perDevice.toFixed(1)} KB per phone.`,
      `Missing pushes: ${run.missing} phones; duplicates: ${run.duplicates}. Short polling's delay is up to its 1 s interval by design (its polls are spread over the second).`,
      `Delay: the server's sentAt (epochMs, stamped before its fan-out loop) to the phone's first callback that sees the bytes (epochMs in the phone's process; one machine, one wall clock, 0.01 ms). It includes the server's loop over the phones (the held streams, SSE and WebSocket, then the long polls: demos/audience/hub.ts), the kernel's loopback delivery, and the phone process's turn through the sockets ready before it.`,
      `Phones: ${DEVICES} in ${run.processes} processes (${DEVICES / run.processes} each, transports mixed; BENCH_AUDIENCE_PROCESSES), node:http and ws clients; each stamps first and parses after the turn's I/O, and reports ${run.reportAfterMs} ms later (a real phone reports at once, on its own CPU). The fan-out floor's raw sockets are held by the same processes, and its writes alternate with the pushes in the same run. Server, phones and floors share the machine's cores.`,
    ],
    data: { floorMs: { p50: percentile(oneWay, 0.5), p99: percentile(oneWay, 0.99) }, fanOutFloorMs: { p50: floorP50, p99: floorP99 }, processes: run.processes, order, run, rssKb: { before, held, perDevice } },
    failed: run.missing ? [`${run.missing} phones missed a push`] : undefined,
  }]
}
