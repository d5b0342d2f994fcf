// Chapter 13, publish/subscribe: fanout to three subscribers, then a late joiner (components/PubSubDemo.vue, mode fanout).
import { definePrediction } from './types.ts'
import { count } from './format.ts'

/** PubSubDemo's recorded state, the part the answer reads: one panel per subscriber. */
export interface PubSubState {
  panels: Array<{ n: number, name: string, count: number, messages: Array<{ seq: number, text: string }> }>
  /** Messages published since the slide opened. */
  counter: number
}

/** The subscriber that joined after the first publish (click 2 adds it). */
const lateJoiner = (s: PubSubState) => s.panels?.find(p => p.name.startsWith('late joiner'))

export const pubsubFanout = definePrediction<PubSubState>({
  demo: 'pubsub-fanout',
  question: 'A fourth subscriber joins after the first publish: what does it get?',
  options: [
    { id: 'new-only', label: 'only later messages' },
    { id: 'history', label: 'the earlier one too' },
  ],
  expected: 'new-only',
  // Once the late joiner has a message: the one published after it joined came in. Had the broker
  // kept history for it, the earlier one would have come first (one queue is first in, first out).
  answer: (s) => {
    const late = lateJoiner(s)
    return late && late.count > 0 ? (late.count > 1 ? 'history' : 'new-only') : null
  },
  reason: (s) => {
    const late = lateJoiner(s)!
    const others = s.panels.filter(p => p !== late).map(p => p.count)
    return `The late joiner got ${count(late.count, 'message')} (${late.messages.map(m => m.text).join(', ')}); the ${others.length} before it got ${others.join(', ')} of the ${s.counter} published.`
  },
})

export default [pubsubFanout]
