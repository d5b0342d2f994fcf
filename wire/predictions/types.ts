// The shape of a demo slide's prediction (re-exported by wire/predictions.ts, which is what the
// deck and the demo server import). Here, apart from the registry, so the chapter files beside
// it can use the types without importing their own registry.

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
  /**
   * The option a run on a working laptop proves: what the slide's notes tell the room. Not the
   * answer (that is always measured): when a run proves another option, the slide says so plainly.
   * Optional in the type; every prediction in PREDICTIONS has one (test/predictions.test.ts).
   */
  expected?: string
}

/** `p`, typed by its demo's state: a chapter file's way to write one prediction. */
export function definePrediction<S>(p: Prediction<S>): Prediction<S> {
  return p
}
