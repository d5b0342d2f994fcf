import type { AudiencePush } from '../../wire/audience.ts'
import { formatEvent } from '../../wire/sse.ts'

// What one push costs on the wire is built once per push, not once per phone: the hub hands every
// long poll the same `[p]` array and every stream the same `p` (AudienceHub.push), and these
// remember the bytes made for each (weakly: gone with the push).

const answers = new WeakMap<readonly AudiencePush[], Buffer>()
const sseFrames = new WeakMap<AudiencePush, Buffer>()
const wsMessages = new WeakMap<AudiencePush, Buffer>()

function once<K extends object>(cache: WeakMap<K, Buffer>, key: K, build: () => string): Buffer {
  let bytes = cache.get(key)
  if (!bytes)
    cache.set(key, bytes = Buffer.from(build()))
  return bytes
}

/** A poll's or long poll's answer body, `{"pushes":[...]}` as UTF-8 JSON; built once per array. */
export function pollAnswer(pushes: readonly AudiencePush[]): Buffer {
  return once(answers, pushes, () => JSON.stringify({ pushes }))
}

/** The SSE frame of a push (`id: <seq>`, `event: push`, the push as JSON; wire/sse.ts `formatEvent`); built once per push. */
export function sseFrame(p: AudiencePush): Buffer {
  return once(sseFrames, p, () => formatEvent('push', p, p.seq))
}

/** The WebSocket text message of a push, `{"type":"push",...p}` as UTF-8; built once per push. */
export function wsMessage(p: AudiencePush): Buffer {
  return once(wsMessages, p, () => JSON.stringify({ type: 'push', ...p }))
}
