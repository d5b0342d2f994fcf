// Counting bytes as they cross the wire. Shared by the deck, the tests and the bench; no imports.

const encoder = new TextEncoder()

/** UTF-8 byte length of a string: what it takes on the wire as a body or an event. */
export function byteLength(text: string): number {
  return encoder.encode(text).length
}
