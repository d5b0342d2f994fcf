// Chapter 14, the work queue: kill a worker mid-job (components/WorkQueueDemo.vue).
import { definePrediction } from './types.ts'

/** WorkQueueDemo's recorded state, the part the answer reads. */
export interface WorkQueueState {
  /** Each worker in its place; a killed one stays, `dead`, with the job it never acked (`lost`). */
  workers: Array<{ id: number, state: string, current?: { job: string }, lost?: string }>
  /** Jobs waiting, as the slide saw them. */
  queue: Array<{ job: string }>
  /** Jobs acked, oldest first. */
  done: Array<{ job: string, redelivered?: boolean }>
  stats: { published: number, acked: number, redelivered: number }
}

/** The worker killed holding a job, and how often that job was done since. */
function killed(s: WorkQueueState) {
  const w = s.workers?.find(x => x.state === 'dead' && x.lost)
  return w && { worker: w.id, job: w.lost!, times: s.done.filter(d => d.job === w.lost).length }
}

export const workQueue = definePrediction<WorkQueueState>({
  demo: 'work-queue',
  question: 'We kill a worker mid-job: what happens to that video?',
  options: [
    { id: 'lost', label: 'lost' },
    { id: 'once', label: 'done once, by the other worker' },
    { id: 'twice', label: 'done twice' },
  ],
  expected: 'once',
  answer: (s) => {
    const k = killed(s)
    if (!k)
      return null
    if (k.times)
      return k.times === 1 ? 'once' : 'twice'
    // Not done: lost only once nothing is left to do (no job waiting, no worker holding one).
    const idle = !s.queue.length && s.workers.every(w => !w.current)
    return idle ? 'lost' : null
  },
  reason: (s) => {
    const k = killed(s)!
    const redone = s.done.find(d => d.job === k.job)
    const how = k.times ? `${redone?.redelivered ? 'redelivered, ' : ''}done ${k.times === 1 ? 'once' : `${k.times} times`}` : 'never done'
    return `${k.job}, unacked when worker ${k.worker} was killed: ${how}; ${s.stats.acked} of ${s.stats.published} jobs acked.`
  },
})

export default [workQueue]
