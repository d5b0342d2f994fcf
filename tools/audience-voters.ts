// The simulated phones' votes (tools/audience-devices.ts runs them): each phone, once it hears the
// question open over its own transport, votes as a person might, and some change their mind or
// tap twice, so the tally can be checked to the vote. Nothing here talks to the deck.
import type { PhoneVote, VoteReceipt } from '../wire/audience.ts'
import { epochMs } from '../wire/clock.ts'

/** How the simulated room votes on `question`. */
export interface VotePlan {
  /** The question's id (the demo's id); pushes about any other question are ignored. */
  question: string
  /** Its option ids: phone i votes `options[i % n]`. */
  options: string[]
  /** Each phone waits a random 0..spreadMs after hearing the question before it votes (a person reading it), ms. Default 0. */
  spreadMs?: number
  /** Every `changeEvery`-th phone (i % changeEvery === 0) then changes its vote to the next option. Default 10; 0 = none. */
  changeEvery?: number
  /** Every `repeatEvery`-th phone (i % repeatEvery === 1) sends its first vote twice (a double tap). Default 20; 0 = none. */
  repeatEvery?: number
}

/** What the room did, and what the tally must say. */
export interface VoteRun {
  /** Phones that voted (their vote accepted). */
  voters: number
  /** `POST /api/vote` sent, and refused (by status; 0 = no answer). */
  sent: number
  refused: Record<string, number>
  /** Each phone's last accepted vote, counted per option: the tally must be exactly this. */
  expected: Record<string, number>
  /** Each vote that changed the tally: when it was sent and when the server counted it (epoch ms, wire/clock.ts), and the tally `seq` it made. */
  receipts: Array<{ sentAt: number, countedAt: number, seq: number }>
  /** Phones that never heard the question open. */
  unasked: number
}

/**
 * The votes of `devices` simulated phones on the listener at `url`, by `plan`. `heard(i, id, vote)`
 * is called with each vote push phone i (device `id`) receives; `done()` once every phone has
 * voted as planned (or was refused); `result()` says what happened.
 */
export function simulatedVotes(url: string, devices: number, plan: VotePlan) {
  const { question, options, spreadMs = 0, changeEvery = 10, repeatEvery = 20 } = plan
  const started = new Set<number>()
  let finished = 0
  let sent = 0
  const refused: Record<string, number> = {}
  const last = new Map<number, string>()
  const receipts: VoteRun['receipts'] = []

  async function send(device: string, option: string): Promise<VoteReceipt | null> {
    sent++
    const sentAt = epochMs()
    const res = await fetch(`${url}/api/vote`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ device, question, option }) }).catch(() => null)
    if (!res?.ok) {
      refused[res?.status ?? 0] = (refused[res?.status ?? 0] ?? 0) + 1
      await res?.body?.cancel()
      return null
    }
    const receipt = await res.json() as VoteReceipt
    if (receipt.changed)
      receipts.push({ sentAt, countedAt: receipt.countedAt, seq: receipt.seq })
    return receipt
  }

  async function vote(i: number, device: string): Promise<void> {
    await new Promise(r => setTimeout(r, Math.random() * spreadMs))
    const first = options[i % options.length]!
    const tries = repeatEvery && i % repeatEvery === 1 ? [first, first] : changeEvery && i % changeEvery === 0 ? [first, options[(i + 1) % options.length]!] : [first]
    for (const option of tries) {
      if (await send(device, option))
        last.set(i, option)
    }
  }

  return {
    heard(i: number, device: string, v: PhoneVote | null | undefined): void {
      if (v?.id !== question || v.state !== 'open' || started.has(i))
        return
      started.add(i)
      void vote(i, device).finally(() => finished++)
    },
    done: () => finished === devices,
    result(): VoteRun {
      const expected = Object.fromEntries(options.map(o => [o, 0]))
      for (const o of last.values()) expected[o]!++
      return { voters: last.size, sent, refused, expected, receipts, unasked: devices - started.size }
    },
  }
}
