// Chapter 12, message queues: push through RabbitMQ to the browser (components/BrokerPushDemo.vue).
import { definePrediction } from './types.ts'
import { inRange, ms } from './format.ts'

/** BrokerPushDemo's recorded state, the part the answer reads: each message's hops, newest first. */
export interface BrokerPushState {
  rows: Array<{ id: string, confirm: number, broker: number, bridge: number, sse: number, total: number }>
}

/** The question is about the first message (click 1). */
const first = (s: BrokerPushState) => s.rows?.at(-1)

export const brokerPush = definePrediction<BrokerPushState>({
  demo: 'broker-push',
  question: 'From the click, through RabbitMQ and back to this screen: how long?',
  options: [
    { id: 'lt2', label: '< 2 ms' },
    { id: '2-20', label: '2–20 ms' },
    { id: '20-200', label: '20–200 ms' },
    { id: '200-up', label: '≥ 200 ms' },
  ],
  expected: '2-20',
  answer: (s) => {
    const m = first(s)
    return m ? inRange(m.total, [['lt2', 2], ['2-20', 20], ['20-200', 200]], '200-up') : null
  },
  reason: (s) => {
    const m = first(s)!
    return `${ms(m.total)} click to screen: confirmed in ${ms(m.confirm)}, broker to consumer ${ms(m.broker)}, into this page ${ms(m.sse)}.`
  },
})

export default [brokerPush]
