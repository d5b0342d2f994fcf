// The room's predictions: one per demo slide, as data both sides read. The deck shows the
// question and options, the demo server counts the phones' votes by option id, and the answer is
// computed from the demo's own measured state (the same object a recording's `final` holds), never
// written by hand. Types and pure functions only (see wire/README.md).

/** One answer the room can pick. Numeric answers are ranges ("5–8 requests"). */
export interface PredictionOption {
  /** Stable, short, URL-safe (`[a-z0-9-]{1,24}`): what a phone sends as its vote. */
  id: string
  /** What the slide and the phones show. */
  label: string
}

/**
 * A demo slide's prediction.
 * `S` is the demo component's recorded state (`demo.recordable(id, { …state })`: the keys a
 * recording's `final` holds, with their values unwrapped).
 */
export interface Prediction<S = Record<string, unknown>> {
  /** The demo's recording id (`recordable('short-polling', …)`): also the question's id in a vote. */
  demo: string
  /** The question, asked before the run. */
  question: string
  /** 2–4 options, disjoint, together covering every outcome the demo can measure. */
  options: PredictionOption[]
  /**
   * The option the run proved, from its measured state; null while the run has not measured
   * enough to say (before it starts, mid-run).
   */
  answer: (state: S) => string | null
  /** One line saying why, with the measured number ("7 requests: the POST and 6 polls"); only called once `answer` is not null. */
  reason: (state: S) => string
}

/** Every prediction, by demo id. Filled chapter by chapter. */
export const PREDICTIONS: Record<string, Prediction<any>> = {}

/** The prediction of demo `id`, or undefined when that demo asks none. */
export function predictionFor(id: string): Prediction<any> | undefined {
  return PREDICTIONS[id]
}
