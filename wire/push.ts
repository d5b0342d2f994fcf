// Push over WebSocket on the wire: the frames the server sends (every frame is one JSON object).
// Shared by the demo server, the deck, the tests and the bench; types and plain values only, so it imports nothing (see wire/README.md).

/** What the server pushes. Every frame is one JSON object with a `type`. */
export type ServerFrame =
  | { type: 'hello', id: string, clients: number }
  | { type: 'clients', count: number }
  | { type: 'notification', seq: number, kind: NotificationKind, text: string, from?: string, at: number }
  | { type: 'error', error: string }

export type NotificationKind = 'video' | 'login' | 'message'
