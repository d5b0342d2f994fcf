import { createHmac, timingSafeEqual } from 'node:crypto'

/**
 * A minimal JSON Web Token (HS256) with node:crypto: header.payload.signature, each part
 * base64url. Enough to show the idea on a slide; use a maintained library in production.
 */

const b64url = (data: string | Buffer): string => Buffer.from(data).toString('base64url')

// #region sign
/** Signs `{ sub, iat, exp }` with the shared secret. `ttlSeconds` default 3600. */
export function signToken(sub: string, secret: string, ttlSeconds = 3600): string {
  const now = Math.floor(Date.now() / 1000)
  const header = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))
  const payload = b64url(JSON.stringify({ sub, iat: now, exp: now + ttlSeconds }))
  const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url')
  return `${header}.${payload}.${signature}`
}
// #endregion sign

// #region verify
/** The user a valid token names, or undefined (bad shape, bad signature, expired). */
export function verifyToken(token: string, secret: string): string | undefined {
  const [header, payload, signature] = token.split('.')
  if (!header || !payload || !signature)
    return undefined
  const expected = createHmac('sha256', secret).update(`${header}.${payload}`).digest()
  const given = Buffer.from(signature, 'base64url')
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return undefined
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as { sub?: string, exp?: number }
  if (typeof claims.exp !== 'number' || claims.exp < Date.now() / 1000)
    return undefined // valid until exp: no server state, no way to revoke
  return claims.sub
}
// #endregion verify
