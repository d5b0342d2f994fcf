// Chapter 4, request and response: the anatomy of a round trip (components/RequestResponseDemo.vue).
import type { EchoAnswer } from '../request-response.ts'
import { definePrediction } from './types.ts'
import { inRange } from './format.ts'

/** RequestResponseDemo's recorded state, the part the answer reads: the request as the server rebuilt it. */
export interface RequestResponseState {
  sent: EchoAnswer | null
}

/** Header lines in a head: every line but the start line and the blank line. */
const headerLines = (head: string) => head.split('\r\n').filter(Boolean).length - 1

export const requestResponse = definePrediction<RequestResponseState>({
  demo: 'request-response',
  question: 'A 16-byte body: how many bytes of head go in front of it?',
  options: [
    { id: 'lt100', label: '< 100 B' },
    { id: '100-300', label: '100–300 B' },
    { id: '300-1000', label: '300–1,000 B' },
    { id: '1000-up', label: '≥ 1,000 B' },
  ],
  expected: '300-1000',
  answer: s => s.sent ? inRange(s.sent.headBytes, [['lt100', 100], ['100-300', 300], ['300-1000', 1000]], '1000-up') : null,
  reason: (s) => {
    const { headBytes, bodyBytes, head } = s.sent!
    return `${headBytes} B of head for a ${bodyBytes} B body: ${headerLines(head)} header lines, most of them added by the browser.`
  },
})

export default [requestResponse]
