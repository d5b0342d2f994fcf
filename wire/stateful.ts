// Stateful vs stateless on the wire: what a backend instance answers.
// Shared by the demo server, the deck, the tests and the bench; types and plain values only, so it imports nothing (see wire/README.md).

/**
 * What an instance answers, every field optional: `POST /login` gives `user` and `session` or
 * `token`; `GET /me` gives `user` and `via`, or `error` (401); every answer names its `instance`.
 */
export interface InstanceAnswer { instance: string, user?: string, session?: string, token?: string, via?: 'token' | 'session', error?: string }
