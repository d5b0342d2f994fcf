// One backend instance of the stateful/stateless demo: a child process of the demo server.
// Env: CHILD_NAME (instance name), TOKEN_SECRET (shared by all instances).
import type { IncomingMessage, ServerResponse } from 'node:http'
import { randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import { reportReady } from '../platform/children.ts'
import { signToken, verifyToken } from './token.ts'
import type { InstanceAnswer } from '../../wire/stateful.ts'

const instance = process.env.CHILD_NAME ?? 'backend'
const secret = process.env.TOKEN_SECRET ?? ''
let served = 0

function send(res: ServerResponse, status: number, body: Omit<InstanceAnswer, 'instance'> | object): void {
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify({ ...body, instance }))
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = ''
  for await (const chunk of req) text += chunk
  try {
    return text ? JSON.parse(text) as Record<string, unknown> : {}
  }
  catch {
    return {}
  }
}

// #region session
/** Stateful: the session lives in this process's memory, nowhere else. */
const sessions = new Map<string, string>()

function loginWithSession(user: string): { session: string } {
  const session = randomUUID()
  sessions.set(session, user)
  return { session }
}
function userOfSession(id: string): string | undefined {
  return sessions.get(id)
}
// #endregion session

// #region token
/** Stateless: the client carries a signed claim; any instance can check it. */
function loginWithToken(user: string): { token: string } {
  return { token: signToken(user, secret) }
}
function userOfToken(token: string): string | undefined {
  return verifyToken(token, secret)
}
// #endregion token

const server = createServer(async (req, res) => {
  served++
  if (req.method === 'POST' && req.url === '/login') {
    const { user, mode } = await readJson(req)
    const name = typeof user === 'string' ? user : 'ada'
    return send(res, 200, { user: name, ...(mode === 'token' ? loginWithToken(name) : loginWithSession(name)) })
  }
  if (req.method === 'GET' && req.url === '/me') {
    const [scheme, credential = ''] = (req.headers.authorization ?? '').split(' ')
    const user = scheme === 'Bearer' ? userOfToken(credential) : scheme === 'Session' ? userOfSession(credential) : undefined
    if (!user)
      return send(res, 401, { error: scheme === 'Session' ? 'unknown session: not logged in here' : 'not logged in' })
    return send(res, 200, { user, via: scheme === 'Bearer' ? 'token' : 'session' })
  }
  if (req.method === 'GET' && req.url === '/stats')
    return send(res, 200, { pid: process.pid, served, sessions: sessions.size })
  send(res, 404, { error: `no route for ${req.method} ${req.url}` })
})

server.listen(0, '127.0.0.1', () => {
  const address = server.address()
  reportReady(typeof address === 'object' && address ? address.port : 0, () => server.close())
})
