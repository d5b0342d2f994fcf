/** How a phone hears of the presenter's pushes: the four patterns of the talk (the deck imports this too, so no Node modules here). */
export const TRANSPORTS = ['short-poll', 'long-poll', 'sse', 'websocket'] as const
export type Transport = typeof TRANSPORTS[number]
