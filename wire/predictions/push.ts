// Chapter 10, push over WebSocket: three open tabs hear of a video (components/PushDemo.vue).
import { definePrediction } from './types.ts'
import { count, inRange, ms } from './format.ts'

/** PushDemo's recorded state, the part the answer reads. */
export interface PushState {
  /** The three tabs: their socket's state, whether it is meant to be open, the last notifications they got. */
  views: Array<{ name: string, state: string, wanted: boolean, notes: Array<{ kind: string }> }>
  /** HTTP requests the tabs sent since the slide opened (the transcoder's POST is not a tab's). */
  tabRequests: number
  /** Notification frames the tabs got. */
  framesIn: number
  /** The slowest server-to-tab time of the last notification, ms. */
  latestMs: number | null
}

/** Tabs meant to be open, and those of them a "video is out" notification reached. */
function tabs(s: PushState) {
  const open = (s.views ?? []).filter(v => v.wanted)
  return { open, heard: open.filter(v => v.notes.some(n => n.kind === 'video')) }
}

export const push = definePrediction<PushState>({
  demo: 'websocket-push',
  question: 'The video is out: how many requests do the three tabs send to hear of it?',
  options: [
    { id: '0', label: 'none' },
    { id: '1-3', label: '1–3' },
    { id: '4-9', label: '4–9' },
    { id: '10-up', label: '≥ 10' },
  ],
  expected: '0',
  answer: (s) => {
    const { open, heard } = tabs(s)
    if (typeof s.tabRequests !== 'number' || !open.length || heard.length < open.length)
      return null
    return inRange(s.tabRequests, [['0', 1], ['1-3', 4], ['4-9', 10]], '10-up')
  },
  reason: (s) => {
    const { heard } = tabs(s)
    const when = s.latestMs === null ? '' : `, ${ms(s.latestMs)} after the server sent it`
    return `${s.tabRequests === 0 ? 'No request' : count(s.tabRequests, 'request')} from the tabs: ${heard.length} open WebSockets got it as a frame${when}.`
  },
})

export default [push]
