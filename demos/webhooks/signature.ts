import type { IncomingHttpHeaders } from 'node:http'
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { HttpError } from '../platform/http.ts'

/**
 * Webhook signatures as the Standard Webhooks spec (standardwebhooks.com) defines them:
 * `webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, with the id and
 * the timestamp (Unix seconds) in `webhook-id` and `webhook-timestamp`. Stripe signs
 * `<timestamp>.<body>` the same way; GitHub signs the body alone. Production code would use the
 * spec's libraries (npm `standardwebhooks`).
 */

/** How far a timestamp may be from the receiver's clock, seconds (the spec suggests 5 minutes). */
export const TOLERANCE_S = 5 * 60

/** A signing secret for one receiver endpoint: random bytes, shown as `whsec_<base64>`. */
export function newSecret(): Buffer {
  return randomBytes(24)
}

/** Seconds since the epoch, as `webhook-timestamp` carries it. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000)
}

// #region sign
/** The signature of one attempt: the id, the timestamp and the exact body bytes. */
export function sign(secret: Buffer, id: string, ts: number, body: string | Buffer): string {
  const mac = createHmac('sha256', secret).update(`${id}.${ts}.`).update(body)
  return `v1,${mac.digest('base64')}`
}
// #endregion sign

/** The three headers of a signed webhook. */
export function signedHeaders(secret: Buffer, id: string, body: string, ts = nowSeconds()): Record<string, string> {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(ts),
    'webhook-signature': sign(secret, id, ts, body),
  }
}

// #region verify
/** The receiver's check: fresh, and signed with our secret. Returns the webhook's id. */
export function verify(secret: Buffer, headers: IncomingHttpHeaders, body: Buffer | undefined): string {
  const { id, ts, signatures } = signedParts(headers, body) // 400 if a part is missing
  if (Math.abs(nowSeconds() - ts) > TOLERANCE_S) // an old capture, replayed
    throw new HttpError(401, `timestamp is more than ${TOLERANCE_S} s away from our clock`)
  const expected = Buffer.from(sign(secret, id, ts, body!))
  if (!signatures.some(s => sameBytes(Buffer.from(s), expected))) // constant time
    throw new HttpError(401, 'signature does not match')
  return id
}
// #endregion verify

/** The id, timestamp and signatures of a request, or a 400 naming what is missing. */
function signedParts(headers: IncomingHttpHeaders, body: Buffer | undefined): { id: string, ts: number, signatures: string[] } {
  const id = headers['webhook-id']
  const ts = headers['webhook-timestamp']
  const sig = headers['webhook-signature']
  if (typeof id !== 'string' || !id || typeof ts !== 'string' || typeof sig !== 'string')
    throw new HttpError(400, 'a webhook needs webhook-id, webhook-timestamp and webhook-signature headers')
  if (!/^\d{1,12}$/.test(ts))
    throw new HttpError(400, 'webhook-timestamp must be Unix seconds')
  if (!body)
    throw new HttpError(400, 'a webhook needs a JSON body (Content-Type: application/json)')
  // Several space-separated signatures are allowed (a secret being rotated).
  return { id, ts: Number(ts), signatures: sig.split(' ').filter(s => s.startsWith('v1,')) }
}

/**
 * `timingSafeEqual` for buffers of any length: it throws when the lengths differ, and the length
 * of a well-formed signature is no secret. Comparing in constant time keeps an attacker from
 * guessing the signature byte by byte from how long the comparison took.
 */
function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b)
}
