// Chapter 11, webhooks: a delivery that has to retry, then is sent again (components/WebhooksDemo.vue).
import { definePrediction } from './types.ts'
import { count } from './format.ts'

/** One attempt the partner answered (or a forged request from the page). */
interface Row { n: number, waitedMs: number, resend: boolean, status?: number, duplicate?: boolean, forged?: boolean }

/** WebhooksDemo's recorded state, the part the answer reads. */
export interface WebhooksState {
  rows: Row[]
  failFirst: number
  /** The delivery the buttons act on. */
  current: { id: string, state: '' | 'delivering' | 'delivered' | 'failed' }
}

const sent = (s: WebhooksState) => (s.rows ?? []).filter(r => !r.forged)
/** Attempts that made the partner publish the video: a 200 that was not a duplicate. */
const published = (s: WebhooksState) => sent(s).filter(r => r.status === 200 && !r.duplicate).length

export const webhooks = definePrediction<WebhooksState>({
  demo: 'webhooks',
  question: 'Partner down for 2 tries, then one more send: how often is the video published?',
  options: [
    { id: '0', label: 'never' },
    { id: '1', label: 'once' },
    { id: '2-up', label: 'twice or more' },
  ],
  expected: '1',
  answer: (s) => {
    const resent = sent(s).some(r => r.resend && r.status !== undefined)
    if (!resent || s.current?.state === 'delivering')
      return null
    const n = published(s)
    return n === 0 ? '0' : n === 1 ? '1' : '2-up'
  },
  reason: (s) => {
    const first = sent(s).filter(r => !r.resend)
    const again = sent(s).filter(r => r.resend)
    const dup = again.some(r => r.duplicate) ? '“duplicate, ignored”' : 'processed again'
    const n = published(s)
    return `Published ${n === 0 ? 'never' : n === 1 ? 'once' : count(n, 'time')}: ${count(first.length, 'POST')} (${first.map(r => r.status ?? '…').join(', ')}), then the resend: ${again.map(r => r.status).join(', ')} ${dup}.`
  },
})

export default [webhooks]
