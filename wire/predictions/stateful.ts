// Chapter 16, stateful and stateless: a session and a token across two instances and a restart (components/StatefulDemo.vue).
import { definePrediction } from './types.ts'

type Mode = 'session' | 'token'
interface Step { n: number, what: string, instance: string, status: number, text: string }

/** StatefulDemo's recorded state, the part the answer reads: each login style's steps, oldest first. */
export interface StatefulState {
  steps: Record<Mode, Step[]>
}

/** The "who am I?" answers after the last restart, for one login style. */
function afterRestart(steps: Step[] = []): Step[] {
  const restart = steps.map(x => x.what).lastIndexOf('restart')
  return restart < 0 ? [] : steps.slice(restart + 1).filter(x => x.what === 'who am I?')
}

/** Per style: did it survive (any instance still knew the user), once both were asked twice (both instances, round robin). */
function survived(s: StatefulState): Record<Mode, boolean> | null {
  const session = afterRestart(s.steps?.session)
  const token = afterRestart(s.steps?.token)
  if (session.length < 2 || token.length < 2)
    return null
  return { session: session.some(x => x.status === 200), token: token.some(x => x.status === 200) }
}

/** `A 401, B 401`. */
const answers = (steps: Step[]) => afterRestart(steps).map(x => `${x.instance} ${x.status}`).join(', ')

export const stateful = definePrediction<StatefulState>({
  demo: 'stateful',
  question: 'Log in, ask “who am I?”, restart both instances, ask again: which login survives?',
  options: [
    { id: 'session', label: 'the session' },
    { id: 'token', label: 'the token' },
    { id: 'both', label: 'both' },
    { id: 'neither', label: 'neither' },
  ],
  expected: 'token',
  answer: (s) => {
    const r = survived(s)
    if (!r)
      return null
    return r.session ? (r.token ? 'both' : 'session') : (r.token ? 'token' : 'neither')
  },
  reason: s => `After the restart, “who am I?” got: session ${answers(s.steps.session)}; token ${answers(s.steps.token)} (401: logged out).`,
})

export default [stateful]
