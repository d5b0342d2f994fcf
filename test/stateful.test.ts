import { describe, expect, it } from 'vitest'
import { runningChildren } from '../demos/platform/children.ts'
import { signToken, verifyToken } from '../demos/stateful/token.ts'
import { isAlive, startDemoProcess } from './support/children.ts'
import { startDemoServer, useDemoServer, waitFor } from './support/demo-server.ts'

interface Answer { status: number, body: { user?: string, instance?: string, session?: string, token?: string, error?: string, via?: string, instances?: unknown } }

async function call(url: string, init: { method?: string, json?: unknown, auth?: string } = {}): Promise<Answer> {
  const res = await fetch(url, {
    method: init.method ?? (init.json ? 'POST' : 'GET'),
    headers: { 'Content-Type': 'application/json', ...(init.auth ? { Authorization: init.auth } : {}) },
    body: init.json ? JSON.stringify(init.json) : undefined,
  })
  return { status: res.status, body: await res.json() as Answer['body'] }
}

describe('stateful vs stateless: two backend instances behind a round-robin hop', () => {
  const demos = useDemoServer({ connectBroker: false })

  it('a session made on one instance is unknown to the other: the next request is logged out', async () => {
    const login = await call(`${demos.url}/stateful/login`, { json: { mode: 'session', user: 'ada' } })
    expect(login.status).toBe(200)
    const auth = `Session ${login.body.session}`
    const next = await call(`${demos.url}/stateful/me`, { auth })
    const after = await call(`${demos.url}/stateful/me`, { auth })
    // Round robin: one of the two lands on the instance that made the session, the other does not.
    const byInstance = Object.fromEntries([next, after].map(a => [a.body.instance, a.status]))
    expect(byInstance[login.body.instance!]).toBe(200)
    expect(Object.values(byInstance).sort()).toEqual([200, 401])
  })

  it('a signed token works on every instance, and still works after both are restarted', async () => {
    const login = await call(`${demos.url}/stateful/login`, { json: { mode: 'token', user: 'grace' } })
    const auth = `Bearer ${login.body.token}`
    const sessionLogin = await call(`${demos.url}/stateful/login`, { json: { mode: 'session', user: 'ada' } })
    const sessionAuth = `Session ${sessionLogin.body.session}`
    const both = [await call(`${demos.url}/stateful/me`, { auth }), await call(`${demos.url}/stateful/me`, { auth })]
    expect(both.map(a => a.status)).toEqual([200, 200])
    expect(new Set(both.map(a => a.body.instance))).toEqual(new Set(['A', 'B']))

    const restart = await fetch(`${demos.url}/stateful/restart`, { method: 'POST' })
    const { before, instances } = await restart.json() as { before: number[], instances: Array<{ pid: number }> }
    expect(instances.map(i => i.pid)).not.toEqual(before)
    for (const pid of before) expect(isAlive(pid)).toBe(false)

    const afterRestart = [await call(`${demos.url}/stateful/me`, { auth }), await call(`${demos.url}/stateful/me`, { auth })]
    expect(afterRestart.map(a => [a.status, a.body.user])).toEqual([[200, 'grace'], [200, 'grace']])
    const sessionAfter = [await call(`${demos.url}/stateful/me`, { auth: sessionAuth }), await call(`${demos.url}/stateful/me`, { auth: sessionAuth })]
    expect(sessionAfter.map(a => a.status)).toEqual([401, 401])
  })

  it('a token with a forged signature or another secret is refused', async () => {
    const forged = signToken('mallory', 'not-the-secret')
    const res = await call(`${demos.url}/stateful/me`, { auth: `Bearer ${forged}` })
    expect(res.status).toBe(401)
    const real = signToken('ada', 's3cret', 60)
    expect(verifyToken(real, 's3cret')).toBe('ada')
    const [h, p] = real.split('.')
    const tampered = `${h}.${Buffer.from(JSON.stringify({ sub: 'root', exp: 9e9 })).toString('base64url')}.${real.split('.')[2]}`
    expect(verifyToken(tampered, 's3cret')).toBeUndefined()
    expect(verifyToken(`${h}.${p}`, 's3cret')).toBeUndefined()
    expect(verifyToken(signToken('ada', 's3cret', -1), 's3cret')).toBeUndefined()
  })

  it('answers bad input with 4xx JSON errors', async () => {
    const badMode = await call(`${demos.url}/stateful/login`, { json: { mode: 'cookie' } })
    expect(badMode).toEqual({ status: 400, body: { error: 'mode must be "session" or "token"' } })
    const badUser = await call(`${demos.url}/stateful/login`, { json: { mode: 'token', user: '<script>' } })
    expect(badUser.status).toBe(400)
    expect(badUser.body.error).toMatch(/user must be/)
    const noAuth = await call(`${demos.url}/stateful/me`)
    expect(noAuth.status).toBe(401)
    expect(noAuth.body.error).toBe('not logged in')
  })

  it('one instance crashing takes its sibling down too: the next request gets a fresh pair, never one old and one new', async () => {
    const { body } = await call(`${demos.url}/stateful/restart`, { method: 'POST' })
    const [a, b] = body.instances as Array<{ pid: number }>
    process.kill(a!.pid, 'SIGKILL') // a crash, not a stop
    await waitFor(() => !isAlive(a!.pid) && !isAlive(b!.pid), 'the crashed instance and its sibling to be gone')
    // Requests go on: answered by a fresh pair (or a 503 to retry while it starts), never a 500.
    const me = await call(`${demos.url}/stateful/me`)
    expect([401, 503]).toContain(me.status)
    const now = (await call(`${demos.url}/stateful/instances`)).body.instances as Array<{ pid: number }>
    expect(now.map(i => i.pid)).not.toContain(b!.pid)
    expect(now).toHaveLength(2)
  })

  it('stops both instances when the demo server shuts down', async () => {
    const other = await startDemoServer({ connectBroker: false })
    const { instances } = await (await fetch(`${other.url}/stateful/instances`)).json() as { instances: Array<{ pid: number }> }
    expect(instances).toHaveLength(2)
    for (const i of instances) expect(isAlive(i.pid)).toBe(true)
    const before = runningChildren()
    await other.close()
    for (const i of instances) expect(isAlive(i.pid)).toBe(false)
    expect(runningChildren()).toBe(before - 2)
  })

  it('its instances exit by themselves when the demo server is killed with SIGKILL', async () => {
    const { url, child } = await startDemoProcess()
    try {
      const { instances } = await (await fetch(`${url}/stateful/instances`)).json() as { instances: Array<{ pid: number }> }
      for (const i of instances) expect(isAlive(i.pid)).toBe(true)
      child.kill('SIGKILL')
      await waitFor(() => instances.every(i => !isAlive(i.pid)), 'the orphaned instances to exit')
    }
    finally {
      child.kill('SIGKILL')
    }
  })
})
